"""The visitor's own page of an online consultation, behind its signed link (no account).

Thin: the link, the state in words and the reply live in ``services.visitor``; the rating in
``services.ratings``. Indonesian by default whatever the browser asks, English one tap away
(``?lang=en``, remembered in Django's language cookie). Refused input keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from helpdesk.models import Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import Complaint, PSTTicket, Rating, RatingInvitation
from pst_helpdesk_ext.services import ratings, visitor
from pst_helpdesk_ext.views.online import SESSION_KEY, RequestForm
from pst_helpdesk_ext.views.ratings import RatingForm
from sync.ops import IKM_ELEMENTS

LANGUAGES = ("id", "en")
REFUSED_STATUS = {"forged": 400, "other": 403, "expired": 410}


def _language(request: HttpRequest) -> tuple[str, bool]:
    """The page's language and whether the visitor just chose it."""
    chosen = request.GET.get("lang", "")
    if chosen in LANGUAGES:
        return chosen, True
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return (cookie if cookie in LANGUAGES else "id"), False


def _in_language(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language, chosen = _language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
        if chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 86400, samesite="Lax"
            )
        response.headers.setdefault("Content-Language", language)
        return response

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Your reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ResendForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        error_messages={
            "required": _("Enter the e-mail address you asked from."),
            "invalid": _("Enter a valid e-mail address, e.g. name@example.com."),
        },
    )


def _refused(request: HttpRequest, code: str) -> HttpResponse:
    return render(
        request,
        "pst_helpdesk_ext/visitor/refused.html",
        {"code": code, "resend": ResendForm(), "days": pst_settings.VISITOR_LINK_INACTIVE_DAYS},
        status=REFUSED_STATUS.get(code, 400),
    )


def _missing_labels() -> dict[str, str]:
    return {name: str(field.label) for name, field in RequestForm.base_fields.items()}


def _page(
    request: HttpRequest,
    ticket: Ticket,
    token: str,
    *,
    reply_form: ReplyForm | None = None,
    reply_errors: dict[str, list[str]] | None = None,
    closed_text: str = "",
    rating_form: RatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pst = PSTTicket.objects.select_related("branch", "visitor").filter(ticket=ticket).first()
    ended = ticket.status in visitor.ENDED_STATUSES
    rated = Rating.objects.filter(ticket=ticket).first()
    can_rate = ended and rated is None and ratings.wants_rating_link(ticket)
    if can_rate and rating_form is None:
        rating_form = RatingForm()
    return render(
        request,
        "pst_helpdesk_ext/visitor/page.html",
        {
            "ticket": ticket,
            "token": token,
            "pst": pst,
            "thread": visitor.public_thread(ticket),
            "appointments": visitor.appointments_of(ticket),
            "state": visitor.state_of(ticket, _missing_labels()),
            "closed": ticket.status in visitor.CLOSED_STATUSES,
            "ended": ended,
            "reply_form": reply_form or ReplyForm(),
            "reply_errors": reply_errors or {},
            "closed_text": closed_text,
            "rating_form": rating_form if can_rate else None,
            "rated": rated,
            "complaint": Complaint.objects.filter(about=ticket).order_by("-pk").first(),
            "max_size": visitor._size(pst_settings.VISITOR_ATTACHMENT_MAX_BYTES),
            "extensions": _extensions(),
        },
        status=status,
    )


def _extensions() -> str:
    from helpdesk import settings as helpdesk_settings

    return ",".join(sorted(helpdesk_settings.HELPDESK_VALID_EXTENSIONS))


@require_http_methods(["GET", "POST"])
@_in_language
def page(request: HttpRequest, ticket_id: int, token: str) -> HttpResponse:
    try:
        ticket = visitor.open_link(ticket_id, token)
    except visitor.LinkRefused as exc:
        return _refused(request, exc.code)
    if request.method == "GET":
        return _page(request, ticket, token)
    action = request.POST.get("action", "reply")
    if action == "new":
        return _new_consultation(request, ticket)
    if action == "rate":
        return _rate(request, ticket, token)
    form = ReplyForm(request.POST)
    form.is_valid()
    text = form.cleaned_data.get("text", "")
    try:
        visitor.reply(ticket, text, request.FILES.getlist("files"))
    except visitor.ReplyRefused as exc:
        if getattr(exc, "code", None) == "closed":
            return _page(request, ticket, token, closed_text=text, reply_form=form, status=409)
        return _page(
            request, ticket, token, reply_form=form, reply_errors=exc.message_dict, status=400
        )
    return redirect(f"{request.path}#pst-sent")


def _new_consultation(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """A closed conversation: the request form, for the address of the link, with the text."""
    pst = PSTTicket.objects.select_related("visitor").filter(ticket=ticket).first()
    state = dict(request.session.get(SESSION_KEY) or {})
    state.update(
        email=ticket.submitter_email,
        name=(pst.visitor.name if pst and pst.visitor else "") or ticket.submitter_email,
        carry=request.POST.get("text", "")[: visitor.MAX_REPLY_CHARS],
    )
    request.session[SESSION_KEY] = state
    return redirect("pst:online_ask")


def _rate(request: HttpRequest, ticket: Ticket, token: str) -> HttpResponse:
    form = RatingForm(request.POST)
    if ticket.status not in visitor.ENDED_STATUSES or not ratings.wants_rating_link(ticket):
        return redirect(request.path)
    if not form.is_valid():
        return _page(request, ticket, token, rating_form=form, status=400)
    data = form.cleaned_data
    invitation = ratings.valid_invitation(ticket) or RatingInvitation.objects.create(ticket=ticket)
    complaint = None
    if data.get("complaint_text"):
        complaint = ratings.ComplaintRequest(data["complaint_text"], data["lapor_ref"])
    try:
        ratings.submit_rating(
            invitation,
            scores={code: data[code] for code in IKM_ELEMENTS},
            overall=data["overall"],
            comment=data["comment"],
            complaint=complaint,
        )
    except ratings.RatingRefused as exc:
        form.add_error(None, exc.message)
        return _page(request, ticket, token, rating_form=form, status=409)
    return redirect(f"{request.path}#pst-rated")


@_in_language
def attachment(request: HttpRequest, ticket_id: int, token: str, attachment_id: int) -> Any:
    try:
        ticket = visitor.open_link(ticket_id, token)
    except visitor.LinkRefused as exc:
        return _refused(request, exc.code)
    found = visitor.public_attachment(ticket, attachment_id)
    if found is None:
        raise Http404(gettext("No such file in this consultation."))
    return FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.filename,
        content_type=found.mime_type or "application/octet-stream",
    )


@require_http_methods(["GET", "POST"])
@_in_language
def resend(request: HttpRequest) -> HttpResponse:
    """ "Send me my link again": the links go to the address on the tickets, never elsewhere."""
    form = ResendForm(request.POST or None)
    sent = False
    status = 200
    if request.method == "POST":
        if form.is_valid():
            client = request.META.get("REMOTE_ADDR", "")
            if visitor.resend_links(form.cleaned_data["email"], client):
                sent = True
            else:
                form.add_error(
                    "email",
                    ValidationError(
                        gettext(
                            "Too many requests for links. Wait an hour, or use the link in the "
                            "latest e-mail we sent you."
                        )
                    ),
                )
                status = 429
        else:
            status = 400
    return render(
        request,
        "pst_helpdesk_ext/visitor/resend.html",
        {"form": form, "sent": sent},
        status=status,
    )

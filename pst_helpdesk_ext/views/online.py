"""The public PST request page: verify the e-mail, search first, then ask. Thin: the rules are in
``services.online``.

The steps keep their state in the session (``pst_online``): the verified address, what was
searched, how many results were shown, the articles opened. The request form reads them so the
ticket records the search; the visitor can go back to searching at any time.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from helpdesk.models import Ticket

from pst_helpdesk_ext import throttle
from pst_helpdesk_ext.models import Branch, ServiceCategory
from pst_helpdesk_ext.services import online

SESSION_KEY = "pst_online"


def _state(request: HttpRequest) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY) or {})


def _save_state(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _verified(request: HttpRequest) -> dict[str, str] | None:
    """The visitor's verified e-mail and name: a signed-in user's, or the session's."""
    user = request.user
    if user.is_authenticated and user.email:
        return {"email": user.email, "name": user.get_full_name() or user.get_username()}
    state = _state(request)
    if state.get("email"):
        return {"email": state["email"], "name": state.get("name", "")}
    return None


class VerifyForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        error_messages={"invalid": _("Enter a valid e-mail address, e.g. name@example.com.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"class": "form-control", "autocomplete": "name"})
        self.fields["email"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "email", "inputmode": "email"}
        )


class RequestForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=_("BPS office"),
        queryset=Branch.objects.none(),
        to_field_name="code",
        empty_label=_("Choose the office"),
        error_messages={
            "required": _("Choose the BPS office you are asking."),
            "invalid_choice": _("Unknown office %(value)s: choose one from the list."),
        },
    )
    subject = forms.ModelChoiceField(
        label=_("Consultation subject"),
        queryset=ServiceCategory.objects.none(),
        to_field_name="code",
        empty_label=_("Choose data, metadata or classification"),
        error_messages={
            "required": _("Choose what your question is about: data, metadata or classification."),
            "invalid_choice": _("Unknown subject %(value)s: choose one from the list."),
        },
    )
    title = forms.CharField(
        label=_("Short title"),
        max_length=150,
        error_messages={"required": _("Give your request a short title.")},
    )
    question = forms.CharField(
        label=_("Your question"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        error_messages={"required": _("Write your question.")},
    )
    indicator = forms.CharField(
        label=_("Indicator, publication or item"),
        required=False,
        max_length=200,
        help_text=_("e.g. poverty rate, Statistik Daerah 2025, KBLI 47111"),
    )
    region = forms.CharField(
        label=_("Region"),
        required=False,
        max_length=120,
        help_text=_("e.g. Kecamatan Kotapinang"),
    )
    period = forms.CharField(
        label=_("Period"), required=False, max_length=60, help_text=_("e.g. 2020-2024")
    )
    purpose = forms.CharField(
        label=_("Purpose of use"),
        required=False,
        max_length=200,
        help_text=_("e.g. undergraduate thesis, regional planning"),
    )
    institution = forms.CharField(label=_("Institution"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = Branch.objects.filter(active=True).select_related("queue")
        self.fields["subject"].queryset = ServiceCategory.objects.filter(
            active=True, kind=ServiceCategory.Kind.SUBJECT
        )
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field, forms.ModelChoiceField) else "form-control"
            field.widget.attrs["class"] = css
            if name in self.completeness_fields():
                field.widget.attrs["data-completeness"] = "1"

    @staticmethod
    def completeness_fields() -> set[str]:
        return set(online.ALWAYS_REQUIRED).union(*online.REQUIRED_FOR_SUBJECT.values())

    def clean_question(self) -> str:
        question = self.cleaned_data["question"].strip()
        if len(question) < 10:
            raise ValidationError(
                gettext(
                    "Your question is too short (%(length)d characters): describe what you "
                    "need in at least 10 characters."
                )
                % {"length": len(question)}
            )
        return question


def mark_invalid(form: forms.Form) -> forms.Form:
    """Bootstrap's red outline and the error's id on each wrong field, for sight and screen
    readers (the messages themselves are rendered under each field)."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs["aria-describedby"] = f"error-{name}"
    return form


def _completeness_rules() -> list[tuple[ServiceCategory, list[str]]]:
    labels = {name: str(RequestForm.base_fields[name].label) for name in RequestForm.base_fields}
    return [
        (
            subject,
            [
                labels[name]
                for name in (
                    *online.ALWAYS_REQUIRED,
                    *online.REQUIRED_FOR_SUBJECT.get(subject.code, ()),
                )
            ],
        )
        for subject in ServiceCategory.objects.filter(
            active=True, kind=ServiceCategory.Kind.SUBJECT
        )
    ]


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Step 1: who is asking. A verified visitor goes straight on to the search."""
    if _verified(request):
        return redirect("pst:online_search")
    form = VerifyForm(request.POST or None)
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        email, name = form.cleaned_data["email"], form.cleaned_data["name"]
        refused = throttle.hit("verify_link", request, email)
        if refused is not None:
            form.add_error(None, refused.message())
            return render(request, "pst_helpdesk_ext/online/start.html", {"form": form}, status=429)
        online.send_verify_link(
            email,
            name,
            lambda token: request.build_absolute_uri(reverse("pst:online_verify", args=[token])),
        )
        return render(request, "pst_helpdesk_ext/online/check_email.html", {"email": email})
    return render(
        request, "pst_helpdesk_ext/online/start.html", {"form": mark_invalid(form)}, status=status
    )


def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = online.read_verify_token(token)
    except ValidationError as exc:
        return render(
            request,
            "pst_helpdesk_ext/online/start.html",
            {"form": VerifyForm(), "link_error": exc.messages[0]},
            status=400,
        )
    state = _state(request)
    if not online.claim_verify_token(token):
        if state.get("email") == data["email"]:
            return redirect("pst:online_search")  # the same visitor opening it again
        return render(
            request,
            "pst_helpdesk_ext/online/start.html",
            {
                "form": VerifyForm(),
                "link_error": gettext(
                    "This verification link has already been used. Enter your e-mail address "
                    "again to get a new one."
                ),
            },
            status=400,
        )
    state.update(email=data["email"], name=data["name"])
    _save_state(request, state)
    return redirect("pst:online_search")


def search(request: HttpRequest) -> HttpResponse:
    """Step 2: search the knowledge base and the subjects; results before any form."""
    visitor = _verified(request)
    if visitor is None:
        return redirect("pst:online_start")
    query = request.GET.get("q", "").strip()
    results = online.search(query) if query else None
    if results is not None:
        state = _state(request)
        state.update(query=results.query, results=results.count)
        _save_state(request, state)
    return render(
        request,
        "pst_helpdesk_ext/online/search.html",
        {"visitor": visitor, "query": query, "results": results},
    )


def article(request: HttpRequest, item_id: int) -> HttpResponse:
    """An article opened from the results: counted for the request, then helpdesk shows it."""
    item = online.opened_article(item_id)
    if item is None:
        return redirect("pst:online_search")
    state = _state(request)
    opened = [int(pk) for pk in state.get("opened", [])]
    if item.pk not in opened:
        opened.append(item.pk)
    state["opened"] = opened[-50:]
    _save_state(request, state)
    return HttpResponseRedirect(item.get_absolute_url())


@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    """Step 3: the request form. Invalid input: every field says what is wrong; nothing made."""
    visitor = _verified(request)
    if visitor is None:
        return redirect("pst:online_start")
    state = _state(request)
    # "carry": the text a visitor wrote on a closed consultation (views/visitor.py)
    initial = {"title": state.get("query", "")[:150], "question": state.get("carry", "")}
    form = RequestForm(request.POST or None, initial=initial)
    status = 400 if form.is_bound else 200
    refused = None
    if request.method == "POST" and form.is_valid():
        # helpdesk e-mails the visitor the new ticket's link: counted like any public send.
        refused = throttle.hit("online_request", request, visitor["email"])
        if refused is not None:
            form.add_error(None, refused.message())
            status = 429
    if request.method == "POST" and form.is_valid() and refused is None:
        data = form.cleaned_data
        request_data = online.RequestData(
            email=visitor["email"],
            name=visitor["name"],
            institution=data["institution"],
            branch=data["branch"],
            subject=data["subject"],
            title=data["title"],
            question=data["question"],
            indicator=data["indicator"],
            region=data["region"],
            period=data["period"],
            purpose=data["purpose"],
            search_query=state.get("query", ""),
            search_results=int(state.get("results", 0)),
            articles_opened=tuple(int(pk) for pk in state.get("opened", [])),
        )
        try:
            pst = online.submit_request(request_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            state.pop("query", None)
            state.pop("results", None)
            state.pop("opened", None)
            state.pop("carry", None)
            state["submitted"] = [*state.get("submitted", []), pst.ticket_id][-20:]
            _save_state(request, state)
            return redirect("pst:online_done", ticket_id=pst.ticket_id)
    return render(
        request,
        "pst_helpdesk_ext/online/ask.html",
        {
            "form": mark_invalid(form),
            "visitor": visitor,
            "query": state.get("query", ""),
            "rules": _completeness_rules(),
        },
        status=status,
    )


def done(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The confirmation, for the session that submitted the request only."""
    if ticket_id not in _state(request).get("submitted", []):
        return redirect("pst:online_start")
    ticket = get_object_or_404(
        Ticket.objects.select_related("queue", "pst__online_request", "pst__subject"),
        pk=ticket_id,
    )
    online_request = ticket.pst.online_request
    labels = {name: str(field.label) for name, field in RequestForm.base_fields.items()}
    from pst_helpdesk_ext.services import visitor

    return render(
        request,
        "pst_helpdesk_ext/online/done.html",
        {
            "ticket": ticket,
            # the visitor's own page (views/visitor.py), the link the e-mails carry too
            "follow_url": visitor.link_path(ticket),
            "online_request": online_request,
            # the clock as staff see it (services/sla.py), in words
            "state": visitor.state_of(ticket, labels),
        },
    )

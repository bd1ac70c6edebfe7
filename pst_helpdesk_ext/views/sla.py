"""Staff buttons of the SLA clock on the ticket page: mark the request complete, wait for the
visitor, record the visitor's answer, record the compensation of a breach. Thin: the rules live
in ``services.sla`` and ``services.compensation``.

Each is a POST (CSRF-protected by Django's middleware) for helpdesk staff who may open the ticket
under helpdesk's per-queue permissions, and redirects back to helpdesk's ticket page with a
message in the user's language. The URL names are documented in docs/sla.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from helpdesk.decorators import helpdesk_staff_member_required
from helpdesk.models import Ticket
from helpdesk.user import HelpdeskUser

from pst_helpdesk_ext.models import PSTTicket
from pst_helpdesk_ext.services import compensation, sla

#: Longest question sent to the visitor from the wait button (helpdesk's comment is a TextField;
#: this keeps a stray paste from becoming a megabyte e-mail).
MAX_COMMENT_CHARS = 10_000
#: How much of a refused message is kept to show again (a refusal for length keeps it whole).
KEPT_COMMENT_CHARS = 100_000


def typed_comment_key(ticket_id: int) -> str:
    """The session key of a refused wait message, shown again in the ticket's SLA panel."""
    return f"pst_sla_wait_comment_{ticket_id}"


def _pst_ticket(request: HttpRequest, ticket_id: int) -> PSTTicket:
    ticket = get_object_or_404(Ticket.objects.select_related("queue"), pk=ticket_id)
    if not HelpdeskUser(request.user).can_access_ticket(ticket):
        raise PermissionDenied(_("You may not open tickets of this queue."))
    pst = (
        PSTTicket.objects.filter(ticket=ticket)
        .select_related("channel", "branch", "ticket", "ticket__queue", "sla_policy")
        .first()
    )
    if pst is None:
        raise Http404(_("Ticket #%(ticket)s is not a PST ticket.") % {"ticket": ticket_id})
    return pst


def _back(ticket_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("helpdesk:view", args=[ticket_id]))


def _action(
    run: Callable[[HttpRequest, PSTTicket], str],
) -> Callable[..., HttpResponse]:
    """A staff POST that runs ``run`` and reports its success message, or the refusal saying why."""

    @helpdesk_staff_member_required
    @require_POST
    def view(request: HttpRequest, ticket_id: int) -> HttpResponse:
        pst = _pst_ticket(request, ticket_id)
        try:
            message = run(request, pst)
        except sla.SLAActionError as exc:
            messages.error(request, " ".join(exc.messages))
            if request.POST.get("comment"):
                # Refused: the ticket page shows the message again, as typed (once).
                request.session[typed_comment_key(ticket_id)] = request.POST["comment"][
                    :KEPT_COMMENT_CHARS
                ]
        else:
            messages.success(request, message)
        return _back(ticket_id)

    view.__name__ = view.__qualname__ = run.__name__
    view.__doc__ = run.__doc__
    return view


def _due(pst: PSTTicket) -> str:
    return sla.local_label(pst.sla_due_at, sla.calendar_for(pst.branch))


@_action
def mark_complete(request: HttpRequest, pst: PSTTicket) -> str:
    """The request is clear and complete: the online clock starts."""
    sla.mark_request_complete(pst, user=request.user)
    if pst.sla_due_at is None:
        return _("Request marked complete. No service standard applies to this ticket.")
    return _("Request marked complete: the service clock runs; answer due %(due)s.") % {
        "due": _due(pst)
    }


@_action
def wait_for_visitor(request: HttpRequest, pst: PSTTicket) -> str:
    """Wait for the visitor (optionally sending them a question): the clock pauses."""
    comment = request.POST.get("comment", "")
    if len(comment) > MAX_COMMENT_CHARS:
        raise sla.SLAActionError(
            _(
                "The message to the visitor is %(length)s characters long; write at most "
                "%(max)s, or attach a file through the ticket's reply form."
            ),
            code="too_long",
            params={"length": len(comment), "max": MAX_COMMENT_CHARS},
        )
    sla.wait_for_visitor(pst, user=request.user, comment=comment)
    if comment.strip():
        return _("Your message was sent to the visitor; the service clock is paused.")
    return _("Waiting for the visitor; the service clock is paused.")


@_action
def visitor_replied(request: HttpRequest, pst: PSTTicket) -> str:
    """The visitor answered outside the helpdesk: the clock runs again."""
    sla.visitor_replied(pst, user=request.user)
    if pst.sla_due_at is None:
        return _("Recorded that the visitor answered.")
    return _("Recorded that the visitor answered; the service clock runs again, due %(due)s.") % {
        "due": _due(pst)
    }


def typed_compensation_key(ticket_id: int) -> str:
    """The session key of a refused compensation form, shown again as typed (once)."""
    return f"pst_sla_compensation_{ticket_id}"


@helpdesk_staff_member_required
@require_POST
def record_compensation(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Record what the visitor was given for the breach of the service standard."""
    pst = _pst_ticket(request, ticket_id)
    typed = {name: request.POST.get(name, "")[:1000] for name in ("kind", "note", "given_on")}
    given_on = None
    problems: list[str] = []
    if typed["given_on"]:
        try:
            given_on = dt.date.fromisoformat(typed["given_on"])
        except ValueError:
            problems.append(_("Enter the day as YYYY-MM-DD, for example 2026-03-31."))
    if not problems:
        try:
            compensation.record(
                pst, user=request.user, kind=typed["kind"], note=typed["note"], given_on=given_on
            )
        except ValidationError as exc:
            problems = [m for messages_ in exc.message_dict.values() for m in messages_]
    if problems:
        messages.error(request, " ".join(problems))
        # Shown again beside the form, as typed, with the reasons (once).
        request.session[typed_compensation_key(ticket_id)] = {**typed, "errors": problems}
    else:
        messages.success(request, _("Compensation recorded."))
    back = _back(ticket_id)
    back["Location"] += "#pst-compensation"
    return back


urlpatterns: list[Any] = [
    path("tickets/<int:ticket_id>/sla/complete/", mark_complete, name="sla_mark_complete"),
    path("tickets/<int:ticket_id>/sla/wait/", wait_for_visitor, name="sla_wait_for_visitor"),
    path("tickets/<int:ticket_id>/sla/resume/", visitor_replied, name="sla_visitor_replied"),
    path(
        "tickets/<int:ticket_id>/sla/compensation/",
        record_compensation,
        name="sla_compensation",
    ),
]

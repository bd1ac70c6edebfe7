"""The one gateway to django-helpdesk's ticket history: every follow-up and ticket change the
plugin writes goes through here, so "change tickets through helpdesk's own path" is checkable in
one file (``tests/central/test_helpdesk_gateway.py`` fails if a module elsewhere in the package
creates a ``FollowUp`` or ``TicketChange`` row or calls ``update_ticket`` itself).

What it owns:
- Single updates through helpdesk's own ``update_ticket`` (``record_update``): history,
  notifications and the ``update_ticket_done`` signal as helpdesk sends them, with the follow-up's
  own title patched in afterwards and, when asked, the staff's resolution kept. ``writing_as``
  tells a receiver that the follow-up it sees was written by a PST service that has already
  applied its effect (the SLA clock's own follow-ups: ``SLA_WRITER``).
- Bulk follow-ups as ``update_ticket`` would write them (``UpdateTicketRules`` decides title,
  status change, ``TicketChange`` and resolution; ``insert_followups`` writes them with the bulk
  insert engine), for the walk-in intake's thousands of historical steps.
- Follow-ups that open a ticket as helpdesk's ``TicketForm`` does (``opening_followup``) and an
  incoming visitor message that may reopen the ticket (``incoming_followup``).
- Helpdesk-style announcements after commit: a new ticket (``announce_new_ticket``: the
  submitter and queue CCs, ``new_ticket_done``) and an escalation (``announce_escalation``: the
  queue's new-ticket CCs, ``update_ticket_done``).

It imports no PST service (services import it); the one ``update_ticket_done`` dispatcher, which
calls the services' handlers in an explicit order, is ``receivers.update_ticket_done_dispatcher``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import translation
from django.utils.translation import gettext
from helpdesk.lib import safe_template_context
from helpdesk.models import FollowUp, Ticket, TicketChange
from helpdesk.signals import new_ticket_done, update_ticket_done
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.followup_titles import status_title
from pst_helpdesk_ext.services.bulk_insert import Row, RowInserter

logger = logging.getLogger("pst.helpdesk_gateway")

#: ``writing_as`` while the SLA clock records its own follow-ups (mark complete, breaches, ...).
SLA_WRITER: Final = "pst_helpdesk_ext.sla"

_RESOLVED = Ticket.RESOLVED_STATUS
_CLOSED = Ticket.CLOSED_STATUS

# Which PST service is writing through ``record_update`` right now (None: nobody, or staff
# through helpdesk's own views). Receivers of ``update_ticket_done`` read it with ``writing_as``.
_writer: contextvars.ContextVar[str | None] = contextvars.ContextVar("pst_writer", default=None)


# --- single updates through update_ticket -------------------------------------------------------


def writing_as() -> str | None:
    """The PST service writing the follow-up being announced, if one is (see ``record_update``)."""
    return _writer.get()


@contextlib.contextmanager
def _as_writer(writer: str | None) -> Iterator[None]:
    token = _writer.set(writer)
    try:
        yield
    finally:
        _writer.reset(token)


def record_update(
    ticket: Ticket,
    user: Any,
    *,
    comment: str,
    public: bool,
    title: str | None = None,
    keep_resolution: bool = False,
    writer: str | None = None,
    **changes: Any,
) -> FollowUp:
    """A follow-up through helpdesk's own ``update_ticket`` (history, notifications, signal).

    ``user`` None is anonymous. ``title``: the follow-up's own title, patched in afterwards
    (``update_ticket``'s ``title`` would rename the *ticket*). ``keep_resolution``:
    ``update_ticket`` gives a resolved ticket the comment of any follow-up as its resolution; a
    note that changes no status must not replace the staff's resolution, so it is put back.
    ``writer``: what ``writing_as`` says while helpdesk's receivers run. ``changes`` go to
    ``update_ticket`` as they are (``new_status``, ``priority``, ``files``, ``message_id``...).
    """
    resolution = ticket.resolution
    with _as_writer(writer):
        followup = update_ticket(
            user if user is not None else AnonymousUser(),
            ticket,
            comment=comment,
            public=public,
            **changes,
        )
    if title is not None:
        patch_followup_title(followup, title)
    if keep_resolution and "new_status" not in changes and ticket.resolution != resolution:
        ticket.resolution = resolution
        Ticket.objects.filter(pk=ticket.pk).update(resolution=resolution)
    return followup  # type: ignore[no-any-return]


def patch_followup_title(followup: FollowUp, title: str) -> None:
    """Give a recorded follow-up its own title (what happened), without a second history row."""
    FollowUp.objects.filter(pk=followup.pk).update(title=title[:200])
    followup.title = title[:200]


def opening_followup(ticket: Ticket, *, title: str, comment: str, date: dt.datetime) -> FollowUp:
    """The public follow-up that opens a ticket, as helpdesk's ``TicketForm`` writes it (the
    ticket's description as comment). The caller announces the ticket after commit."""
    return FollowUp.objects.create(  # type: ignore[no-any-return]
        ticket=ticket, title=title, comment=comment, public=True, date=date
    )


def incoming_followup(
    ticket: Ticket, *, title: str, comment: str, date: dt.datetime, reopen_title: str | None
) -> FollowUp:
    """A message from the visitor on ``ticket`` (locked by the caller), as helpdesk's e-mail
    ingestion records a reply: public; with ``reopen_title`` the ticket is reopened, the
    follow-up says so and a ``TicketChange`` records the status change. Strings are written in
    the active language."""
    followup = FollowUp(ticket=ticket, title=title, date=date, public=True, comment=comment)
    old_status = None
    if reopen_title is not None:
        old_status = ticket.get_status_display()
        ticket.status = Ticket.REOPENED_STATUS
        ticket.save()
        followup.new_status = Ticket.REOPENED_STATUS
        followup.title = reopen_title
    followup.save()
    if old_status is not None:
        followup.ticketchange_set.create(
            field=gettext("Status"),
            old_value=old_status,
            new_value=ticket.get_status_display(),
        )
    else:
        ticket.save(update_fields=["modified"])
    return followup


# --- bulk follow-ups, as update_ticket writes them ----------------------------------------------


@dataclass(eq=False, slots=True)
class NewFollowUp:
    """A follow-up to insert (a plain record: a batch makes thousands, model instances cost)."""

    ticket: Row
    date: dt.datetime
    title: str
    comment: str
    public: bool
    new_status: int | None = None
    time_spent: dt.timedelta | None = None
    change: tuple[str, str, str] | None = None  # TicketChange (field, old, new)
    pk: int | None = None


class UpdateTicketRules:
    """``update_ticket``'s rules for a batch of follow-ups written without it, in the active
    language (looked up once per batch through ``gettext``, e.g. an ``lru_cache`` of it)."""

    def __init__(self, gettext: Callable[[str], str] = gettext) -> None:
        self.gettext = gettext
        self.status_labels = {code: str(label) for code, label in Ticket.STATUS_CHOICES}
        self.status_field = gettext("Status")
        self.opened = gettext("Ticket Opened")

    def status_label(self, status: int) -> str:
        return self.status_labels.get(status, str(status))

    def opening(self, ticket: Row, date: dt.datetime, comment: str) -> NewFollowUp:
        """As helpdesk's ``TicketForm`` opens a ticket: public, the description as comment."""
        return NewFollowUp(ticket, date, self.opened, comment, True)

    def update(
        self,
        ticket: Row,
        date: dt.datetime,
        comment: str,
        *,
        public: bool = False,
        new_status: int | None = None,
        time_spent: dt.timedelta | None = None,
    ) -> tuple[NewFollowUp, dict[str, Any]]:
        """A follow-up exactly as ``update_ticket`` writes it (no user), and the ticket fields it
        changes (``status``, ``resolution``; the caller adds ``modified``)."""
        followup = NewFollowUp(ticket, date, ticket.title, comment, public, time_spent=time_spent)
        changes: dict[str, Any] = {}
        status = ticket.status
        if new_status is not None and new_status != ticket.status:
            old_label = self.status_label(ticket.status)
            new_label = self.status_label(new_status)
            followup.new_status = new_status
            followup.title = status_title(ticket.title, new_label, self.gettext)
            followup.change = (self.status_field, old_label, new_label)
            changes["status"] = status = new_status
        # update_ticket's rule, quirk included: any follow-up on a resolved ticket (or a closed
        # one without a resolution) becomes its resolution, as a staff comment there would.
        if status in (_RESOLVED, _CLOSED) and (status == _RESOLVED or ticket.resolution is None):
            changes["resolution"] = comment
        return followup, changes


_FOLLOWUP_ROWS = RowInserter(
    FollowUp,
    [
        "ticket",
        "date",
        "title",
        "comment",
        "public",
        "new_status",
        "time_spent",
    ],
    # update_ticket records whom it e-mailed; for a step that happened at the branch, nobody.
    constants={"email_recipients": []},
)
_TICKET_CHANGE_ROWS = RowInserter(TicketChange, ["followup", "field", "old_value", "new_value"])


def insert_followups(followups: Sequence[NewFollowUp]) -> None:
    """Insert ``followups`` (their tickets inserted already) and their ``TicketChange`` rows;
    each gets its id. No signals: the caller announces what is news (``announce_escalation``)."""
    if not followups:
        return
    ids = _FOLLOWUP_ROWS.insert(
        [
            (f.ticket.pk, f.date, f.title, f.comment, f.public, f.new_status, f.time_spent)
            for f in followups
        ],
        returning=True,
    )
    for followup, pk in zip(followups, ids, strict=True):
        followup.pk = pk
    changes = [(f.pk, *f.change) for f in followups if f.change is not None]
    if changes:
        _TICKET_CHANGE_ROWS.insert(changes)


# --- announcements, after commit ----------------------------------------------------------------


def announce_new_ticket(ticket: Ticket, *, sender: str) -> None:
    """A new ticket is news: its submitter and the queue's CCs hear of it as helpdesk's TicketForm
    would tell them, and ``new_ticket_done`` fires from ``sender`` (helpdesk's new-ticket webhook).
    A failing receiver is logged, never raised: the ticket is already committed."""
    with translation.override(ticket.queue.locale or settings.LANGUAGE_CODE):
        context = safe_template_context(ticket)
        context["comment"] = ticket.description
        ticket.send(
            {
                "submitter": ("newticket_submitter", context),
                "new_ticket_cc": ("newticket_cc", context),
                "ticket_cc": ("newticket_cc", context),
            },
            fail_silently=True,
        )
    for receiver, error in new_ticket_done.send_robust(sender=sender, ticket=ticket):
        if isinstance(error, Exception):
            logger.error("new_ticket_done receiver %r failed: %s", receiver, error)


def announce_escalation(ticket: Ticket, followup: FollowUp, *, sender: str) -> None:
    """The queue hears of a ticket that needs follow-up, through helpdesk's own templates and
    signal (so its webhooks fire), exactly as if the ticket had been opened for the queue now."""
    queue = ticket.queue
    sent_to: set[str] = set()
    # Ticket.send would deliver these roles to nobody: skip rendering its context.
    has_recipient = bool(queue.new_ticket_cc or queue.updated_ticket_cc) or (
        queue.enable_notifications_on_email_events and ticket.ticketcc_set.exists()
    )
    if has_recipient:
        with translation.override(queue.locale or settings.LANGUAGE_CODE):
            context = safe_template_context(ticket)
            context["comment"] = followup.comment
            ticket.send(
                {
                    "new_ticket_cc": ("newticket_cc", context),
                    "ticket_cc": ("newticket_cc", context),
                },
                sent_to=sent_to,
                fail_silently=True,
            )
    if sent_to:
        followup.email_recipients = sorted(sent_to)
        FollowUp.objects.filter(pk=followup.pk).update(email_recipients=followup.email_recipients)
    for receiver, error in update_ticket_done.send_robust(sender=sender, followup=followup):
        if isinstance(error, Exception):
            logger.error("update_ticket_done receiver %r failed: %s", receiver, error)

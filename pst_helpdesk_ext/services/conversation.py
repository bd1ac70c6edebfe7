"""The conversation of an online ticket as staff read it: who said what, in order.

A follow-up is the visitor's when helpdesk recorded it without a user and it is the opening
message, an e-mail reply (it has a ``message_id``) or a WhatsApp message in; staff's when it has a
helpdesk user; otherwise it is the system's (e.g. an automatic close). Internal notes are marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import WhatsAppMessage

VISITOR, STAFF, SYSTEM = "visitor", "staff", "system"


@dataclass
class ThreadMessage:
    followup: FollowUp
    author: str  # VISITOR, STAFF or SYSTEM
    public: bool
    whatsapp_out: list[WhatsAppMessage] = field(default_factory=list)

    @property
    def attachments(self) -> list:  # type: ignore[type-arg]
        return list(self.followup.followupattachment_set.all())


def thread_of(ticket: Ticket) -> list[ThreadMessage]:
    """Every follow-up of ``ticket`` with its author role, in a fixed number of queries."""
    followups = list(
        FollowUp.objects.filter(ticket=ticket)
        .select_related("user")
        .prefetch_related("followupattachment_set")
        .order_by("date", "id")
    )
    whatsapp = list(
        WhatsAppMessage.objects.filter(followup__ticket=ticket).order_by("sent_at", "id")
    )
    inbound = {m.followup_id for m in whatsapp if m.direction == WhatsAppMessage.Direction.IN}
    outbound: dict[int, list[WhatsAppMessage]] = {}
    for message in whatsapp:
        if message.direction == WhatsAppMessage.Direction.OUT:
            outbound.setdefault(message.followup_id, []).append(message)
    thread = []
    for index, followup in enumerate(followups):
        if followup.user_id is not None:
            author = STAFF
        elif index == 0 or followup.message_id or followup.pk in inbound:
            author = VISITOR
        else:
            author = SYSTEM
        thread.append(
            ThreadMessage(followup, author, followup.public, outbound.get(followup.pk, []))
        )
    return thread

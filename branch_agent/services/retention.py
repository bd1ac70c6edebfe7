"""Local retention: the office PC keeps personal data only as long as the day's work needs it
and central has it; central keeps its own copy under its own rule."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from branch_agent import outbox
from branch_agent.conf import agent_settings
from branch_agent.models import GuestBookEntry, OutboxOp
from branch_agent.services.common import now_local, uuid_or_none

log = logging.getLogger("branch_agent.store")


def purge_personal_data(*, days: int | None = None, now: dt.datetime | None = None) -> int:
    """Blank the guest-book personal data of visits older than ``days`` whose records central
    already has (nothing of the visit still in the outbox), and delete the records central
    acknowledged before that day (kept until then to send again if central is restored from an
    older backup; they carry the same personal data). Central keeps its own copy under its
    retention rule; the office PC keeps only what the day's work needs. Returns how many
    guest-book entries were blanked."""
    keep_days = agent_settings.local_retention_days if days is None else days
    cutoff = now_local(now).date() - dt.timedelta(days=keep_days)
    start_of_cutoff = timezone.make_aware(dt.datetime.combine(cutoff, dt.time.min))
    with outbox.write():
        forgotten, _kinds = OutboxOp.objects.filter(
            state=OutboxOp.State.ACKED, done_at__lt=start_of_cutoff
        ).delete()
        if forgotten:
            log.info("deleted %d records central acknowledged before %s", forgotten, cutoff)
        waiting = OutboxOp.objects.filter(state=OutboxOp.State.PENDING).values("entity_id")
        entries = GuestBookEntry.objects.filter(visit__service_day__lt=cutoff).exclude(
            name="", email="", id_hash=""
        )
        entries = entries.exclude(
            visit_id__in=[uid for uid in (uuid_or_none(row["entity_id"]) for row in waiting) if uid]
        )
        return entries.update(
            name="", institution="", email="", phone="", id_hash="", id_last4="", purpose=""
        )

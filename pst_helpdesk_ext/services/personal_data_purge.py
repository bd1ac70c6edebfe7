"""Erasing visitor personal data past its retention period (UU PDP No. 27/2022: keep personal
data only as long as the purpose needs, then delete it).

What is erased: a visitor's name, e-mail, phone, keyed ID hash and last 4 ID digits (the full ID
number is never stored), the free-text purpose of their guest-book entries, and helpdesk's copies
of these: the e-mail address on their tickets (``Ticket.submitter_email``) and in follow-ups
(text and ``email_recipients``), and the purpose line the intake wrote into a follow-up; erased
text is replaced by ``[…]``. ``Visitor.purged_at`` records when. The free-text comment of a
satisfaction rating is erased too (visitors write names and numbers into it), its scores kept.
What stays, so the statistics still add up: the visitor row itself (anonymous), the ID *type*,
the institution, visits and their times, categories, channels, rating scores and complaints.

Rules:
- A visitor is due when their last contact is older than the cutoff: the visitor record, every
  PST ticket of theirs (created or changed in helpdesk) and every guest-book entry of theirs are
  all older. A returning visitor keeps their data as long as they keep coming.
- A guest-book purpose is due when the entry itself is older than the cutoff, whoever it belongs
  to; erasing a visitor also erases the purposes of all their entries.
- A rating comment is due when the rating is older than the cutoff; erasing a visitor also
  erases the comments of the ratings on their tickets.
- Idempotent: erased data is empty and erased visitors carry ``purged_at``, so a second run finds
  nothing to do and counts zero. Work is done in batches, each in one transaction, with bulk
  UPDATEs (never a query per row), so a large backlog neither locks the tables for long nor
  loses finished batches if interrupted.
- A dry run is the real run inside a transaction that is rolled back, so its counts are exact.
- helpdesk's ticket e-mail is cleared with a bulk UPDATE, not through ``update_ticket``: erasure
  is not a change of the ticket's state and must not write the address into a follow-up.
- One record that cannot be erased never stops the run: a batch that fails is retried one record
  at a time, and a record that still fails is logged with its id and the reason, counted in
  ``PurgeResult.failed`` (the command then exits with status 1) and left for the next run; every
  other record is erased.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import GuestBookEntry, PSTTicket, Rating, Visitor
from pst_helpdesk_ext.services.whatsapp import forget_numbers

BATCH_SIZE = 500
ERASED = "[…]"
logger = logging.getLogger("pst.purge")


@dataclass(frozen=True)
class PurgeResult:
    visitors: int = 0
    guestbook_purposes: int = 0
    ticket_emails: int = 0
    followups: int = 0
    whatsapp_numbers: int = 0
    rating_comments: int = 0
    failed: int = 0  # records skipped after an error (logged with their id)

    def __add__(self, other: PurgeResult) -> PurgeResult:
        return PurgeResult(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


def retention_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    days = pst_settings.PERSONAL_DATA_RETENTION_DAYS
    return (now or timezone.now()) - datetime.timedelta(days=days)


def cutoff_before_day(day: datetime.date) -> datetime.datetime:
    """The start of ``day`` in the site's timezone: data recorded before it is due."""
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time.min), timezone.get_current_timezone()
    )


def visitors_due(cutoff: datetime.datetime) -> QuerySet[Visitor]:
    recent_ticket = PSTTicket.objects.filter(visitor=OuterRef("pk")).filter(
        Q(created__gte=cutoff) | Q(ticket__modified__gte=cutoff)
    )
    recent_entry = GuestBookEntry.objects.filter(visitor=OuterRef("pk"), recorded_at__gte=cutoff)
    return Visitor.objects.filter(purged_at__isnull=True, created__lt=cutoff).filter(
        ~Exists(recent_ticket), ~Exists(recent_entry)
    )


def purposes_due(cutoff: datetime.datetime) -> QuerySet[GuestBookEntry]:
    return GuestBookEntry.objects.filter(recorded_at__lt=cutoff).exclude(purpose="")


def _tickets_with_visitor_email(visitor_ids: list[int]) -> QuerySet[Ticket]:
    """Tickets of these visitors that still carry the visitor's own address."""
    return Ticket.objects.filter(pst__visitor_id__in=visitor_ids).filter(
        ~Q(pst__visitor__email=""), submitter_email__iexact=F("pst__visitor__email")
    )


def _purpose_replacements(purpose: str) -> dict[str, str]:
    """The guest-book line the intake writes into a follow-up, in every site language, erased.

    The intake service writes ``Purpose: <text>`` (in the queue's language) into the follow-up that
    records the guest book; the same msgid is used here, so the two cannot drift apart unseen
    (tests/central/test_purge.py runs the real intake).
    """
    replacements = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            template = gettext("Purpose: %(purpose)s")
            replacements[template % {"purpose": purpose}] = template % {"purpose": ERASED}
    return replacements


def _scrub_followups(purposes: dict[int, set[str]], emails: dict[int, set[str]]) -> int:
    """Erase guest-book purposes and the visitor's address from helpdesk follow-ups.

    ``purposes`` and ``emails`` map ticket ids to the texts to erase on that ticket. One SELECT and
    one bulk UPDATE for the whole batch; ``bulk_update`` leaves ``Ticket.modified`` alone.
    """
    ticket_ids = {t for t, texts in purposes.items() if texts} | {
        t for t, addresses in emails.items() if addresses
    }
    if not ticket_ids:
        return 0
    changed = []
    followups = FollowUp.objects.filter(ticket_id__in=ticket_ids).only(
        "pk", "ticket_id", "comment", "email_recipients"
    )
    for followup in followups:
        comment = followup.comment or ""
        for purpose in purposes.get(followup.ticket_id, ()):
            for old, new in _purpose_replacements(purpose).items():
                comment = comment.replace(old, new)
        recipients = followup.email_recipients
        for address in emails.get(followup.ticket_id, ()):
            comment = re.sub(re.escape(address), ERASED, comment, flags=re.IGNORECASE)
            if isinstance(recipients, list):
                recipients = [r for r in recipients if str(r).lower() != address.lower()]
        if comment != (followup.comment or "") or recipients != followup.email_recipients:
            followup.comment, followup.email_recipients = comment, recipients
            changed.append(followup)
    FollowUp.objects.bulk_update(changed, ["comment", "email_recipients"], batch_size=BATCH_SIZE)
    return len(changed)


def _entry_purposes(entries: QuerySet[GuestBookEntry]) -> dict[int, set[str]]:
    """Ticket id -> purposes of these guest-book entries (non-empty only)."""
    found: dict[int, set[str]] = {}
    rows = entries.exclude(purpose="").values_list("visit__pst_ticket__ticket_id", "purpose")
    for ticket_id, purpose in rows:
        found.setdefault(ticket_id, set()).add(purpose)
    return found


def _erase_batch(ids: list[int], now: datetime.datetime) -> PurgeResult:
    with transaction.atomic():
        emails: dict[int, set[str]] = {}
        rows = PSTTicket.objects.filter(visitor_id__in=ids).exclude(visitor__email="")
        for ticket_id, email in rows.values_list("ticket_id", "visitor__email"):
            emails.setdefault(ticket_id, set()).add(email)
        entries = GuestBookEntry.objects.filter(visitor_id__in=ids)
        followups = _scrub_followups(_entry_purposes(entries), emails)
        # While the visitor's address is still there to compare with.
        ticket_emails = _tickets_with_visitor_email(ids).update(submitter_email="")
        purposes = entries.exclude(purpose="").update(purpose="")
        comments = (
            Rating.objects.filter(ticket__pst__visitor_id__in=ids)
            .exclude(comment="")
            .update(comment="")
        )
        erased = Visitor.objects.filter(pk__in=ids, purged_at__isnull=True).update(
            name="", email="", phone="", id_hash="", id_last4="", purged_at=now
        )
    return PurgeResult(
        visitors=erased,
        guestbook_purposes=purposes,
        ticket_emails=ticket_emails,
        followups=followups,
        rating_comments=comments,
    )


def erase_visitors(visitors: QuerySet[Visitor], *, dry_run: bool = False) -> PurgeResult:
    """Erase the personal data of these visitors now (retention purge, or a person's request)."""
    return _run(lambda: _erase_visitors(visitors), dry_run=dry_run)


def purge_personal_data(cutoff: datetime.datetime, *, dry_run: bool = False) -> PurgeResult:
    """Erase what is older than ``cutoff``; with ``dry_run``, only count it."""
    return _run(lambda: _purge(cutoff), dry_run=dry_run)


def _run(work: Callable[[], PurgeResult], *, dry_run: bool) -> PurgeResult:
    if not dry_run:
        return work()
    # A dry run is the real run, rolled back: the counts are exactly what a run would erase.
    with transaction.atomic():
        result = work()
        transaction.set_rollback(True)
    return result


def _isolated(
    what: str, ids: list[int], work: Callable[[list[int]], PurgeResult], skipped: set[int]
) -> PurgeResult:
    """``work(ids)`` in one transaction; if it fails, each id on its own, so one record the
    database refuses is logged (its id and the reason), counted and added to ``skipped``
    while every other record of the batch is still erased."""
    try:
        with transaction.atomic():
            return work(ids)
    except Exception as exc:
        if len(ids) == 1:
            logger.error(
                "Personal data purge: %s %s skipped: %s: %s", what, ids[0], type(exc).__name__, exc
            )
            skipped.add(ids[0])
            return PurgeResult(failed=1)
    total = PurgeResult()
    for one in ids:
        total += _isolated(what, [one], work, skipped)
    return total


def _erase_visitors(visitors: QuerySet[Visitor]) -> PurgeResult:
    now = timezone.now()
    pending = visitors.filter(purged_at__isnull=True).order_by("pk")
    total = PurgeResult()
    skipped: set[int] = set()
    last_pk = 0
    while True:
        batch = list(pending.filter(pk__gt=last_pk).values_list("pk", flat=True)[:BATCH_SIZE])
        if not batch:
            return total
        total += _isolated("visitor", batch, lambda ids: _erase_batch(ids, now), skipped)
        last_pk = batch[-1]


def _erase_purposes(ids: list[int]) -> PurgeResult:
    entries = GuestBookEntry.objects.filter(pk__in=ids)
    followups = _scrub_followups(_entry_purposes(entries), {})
    return PurgeResult(guestbook_purposes=entries.update(purpose=""), followups=followups)


def _erase_comments(ids: list[int]) -> PurgeResult:
    return PurgeResult(rating_comments=Rating.objects.filter(pk__in=ids).update(comment=""))


def _purge(cutoff: datetime.datetime) -> PurgeResult:
    result = _erase_visitors(visitors_due(cutoff))
    # Purposes of old entries whose visitor is still coming back (or unknown) are due on their own.
    skipped: set[int] = set()
    while True:
        due = purposes_due(cutoff).exclude(pk__in=skipped).order_by("pk")
        ids = list(due.values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            break
        result += _isolated("guest-book entry", ids, _erase_purposes, skipped)
    skipped = set()
    while True:
        due = Rating.objects.filter(created__lt=cutoff).exclude(comment="").exclude(pk__in=skipped)
        ids = list(due.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            break
        result += _isolated("rating", ids, _erase_comments, skipped)
    # WhatsApp conversations keep the sender's number only as long as visitors' data is kept.
    return result + forget_numbers_isolated(cutoff)


def forget_numbers_isolated(cutoff: datetime.datetime) -> PurgeResult:
    try:
        with transaction.atomic():
            return PurgeResult(whatsapp_numbers=forget_numbers(cutoff))
    except Exception as exc:
        logger.error(
            "Personal data purge: WhatsApp numbers skipped: %s: %s", type(exc).__name__, exc
        )
        from pst_helpdesk_ext.models import WhatsAppThread

        due = WhatsAppThread.objects.filter(created__lt=cutoff).exclude(wa_id="")
        total = PurgeResult()
        for thread_id in due.order_by("pk").values_list("pk", flat=True):
            total += _isolated(
                "WhatsApp thread",
                [thread_id],
                lambda ids: PurgeResult(
                    whatsapp_numbers=WhatsAppThread.objects.filter(pk__in=ids).update(wa_id="")
                ),
                set(),
            )
        return total

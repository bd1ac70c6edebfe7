"""The down-feed: what central tells branches, written in the transaction of the change itself.

What it owns: ``FeedItem`` rows (and the ``FeedHead`` lock row), their payloads, the snapshot a
branch gets when its cursor is too old, and the retention that prunes old rows.

Rules:
- A feed row is written in the same transaction as the change a branch must see. Writers call
  ``publish`` inside their transaction (it opens one if there is none).
- Feed ids never skip a late commit: every writer locks the single ``FeedHead`` row
  (``select_for_update``) before it inserts and holds it until its transaction ends, so a reader
  that has seen id N will never later find a committed id below N. SQLite serialises writers by
  itself (IMMEDIATE transactions); PostgreSQL needs the lock. Rolled-back ids leave gaps, which is
  harmless: readers skip gaps, never rows.
- What goes down: reference data, broadcast to every branch (``branch`` NULL): service categories
  and channels with both names, helpdesk knowledge-base categories and items that are public (for
  offline search); and, for one branch, the status of tickets that came from it (after every
  batch of its own that changed a status or owner, and after every change central makes) and
  central's public replies on them. Never personal data: no names, e-mails, phone numbers or ID
  digits of visitors; a reply's text is what staff wrote publicly to the visitor.
- Kinds and payloads (entity ids are strings; each payload is built as its ``sync.feed`` dataclass,
  which the agent parses):
  ``category.upsert`` / ``category.delete`` (entity: ServiceCategory pk),
  ``channel.upsert`` / ``channel.delete`` (Channel pk),
  ``kb_category.upsert`` / ``kb_category.delete`` (KBCategory pk; delete drops its items too),
  ``kb.upsert`` / ``kb.delete`` (KBItem pk),
  ``ticket.status`` {ticket_id, status, status_label, open, owner ("branch" | "central"), at,
  and for a ticket that is still the branch's, ``visit``: its desk facts (sync/recovery.py), from
  which a branch whose disk lost the visit takes it back}
  and ``ticket.reply`` {ticket_id, followup_id, comment, at} (entity: the visit id the branch
  gave, ``origin_id``);
  ``appointment.upsert`` {id, code, status, service, start, minutes, topic, ticket_id,
  ticket_ref} for one branch (entity: the Appointment pk; ``services.appointments``).
- Retention: rows older than ``PST_HELPDESK["SYNC_FEED_RETENTION_DAYS"]`` (default 90) are pruned
  by ``prune`` (a row that cannot be deleted is logged and skipped, never stopping it);
  ``FeedHead.pruned_through`` remembers the highest id that may be gone. A branch whose cursor
  is 0 (new), below that mark, or above the head (central restored from a backup) gets a
  snapshot (see ``snapshot_entries``): the current reference data and ticket states.

Size: over 500 lines on purpose: every feed kind's builder and the snapshot must agree on one
format, so they stay together.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone, translation
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    FeedHead,
    FeedItem,
    PSTTicket,
    ServiceCategory,
    Visit,
)
from pst_helpdesk_ext.services.bulk_insert import RowInserter
from pst_helpdesk_ext.services.visit_facts import visit_facts
from sync import feed as payloads
from sync import ownership

DEFAULT_RETENTION_DAYS = 90
FEED_HEAD_PK = 1


@dataclass(frozen=True)
class Entry:
    """One change to publish: ``branch`` None means every branch."""

    branch: Branch | None
    kind: str
    entity_id: str
    payload: dict[str, Any]


def retention_days() -> int:
    # Read on every call, like every PST_HELPDESK setting (override_settings works).
    configured = (getattr(settings, "PST_HELPDESK", None) or {}).get("SYNC_FEED_RETENTION_DAYS")
    return int(configured) if configured else DEFAULT_RETENTION_DAYS


# --- writing ------------------------------------------------------------------------------------


def lock_head() -> FeedHead:
    """Take the feed writers' lock until the current transaction ends (creating the row if a
    test flush removed it). Must be called inside a transaction."""
    try:
        return FeedHead.objects.select_for_update().get(pk=FEED_HEAD_PK)
    except FeedHead.DoesNotExist:
        try:
            with transaction.atomic():
                FeedHead.objects.create(pk=FEED_HEAD_PK)
        except IntegrityError:
            pass  # another writer created it first
        return FeedHead.objects.select_for_update().get(pk=FEED_HEAD_PK)


def publish(
    entries: Iterable[Entry],
    *,
    skip_unchanged: bool = False,
    savepoint: bool = True,
    ids: bool = True,
) -> list[int]:
    """Write feed rows in the caller's transaction, under the writers' lock; their ids (none
    with ``ids=False``: on PostgreSQL the rows then go by binary COPY).

    ``skip_unchanged``: leave out an entry whose kind and payload equal the last row written for
    the same entity (a KB item saved for a vote, a category saved without change).
    ``savepoint=False``: no savepoint of its own inside the caller's transaction (two round
    trips fewer), for a caller that rolls back whole when anything in it fails (the intake).
    """
    entries = list(entries)
    if not entries:
        return []
    with transaction.atomic(savepoint=savepoint):
        lock_head()
        if skip_unchanged:
            entries = [entry for entry in entries if not _same_as_last(entry)]
        now = timezone.now()
        # The intake echoes a row per visit of a batch: written like its other rows, in bulk.
        rows = [
            (
                entry.branch.pk if entry.branch else None,
                entry.kind,
                entry.entity_id,
                entry.payload,
                now,
            )
            for entry in entries
        ]
        return _feed_rows().insert(rows, returning=ids)


@functools.cache
def _feed_rows() -> RowInserter:
    return RowInserter(FeedItem, ["branch", "kind", "entity_id", "payload", "created"])


def _same_as_last(entry: Entry) -> bool:
    family = entry.kind.rsplit(".", 1)[0]
    last = (
        FeedItem.objects.filter(
            branch=entry.branch,
            entity_id=entry.entity_id,
            kind__in=(f"{family}.upsert", f"{family}.delete"),
        )
        .order_by("-id")
        .values_list("kind", "payload")
        .first()
    )
    return last is not None and last == (entry.kind, entry.payload)


def head() -> int:
    """The highest feed id committed (0 when the feed is empty)."""
    return FeedItem.objects.aggregate(head=Max("id"))["head"] or 0


def ensure_started() -> int:
    """The head, after writing a first ``feed.start`` marker if the feed is empty.

    Why: cursor 0 means "never synced" and gets a snapshot; the snapshot must move the branch's
    cursor above 0, or every pull would be a snapshot again until something else is published.
    """
    current = head()
    if current:
        return current
    with transaction.atomic():
        lock_head()
        current = head()
        if not current:
            current = publish([Entry(None, "feed.start", "", {})])[0]
    return current


def visible_items(branch: Branch, *, after: int, up_to: int) -> QuerySet[FeedItem]:
    """Feed rows a branch sees, in id order: its own and the broadcast ones. Never the
    ``feed.start`` marker: it only moves cursors above 0 (a page's cursor still passes it), and
    with no entity it is not an item the protocol can carry (a branch whose cursor was below it,
    after central's database was restored, was sent a page its codec refused, again and again)."""
    return (
        FeedItem.objects.filter(
            Q(branch=branch) | Q(branch__isnull=True), id__gt=after, id__lte=up_to
        )
        .exclude(kind="feed.start")
        .order_by("id")
    )


# --- reference data -----------------------------------------------------------------------------


def category_entry(category: ServiceCategory) -> Entry:
    return Entry(
        None,
        payloads.CATEGORY_UPSERT,
        str(category.pk),
        payloads.CategoryUpsert(
            id=category.pk,
            code=category.code,
            kind=category.kind,
            parent=category.parent.code if category.parent_id else None,
            name_id=category.name_id,
            name_en=category.name_en,
            queue_letter=category.queue_letter,
            order=category.order,
            active=category.active,
        ).as_payload(),
    )


def channel_entry(channel: Channel) -> Entry:
    return Entry(
        None,
        payloads.CHANNEL_UPSERT,
        str(channel.pk),
        payloads.ChannelUpsert(
            id=channel.pk,
            code=channel.code,
            name_id=channel.name_id,
            name_en=channel.name_en,
            online=channel.online,
            order=channel.order,
        ).as_payload(),
    )


def kb_category_entry(category: KBCategory) -> Entry:
    if not category.public:
        return Entry(
            None, "kb_category.delete", str(category.pk), payloads.Deleted(category.pk).as_payload()
        )
    return Entry(
        None,
        payloads.KB_CATEGORY_UPSERT,
        str(category.pk),
        payloads.KbCategoryUpsert(
            id=category.pk,
            slug=category.slug,
            name=category.name,
            title=category.title,
            description=category.description,
            # KB texts are written in one language; the queue's locale says which, if any.
            language=(category.queue.locale if category.queue_id else None) or "",
        ).as_payload(),
    )


def kb_item_entry(item: KBItem, category: KBCategory) -> Entry:
    if not (item.enabled and category.public):
        return Entry(None, "kb.delete", str(item.pk), payloads.Deleted(item.pk).as_payload())
    return Entry(
        None,
        payloads.KB_UPSERT,
        str(item.pk),
        payloads.KbUpsert(
            id=item.pk,
            category=category.pk,
            title=item.title,
            question=item.question,
            answer=item.answer,
            order=item.order,
            updated=item.last_updated.isoformat() if item.last_updated else None,
        ).as_payload(),
    )


def publish_reference(instance: object) -> None:
    """A reference row was saved: publish its new state (or its removal) to every branch."""
    if isinstance(instance, ServiceCategory):
        entries = [category_entry(instance)]
    elif isinstance(instance, Channel):
        entries = [channel_entry(instance)]
    elif isinstance(instance, KBCategory):
        # A category made public again brings its items back; unchanged ones are skipped.
        entries = [kb_category_entry(instance)]
        if instance.public:
            entries += [kb_item_entry(item, instance) for item in instance.kbitem_set.all()]
    elif isinstance(instance, KBItem):
        entries = [kb_item_entry(instance, instance.category)]
    else:
        raise TypeError(f"not reference data: {type(instance).__name__}")
    publish(entries, skip_unchanged=True)


def retract_reference(instance: object) -> None:
    """A reference row was deleted: every branch drops it."""
    kinds = {
        ServiceCategory: "category.delete",
        Channel: "channel.delete",
        KBCategory: "kb_category.delete",
        KBItem: "kb.delete",
    }
    kind = kinds.get(type(instance))
    if kind is None:
        raise TypeError(f"not reference data: {type(instance).__name__}")
    pk = instance.pk  # type: ignore[attr-defined]
    publish([Entry(None, kind, str(pk), payloads.Deleted(pk).as_payload())], skip_unchanged=True)


# --- tickets that came from a branch ------------------------------------------------------------


# The status each visit outcome leaves a ticket in when only the branch's own ops touched it.
AS_BRANCH_LEFT: dict[str, tuple[int, ...]] = {
    Visit.Outcome.WAITING: (Ticket.OPEN_STATUS,),
    Visit.Outcome.NO_SHOW: (Ticket.CLOSED_STATUS,),
    Visit.Outcome.RESOLVED: (Ticket.RESOLVED_STATUS,),
    Visit.Outcome.REFERRED: (Ticket.RESOLVED_STATUS,),
}
BRANCH_OWNER = ownership.BRANCH
CENTRAL_OWNER = ownership.CENTRAL


def ticket_owner(ticket: Ticket, visit: Visit | None) -> str:
    """Whose the ticket of a visit is (DESIGN.md, ownership; the rule is ``sync.ownership.owner``):
    the branch's until the visit is escalated or central changes its status away from what the
    branch's ops left; then central's."""
    outcome = None if visit is None else str(visit.outcome)
    left = AS_BRANCH_LEFT.get(outcome or "", ())
    return ownership.owner(outcome, ticket.status in left)


def visit_ticket(ticket: Ticket, visit: Visit) -> ownership.VisitTicket:
    """The visit's ticket as ``sync.ownership.decide`` reads it."""
    return ownership.VisitTicket(str(visit.outcome), ticket_owner(ticket, visit))


def _status_labels(language: str) -> dict[int, str]:
    with translation.override(language):
        return {code: str(label) for code, label in Ticket.STATUS_CHOICES}


def ticket_status_entry(
    branch: Branch,
    ticket: Ticket,
    pst: PSTTicket,
    labels: dict[str, dict[int, str]] | None = None,
    codes: dict[int, str] | None = None,
) -> Entry:
    """The status of a branch's ticket as central sees it (labels in the queue's language);
    ``labels`` caches the status names per language over many tickets, ``codes`` the service
    codes of the visit facts a branch-owned ticket carries (services/visit_facts.py)."""
    language = ticket.queue.locale or settings.LANGUAGE_CODE
    labels = {} if labels is None else labels
    if language not in labels:
        labels[language] = _status_labels(language)
    label = labels[language].get(ticket.status, str(ticket.status))
    visit = getattr(pst, "visit", None)
    owner = ticket_owner(ticket, visit)
    return Entry(
        branch,
        payloads.TICKET_STATUS,
        pst.origin_id,
        {
            **payloads.TicketStatus(
                ticket_id=ticket.pk,
                status=ticket.status,
                status_label=label,
                open=ticket.status in Ticket.OPEN_STATUSES,
                owner=owner,
                at=(ticket.modified or timezone.now()).isoformat(),
            ).as_payload(),
            # A branch-owned ticket also carries its visit's desk facts (``sync.recovery``), so
            # a branch that lost the visit re-creates it.
            **visit_facts(visit, branch_owned=owner == BRANCH_OWNER, codes=codes),
        },
    )


def publish_ticket_states(
    branch: Branch,
    tickets: Sequence[tuple[Ticket, PSTTicket]],
    codes: dict[int, str] | None = None,
) -> None:
    """``tickets``: pairs whose PSTTicket has its visit loaded (select_related) or set. Called by
    the intake, whose transaction is all or nothing: no savepoint of its own. ``codes``: the
    service codes by id, if the caller has them (else read once)."""
    labels: dict[str, dict[int, str]] = {}
    codes = {} if codes is None else dict(codes)
    entries = [ticket_status_entry(branch, ticket, pst, labels, codes) for ticket, pst in tickets]
    publish(entries, savepoint=False, ids=False)


def publish_followup(followup: FollowUp, *, sender: object = None) -> list[int]:
    """Central changed a ticket through helpdesk (``update_ticket_done``): if the ticket came from
    a branch, tell that branch its new status and any public reply from staff."""
    if sender == signals.INTAKE_SENDER:
        return []  # the branch's own news, already known there
    pst = (
        PSTTicket.objects.filter(ticket_id=followup.ticket_id, branch__isnull=False)
        .exclude(origin_id="")
        .select_related("branch", "ticket__queue", "visit")
        .first()
    )
    if pst is None or pst.branch is None:
        return []
    ticket = pst.ticket
    entries = []
    if followup.new_status is not None:
        entries.append(ticket_status_entry(pst.branch, ticket, pst))
    if followup.public and followup.comment and followup.direction == FollowUp.DIRECTION_OUTBOUND:
        entries.append(
            Entry(
                pst.branch,
                payloads.TICKET_REPLY,
                pst.origin_id,
                payloads.TicketReply(
                    ticket_id=ticket.pk,
                    followup_id=followup.pk,
                    comment=followup.comment,
                    at=followup.date.isoformat(),
                ).as_payload(),
            )
        )
    return publish(entries)


# --- reading: snapshot and retention ------------------------------------------------------------


def needs_snapshot(cursor: int, current_head: int) -> bool:
    if cursor <= 0 or cursor > current_head:
        return True
    pruned_through = (
        FeedHead.objects.filter(pk=FEED_HEAD_PK).values_list("pruned_through", flat=True).first()
    )
    return cursor < (pruned_through or 0)


def snapshot_entries(
    branch: Branch, *, cursor: int, up_to: int, now: dt.datetime | None = None
) -> list[tuple[int, Entry]]:
    """Everything the feed tells a branch, as it stands now, as ``(feed id, entry)`` (sync/store.py,
    ``ChangesPage``): every live reference entity and the status of the branch's tickets, each
    with the id of its newest row (``up_to`` for data no row ever carried, such as what
    migrations seeded); then the replies to the branch still kept after ``cursor`` (replies are
    events, not state: older ones went with retention).

    Tickets: those central owns or left in another status than the branch's own ops did, those
    still open, and those of visits or changes within the feed retention window; older tickets
    in the state the branch's own ops left them are what the branch holds already.
    """
    now = now or timezone.now()
    entries: list[Entry] = []
    entries += [
        category_entry(category)
        for category in ServiceCategory.objects.select_related("parent").order_by("pk")
    ]
    entries += [channel_entry(channel) for channel in Channel.objects.order_by("pk")]
    public_categories = {
        category.pk: category
        for category in KBCategory.objects.filter(public=True).select_related("queue")
    }
    entries += [kb_category_entry(category) for category in public_categories.values()]
    items = KBItem.objects.filter(enabled=True, category_id__in=list(public_categories))
    entries += [
        kb_item_entry(item, public_categories[item.category_id]) for item in items.order_by("pk")
    ]
    outcome = "visit__outcome"
    status = "ticket__status"
    as_branch_left = Q(pk__in=[])
    for visit_outcome, statuses in AS_BRANCH_LEFT.items():
        as_branch_left |= Q(**{outcome: visit_outcome, f"{status}__in": statuses})
    window = now - dt.timedelta(days=retention_days() + 1)
    tickets = (
        PSTTicket.objects.filter(branch=branch)
        .exclude(origin_id="")
        .filter(
            Q(**{outcome: Visit.Outcome.ESCALATED})
            | ~as_branch_left
            | Q(ticket__status__in=Ticket.OPEN_STATUSES)
            | Q(ticket__modified__gte=window)
            | Q(visit__service_day__gte=window.date())
        )
        .select_related("ticket__queue", "visit")
        .order_by("ticket_id")
    )
    labels: dict[str, dict[int, str]] = {}
    codes: dict[int, str] = {}
    entries += [ticket_status_entry(branch, pst.ticket, pst, labels, codes) for pst in tickets]
    from pst_helpdesk_ext.services import appointments

    entries += appointments.snapshot_entries(branch, now)
    newest = {
        (_family(kind), entity_id): feed_id
        for kind, entity_id, feed_id in visible_items(branch, after=0, up_to=up_to)
        .exclude(kind="ticket.reply")
        .values_list("kind", "entity_id")
        .annotate(newest=Max("id"))
        .values_list("kind", "entity_id", "newest")
    }
    snapshot = [(newest.get((_family(e.kind), e.entity_id), up_to), e) for e in entries]
    replies = FeedItem.objects.filter(
        branch=branch, kind="ticket.reply", id__gt=max(cursor, 0), id__lte=up_to
    ).order_by("id")
    snapshot += [
        (item.pk, Entry(branch, item.kind, item.entity_id, item.payload)) for item in replies
    ]
    return snapshot


def _family(kind: str) -> str:
    """Rows about one entity: ``category.upsert`` and ``category.delete`` are one family."""
    return kind if kind.startswith("ticket.") else kind.rpartition(".")[0]


logger = logging.getLogger("pst.feed")
PRUNE_BATCH = 500


def prune(*, now: dt.datetime | None = None, keep_days: int | None = None) -> int:
    """Delete feed rows older than the retention; returns how many. Branches whose cursor falls
    below the pruned ids get a snapshot on their next pull.

    One row the database refuses to delete never stops the prune: the rows go in batches, a
    batch that fails is retried row by row, and a row that still fails is logged with its id and
    the reason and left for the next prune (a branch below it gets a snapshot all the same)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=retention_days() if keep_days is None else keep_days)
    with transaction.atomic():
        feed_head = lock_head()
        old = FeedItem.objects.filter(created__lt=cutoff)
        through = old.aggregate(through=Max("id"))["through"]
        if through is None:
            return 0
        # Every id up to ``through`` counts as possibly gone, even a younger one below it.
        deleted = failed = 0
        try:
            with transaction.atomic():
                deleted = FeedItem.objects.filter(id__lte=through).delete()[0]
        except DatabaseError as exc:
            logger.warning("feed prune: one delete failed (%s); deleting row by row", exc)
            ids = list(
                FeedItem.objects.filter(id__lte=through).order_by("id").values_list("id", flat=True)
            )
            for start in range(0, len(ids), PRUNE_BATCH):
                done, bad = _delete_isolated(ids[start : start + PRUNE_BATCH])
                deleted, failed = deleted + done, failed + bad
        if failed:
            logger.error("feed prune: %d rows skipped after an error (ids in the log)", failed)
        feed_head.pruned_through = max(feed_head.pruned_through, through)
        feed_head.pruned_at = now
        feed_head.save(update_fields=["pruned_through", "pruned_at"])
        return deleted


def _delete_isolated(ids: list[int]) -> tuple[int, int]:
    """Delete feed rows ``ids``; (deleted, skipped). A failing batch is retried row by row."""
    try:
        with transaction.atomic():
            return FeedItem.objects.filter(id__in=ids).delete()[0], 0
    except DatabaseError as exc:
        if len(ids) == 1:
            logger.error("feed prune: row %s skipped: %s: %s", ids[0], type(exc).__name__, exc)
            return 0, 1
    deleted = failed = 0
    for one in ids:
        done, bad = _delete_isolated([one])
        deleted, failed = deleted + done, failed + bad
    return deleted, failed

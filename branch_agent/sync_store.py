"""``sync.store.BranchStore`` on the agent's SQLite store, plus the sync state the UI shows.

Rules:
- Every method is one IMMEDIATE transaction: it happens completely or not at all.
- Acknowledged ops leave the outbox but stay in the store, marked, for as long as the guest book
  keeps its personal data here (``[retention] local_retention_days``): if central is restored
  from an older backup, they are what the branch sends again (protocol 6.6). The retention
  housekeeping deletes them with the rest of the old personal data. Rejected ops stay, marked,
  for staff.
- ``seq`` never goes back: it is raised above central's high-water mark and pending ops are
  renumbered when central already used their numbers (a store restored from a backup). The one
  exception is central restored from an older backup (``resend_acknowledged``): then central will
  never see the numbers it lost, and the outbox and next seq move down to follow its mark.
- The down-feed is applied idempotently: a normal page only applies items above the stored
  cursor; a snapshot applies only if it was made for the stored cursor, and replaces the
  reference data. Feed kinds this agent does not know are skipped (newer central), never fatal.
  Payloads are read through their ``sync.feed`` dataclasses (lenient parsing, see there).
- This module runs in the sync worker's thread; it never runs in a web request.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from django.db import connection
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from branch_agent import outbox
from branch_agent.models import (
    KnowledgeArticle,
    KnowledgeCategory,
    OutboxOp,
    ServiceCategory,
    SyncState,
    TicketUpdate,
    Visit,
)
from branch_agent.recovery import recover_visit
from sync import feed
from sync.ops import Op
from sync.store import ChangesPage, FeedEntry, Rejection

log = logging.getLogger("branch_agent.sync")

REFERENCE_KINDS = feed.REFERENCE_FAMILIES
TICKET_KINDS = frozenset({feed.TICKET_STATUS, feed.TICKET_REPLY})
OP_HEAD = ("op_id", "seq", "kind", "entity_id", "hlc")  # Op's fields but the payload, in order
CENTRAL_FIELDS = ("central_ticket_id", "central_status", "central_open", "central_updated_at")
IN_CHUNK = 500  # ids in one ``IN (...)``: under SQLite's oldest limit of 999 parameters


def _state() -> SyncState:
    return SyncState.objects.select_for_update().get(id=1)


class SqliteBranchStore:
    """The branch's side of the sync contract, on the Django models of this agent."""

    # --- outbox ------------------------------------------------------------------------------

    def __init__(self) -> None:
        # The payloads of the ops the last ``pending_ops`` returned, by op id. An op's payload
        # never changes once written (its seq may, when the outbox is renumbered, so that is
        # always read), and the worker asks again for its whole window at every refill: only the
        # ops new to the window have their JSON read and decoded.
        self._payloads: dict[str, Any] = {}

    def pending_ops(self, limit: int) -> list[Op]:
        heads = list(
            OutboxOp.objects.filter(state=OutboxOp.State.PENDING)
            .order_by("seq")
            .values_list(*OP_HEAD)[:limit]
        )
        payloads = dict(self._payloads)
        new = {head[0]: head[1] for head in heads if head[0] not in payloads}
        if new:
            # The new ops' rows by their seq range (no long ``IN`` list); the JSON decoded by
            # msgspec, several times faster than the JSONField's ``json.loads``.
            texts = (
                OutboxOp.objects.filter(
                    state=OutboxOp.State.PENDING,
                    seq__gte=min(new.values()),
                    seq__lte=max(new.values()),
                )
                .annotate(text=Cast("payload", TextField()))
                .values_list("op_id", "text")
            )
            payloads.update((op_id, _decode_json(text)) for op_id, text in texts if op_id in new)
        # Only the worker's thread acknowledges or deletes pending ops, so every head has its
        # payload; one that had not would be left for the next call.
        ops = [Op(*head, payload=payloads[head[0]]) for head in heads if head[0] in payloads]
        self._payloads = {op.op_id: op.payload for op in ops}
        return ops

    def pending_count(self) -> int:
        return OutboxOp.objects.filter(state=OutboxOp.State.PENDING).count()

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        now = timezone.now()
        with outbox.write():
            state = _state()
            if op_ids:
                OutboxOp.objects.filter(
                    op_id__in=list(op_ids), state=OutboxOp.State.PENDING
                ).update(state=OutboxOp.State.ACKED, done_at=now)
            for rejection in rejected:
                OutboxOp.objects.filter(op_id=rejection.op_id, state=OutboxOp.State.PENDING).update(
                    state=OutboxOp.State.REJECTED,
                    reject_code=rejection.code[:40],
                    reject_message=rejection.message,
                    done_at=now,
                )
                log.warning("central rejected op op_id=%s code=%s", rejection.op_id, rejection.code)
            # Every op in the outbox has a seq below ``next_seq`` (``outbox.record`` and every
            # renumbering keep it so), so only central's mark can raise it here: no MAX query.
            state.next_seq = max(state.next_seq, hwm_seq + 1)
            state.central_hwm = max(state.central_hwm, hwm_seq)
            state.last_success_at = now
            state.save(update_fields=["next_seq", "central_hwm", "last_success_at"])

    @staticmethod
    def _raise(state: SyncState, hwm_seq: int) -> None:
        top = OutboxOp.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        state.next_seq = max(state.next_seq, hwm_seq + 1, top + 1)

    def raise_next_seq(self, hwm_seq: int) -> None:
        with outbox.write():
            state = _state()
            self._raise(state, hwm_seq)
            state.central_hwm = max(state.central_hwm, hwm_seq)
            state.save(update_fields=["next_seq", "central_hwm"])

    def renumber_pending(self, after_seq: int) -> None:
        with outbox.write():
            state = _state()
            pending = list(
                OutboxOp.objects.filter(state=OutboxOp.State.PENDING)
                .order_by("seq")
                .values_list("op_id", flat=True)
            )
            # Two steps so the unique seq never collides midway: park, then renumber.
            OutboxOp.objects.filter(op_id__in=pending).update(seq=-F("seq"))
            for offset, op_id in enumerate(pending, start=1):
                OutboxOp.objects.filter(op_id=op_id).update(seq=after_seq + offset)
            state.next_seq = max(state.next_seq, after_seq + len(pending) + 1)
            state.save(update_fields=["next_seq"])
            if pending:
                log.warning(
                    "renumbered %d pending ops after seq %d (central already had their numbers)",
                    len(pending),
                    after_seq,
                )

    def resend_acknowledged(self, after_seq: int) -> int:
        """Central was restored from a backup and lost ops it had acknowledged (its mark
        ``after_seq`` is below them). Every acknowledged op still held (accepted ones for the local
        retention period, rejected ones until staff clear them) goes back into the outbox with its
        op id, in seq order (central no longer has it: it applies an accepted one again, and
        rejects a rejected one again). The outbox is renumbered from ``after_seq + 1`` and the
        next seq follows it: the one place the next seq goes down, so new ops are not parked
        behind numbers central will never see again."""
        with outbox.write():
            state = _state()
            held = OutboxOp.objects.filter(seq__gt=after_seq).exclude(state=OutboxOp.State.PENDING)
            back = list(held.values_list("op_id", flat=True))
            held.update(
                state=OutboxOp.State.PENDING,
                reject_code="",
                reject_message="",
                done_at=None,
            )
            ops = list(
                OutboxOp.objects.filter(state=OutboxOp.State.PENDING)
                .order_by("seq")
                .values_list("op_id", flat=True)
            )
            # Two steps so the unique seq never collides midway: park, then renumber.
            OutboxOp.objects.filter(op_id__in=ops).update(seq=-F("seq"))
            for offset, op_id in enumerate(ops, start=1):
                OutboxOp.objects.filter(op_id=op_id).update(seq=after_seq + offset)
            state.next_seq = after_seq + len(ops) + 1
            state.central_hwm = after_seq
            state.save(update_fields=["next_seq", "central_hwm"])
        log.error(
            "central lost acknowledged ops above seq %d (restored from a backup): %d acknowledged"
            " ops sent again, %d waiting ops renumbered from seq %d",
            after_seq,
            len(back),
            len(ops) - len(back),
            after_seq + 1,
        )
        return len(back)

    def record_central_lost(
        self, *, first_seq: int, last_seq: int, resent: int, unrecoverable: int
    ) -> None:
        """Keep what central lost for the Sync page and ``status`` until staff mark it handled."""
        with outbox.write():
            state = _state()
            state.central_lost_at = timezone.now()
            state.central_lost_first_seq = first_seq
            state.central_lost_last_seq = last_seq
            state.central_lost_resent = resent
            state.central_lost_unrecoverable = unrecoverable
            state.save(
                update_fields=[
                    "central_lost_at",
                    "central_lost_first_seq",
                    "central_lost_last_seq",
                    "central_lost_resent",
                    "central_lost_unrecoverable",
                ]
            )

    def next_seq(self) -> int:
        return SyncState.objects.get(id=1).next_seq

    def feed_cursor(self) -> int:
        return SyncState.objects.get(id=1).feed_cursor

    # --- down-feed ---------------------------------------------------------------------------

    def apply_changes(self, page: ChangesPage) -> None:
        if not page.snapshot and not page.items and page.to_cursor <= self.feed_cursor():
            return  # an empty page at the cursor: nothing to write (no fsync every pull)
        with outbox.write():
            state = _state()
            cursor = state.feed_cursor
            if page.snapshot:
                if page.from_cursor != cursor:
                    log.info(
                        "stale snapshot for cursor %d ignored (at %d)", page.from_cursor, cursor
                    )
                    return
                self._replace_reference(page.items)
                self._apply_items(page.items)
                state.feed_cursor = page.to_cursor
            else:
                self._apply_items([item for item in page.items if item.feed_id > cursor])
                state.feed_cursor = max(cursor, page.to_cursor)
            state.last_success_at = timezone.now()
            state.save(update_fields=["feed_cursor", "last_success_at"])

    def _replace_reference(self, items: Sequence[FeedEntry]) -> None:
        """A snapshot is the whole reference state: drop what it no longer holds."""

        def kept(kind: str) -> set[int]:
            return {feed.Deleted.parse(i.payload).id for i in items if i.kind == kind}

        kept_categories = kept(feed.CATEGORY_UPSERT)
        ServiceCategory.objects.exclude(central_id__in=kept_categories).exclude(
            central_id__isnull=True
        ).update(active=False)
        kept_kb_categories = kept(feed.KB_CATEGORY_UPSERT)
        kept_articles = kept(feed.KB_UPSERT)
        KnowledgeArticle.objects.exclude(central_id__in=kept_articles).delete()
        KnowledgeCategory.objects.exclude(central_id__in=kept_kb_categories).delete()

    def _apply_items(self, items: Sequence[FeedEntry]) -> None:
        """The items in feed order; the ticket rows' reads and writes are gathered for the page
        (``_TicketWrites``): a fixed number of queries, however many rows name visits."""
        tickets = _TicketWrites(items)
        for item in items:
            if item.kind in TICKET_KINDS:
                handler = getattr(self, "_on_" + item.kind.replace(".", "_"))
                handler(item, tickets)
            else:
                self._apply(item)
        tickets.write()

    def _apply(self, item: FeedEntry) -> None:
        handler = getattr(self, "_on_" + item.kind.replace(".", "_"), None)
        if handler is None:
            if item.kind.split(".")[0] not in REFERENCE_KINDS and item.kind != feed.FEED_START:
                log.info("skipping feed item of unknown kind %s", item.kind)
            return
        handler(item)

    def _on_category_upsert(self, item: FeedEntry) -> None:
        p = feed.CategoryUpsert.parse(item.payload)
        code = p.code
        if not code or p.kind not in ServiceCategory.Kind.values:
            log.warning("category.upsert without code or kind skipped: %s", item.entity_id)
            return
        central_id = p.id or None
        # A code renamed at central: the row holding the central id gives it up first.
        ServiceCategory.objects.filter(central_id=central_id).exclude(code=code).update(
            central_id=None
        )
        letter = p.queue_letter.upper()
        ServiceCategory.objects.update_or_create(
            code=code,
            defaults={
                "central_id": central_id,
                "kind": p.kind,
                "name_id": p.name_id or code,
                "name_en": p.name_en or code,
                "queue_letter": letter if letter.isalpha() else "",
                "order": max(0, p.order),
                "active": p.active,
                "updated_at": timezone.now(),
            },
        )

    def _on_category_delete(self, item: FeedEntry) -> None:
        # Visits keep pointing at the category, so it is retired rather than deleted.
        ServiceCategory.objects.filter(central_id=feed.Deleted.parse(item.payload).id).update(
            active=False
        )

    def _on_kb_category_upsert(self, item: FeedEntry) -> None:
        p = feed.KbCategoryUpsert.parse(item.payload)
        KnowledgeCategory.objects.update_or_create(
            central_id=p.id,
            defaults={
                "slug": p.slug,
                "name": p.name,
                "title": p.title,
                "description": p.description,
                "language": p.language,
            },
        )

    def _on_kb_category_delete(self, item: FeedEntry) -> None:
        KnowledgeCategory.objects.filter(central_id=feed.Deleted.parse(item.payload).id).delete()

    def _on_kb_upsert(self, item: FeedEntry) -> None:
        p = feed.KbUpsert.parse(item.payload)
        category_id = p.category or None
        if category_id and not KnowledgeCategory.objects.filter(central_id=category_id).exists():
            category_id = None
        KnowledgeArticle.objects.update_or_create(
            central_id=p.id,
            defaults={
                "category_id": category_id,
                "title": p.title,
                "question": p.question,
                "answer": p.answer,
                "order": p.order,
                "updated_at": p.updated,
            },
        )

    def _on_kb_delete(self, item: FeedEntry) -> None:
        KnowledgeArticle.objects.filter(central_id=feed.Deleted.parse(item.payload).id).delete()

    def _on_appointment_upsert(self, item: FeedEntry) -> None:
        from branch_agent import appointments

        appointments.apply_feed(item.payload)

    def _on_ticket_status(self, item: FeedEntry, tickets: _TicketWrites) -> None:
        p = feed.TicketStatus.parse(item.payload)
        visit = tickets.visit(item.entity_id)
        if visit is None and p.owned_by_branch:
            visit = recover_visit(item)  # this PC lost it (issue 17); None: kept as news below
            if visit is not None:
                tickets.recovered(visit)
        label = p.status_label
        at = p.at_time or timezone.now()
        if visit is not None:
            if (visit.central_status, visit.central_open) == (label, item.payload.get("open")):
                return  # the same state again (a snapshot): nothing new for the desk
            visit.central_ticket_id = p.ticket_id or visit.central_ticket_id
            visit.central_status = label
            visit.central_open = p.open
            visit.central_updated_at = at
            tickets.changed(visit)
        if p.owned_by_branch and visit is not None:
            return  # the branch's own outcome echoed back: kept on the visit, no news for staff
        tickets.news(
            TicketUpdate(
                key=f"status:{item.entity_id}:{p.status}:{p.at}",
                feed_id=item.feed_id,
                visit=visit,
                entity_id=item.entity_id,
                kind=item.kind,
                status=label,
                at=at,
            )
        )

    def _on_ticket_reply(self, item: FeedEntry, tickets: _TicketWrites) -> None:
        p = feed.TicketReply.parse(item.payload)
        visit = tickets.visit(item.entity_id)
        tickets.news(
            TicketUpdate(
                key=f"reply:{item.entity_id}:{p.followup_id or item.feed_id}",
                feed_id=item.feed_id,
                visit=visit,
                entity_id=item.entity_id,
                kind=item.kind,
                text=p.comment,
                at=p.at_time or timezone.now(),
            )
        )
        if visit is not None:
            visit.central_updated_at = timezone.now()
            tickets.changed(visit)

    # --- what the UI shows (written by the worker) -------------------------------------------

    def record_attempt(self, *, online: bool, error: str = "") -> None:
        now = timezone.now()
        values: dict[str, Any] = {
            "online": online,
            "last_attempt_at": now,
            "last_error": error[:2000],
        }
        if online:
            values["last_success_at"] = now  # the link is up and answering: in sync as of now
        with outbox.write():
            SyncState.objects.filter(id=1).update(**values)

    def record_success(self) -> None:
        with outbox.write():
            now = timezone.now()
            SyncState.objects.filter(id=1).update(
                online=True, last_attempt_at=now, last_success_at=now, last_error=""
            )

    def record_welcome(self, *, hwm_seq: int, clock_skew_seconds: float | None) -> None:
        with outbox.write():
            SyncState.objects.filter(id=1).update(
                central_hwm=hwm_seq,
                clock_skew_seconds=None
                if clock_skew_seconds is None
                else round(clock_skew_seconds),
            )

    def last_hlc(self) -> int:
        return SyncState.objects.get(id=1).last_hlc


def _decode_json(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:  # a number msgspec cannot hold (over 64 bits): as the ORM reads it
        return json.loads(text)


def _visit_id(entity_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(entity_id)
    except ValueError:
        return None


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


class _TicketWrites:
    """The visits and ticket news of one feed page, read and written a page at a time.

    Made before the page's items are applied: one query (per ``IN_CHUNK`` ids) reads every visit
    the page's ticket rows name. The handlers then read and change those visits in memory, in
    feed order, exactly as they would the rows; ``write`` (at the end of the page, in its
    transaction) updates the changed visits' central fields and inserts the news no earlier page
    or row wrote: a key already stored, or written earlier in the page, is left as it is (what
    ``get_or_create`` per row did), so the same news is never written twice."""

    def __init__(self, items: Sequence[FeedEntry]) -> None:
        ids = sorted(
            {
                visit_id
                for item in items
                if item.kind in TICKET_KINDS and (visit_id := _visit_id(item.entity_id))
            }
        )
        self._visits: dict[uuid.UUID, Visit] = {}
        for chunk in _chunks(ids):
            for visit in Visit.objects.filter(pk__in=chunk).only("id", *CENTRAL_FIELDS):
                self._visits[visit.pk] = visit
        self._changed: dict[uuid.UUID, Visit] = {}
        self._news: dict[str, TicketUpdate] = {}

    def visit(self, entity_id: str) -> Visit | None:
        visit_id = _visit_id(entity_id)
        return None if visit_id is None else self._visits.get(visit_id)

    def recovered(self, visit: Visit) -> None:
        """A visit ``recover_visit`` wrote: later rows of the page find it."""
        self._visits[visit.pk] = visit

    def changed(self, visit: Visit) -> None:
        self._changed[visit.pk] = visit

    def news(self, update: TicketUpdate) -> None:
        self._news.setdefault(update.key, update)  # the first row of a key wins, as before

    def write(self) -> None:
        if self._changed:
            _update_central_fields(list(self._changed.values()))
        if not self._news:
            return
        stored: set[str] = set()
        for chunk in _chunks(list(self._news)):
            stored.update(TicketUpdate.objects.filter(key__in=chunk).values_list("key", flat=True))
        TicketUpdate.objects.bulk_create(
            [update for key, update in self._news.items() if key not in stored]
        )


def _update_central_fields(visits: list[Visit]) -> None:
    """One prepared ``UPDATE ... WHERE id = ?`` run for every visit (``executemany``): the
    visits' central fields as they are in memory, each value prepared by its model field as
    ``save`` prepares it. (``bulk_update``'s ``CASE WHEN`` per row costs more in Python, building
    the expression, than all the rows cost SQLite.)"""
    meta = Visit._meta
    fields = [meta.get_field(name) for name in CENTRAL_FIELDS]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {table} SET {columns} WHERE {pk} = %s"  # noqa: S608 - the model's own names
    rows = [
        [field.get_db_prep_save(getattr(visit, field.attname), connection) for field in fields]
        + [meta.pk.get_db_prep_value(visit.pk, connection)]
        for visit in visits
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)

"""``CentralStore`` (sync/store.py) on the central site's database.

What it owns: the durable side of the central sync core, i.e. the branch's sync state and
sessions, the applied-ops ledger and reading the down-feed. Walk-in effects are the intake
service's; feed payloads are the feed service's.

Rules (DESIGN.md, "Sync", and the contract in sync/store.py):
- ``apply_batch`` is ONE transaction: lock the branch's ``BranchSyncState`` row
  (``select_for_update``; on SQLite the IMMEDIATE transaction mode serialises writers), refuse a
  stale session, read what the ledger ``AppliedOp`` (unique ``(branch, op_id)``) holds of the
  batch's op ids (one query; under the lock no other transaction can record them meanwhile),
  let ``sync.store.plan_batch`` decide op by op (the same rule as every other store), apply the
  fresh ops in seq order through the intake service in bulk (which also writes the batch's
  ``ticket.status`` feed rows), record each of them in the ledger with its outcome (applied,
  rejected with its code, noted; one binary COPY on PostgreSQL), raise ``hwm_seq`` (never lower
  it), commit, and only then return. Deferred ops leave no trace. A transient error
  (``TRANSIENT_FAULTS``: the database down or busy, or central misconfigured) rolls the whole
  batch back and raises: nothing was applied, so nothing may be acknowledged. Any other error
  while applying is an op's own (a poison op): the transaction is rolled back whole and the
  batch applied again in a new one (lock, look-up, plan as before), its fresh ops one by one,
  each in a savepoint, and the one that fails is recorded as rejected (``apply_failed``), so one
  op never jams its branch. The usual batch, where nothing fails, applies in one go without a
  savepoint (each savepoint costs two round trips).
- A revoked key or a deactivated branch is refused inside the transaction (``BranchRefused``).
- Dedup is on ``op_id``, never on ``seq``: a branch restored from a backup re-uses seq numbers;
  its fresh ops wait (deferred) until it renumbers them above the high-water mark at WELCOME.
- A re-sent op gets the answer it got the first time: accepted (applied or noted) or rejected with
  its recorded code. Re-sending anything changes nothing.
- Per-branch order comes from the row lock and the session fence, so any number of server
  processes may serve any branch on one PostgreSQL database.
- ``changes`` never skips an item: it reads the head first and then only items up to it, and
  feed writers are serialised (services/feed.py), so ids commit in order.
- Branch identity is the ``branch`` argument (the transport's authenticated ZMQ User-Id), never a
  field of a message. Database failures surface as ``StoreUnavailable`` (the branch retries).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connections,
    router,
    transaction,
)
from django.utils import translation
from django.utils.translation import gettext

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import AppliedOp, Branch, BranchSyncState
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.bulk_insert import RowInserter
from pst_helpdesk_ext.services.intake import OpOutcome, apply_walkin_ops
from sync.ops import Op
from sync.store import (
    REJECTED,
    BatchResult,
    BranchHello,
    BranchRefused,
    ChangesPage,
    FeedEntry,
    Outcome,
    StaleSession,
    StoreUnavailable,
    batch_result,
    plan_batch,
)

logger = logging.getLogger("pst.sync")

P = ParamSpec("P")
R = TypeVar("R")


def _passing_failures(method: Callable[P, R]) -> Callable[P, R]:
    """The database went away or a lock timed out: nothing committed, the branch retries."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("sync store unavailable: %s", exc)
            raise StoreUnavailable(str(exc)) from exc

    return wrapper


# The ledger gets one row per op: written like the intake's follow-ups, without model instances.
_APPLIED_OP_ROWS = RowInserter(
    AppliedOp,
    ["branch", "op_id", "seq", "kind", "entity_id", "result", "code", "detail", "applied_at"],
)


def _db_op_ids(ops: Sequence[Op]) -> dict[str, object]:
    """op id -> its value in the database (a UUID on PostgreSQL, 32 hex digits on SQLite)."""
    connection = connections[router.db_for_write(AppliedOp)]
    field = AppliedOp._meta.get_field("op_id")
    return {op.op_id: field.get_db_prep_value(op.op_id, connection) for op in ops}


def _record_outcomes(
    branch_id: int, outcomes: Sequence[OpOutcome], db_ids: dict[str, object], at: dt.datetime
) -> None:
    """The ledger's rows for the ops applied now, each with its outcome (applied, rejected with
    its code, noted), in one bulk write (a binary COPY on PostgreSQL). ``outcomes`` come in seq
    order, so the table's insert order stays the branch's order. Written under the branch's
    lock, after the look-up that found these ops unseen; the unique ``(branch, op_id)`` stays
    the backstop: a second row for an op fails the whole transaction, it never counts twice."""
    rows = [
        (
            branch_id,
            db_ids[o.op_id],
            o.seq,
            o.kind[:40],
            o.entity_id[:64],
            o.result,
            o.code[:40],
            o.detail,
            at,
        )
        for o in outcomes
    ]
    _APPLIED_OP_ROWS.insert(rows, prepared=frozenset({"op_id"}))


def _storable_outcome(outcome: OpOutcome) -> OpOutcome:
    """The outcome with its texts as the ledger can keep them, so the first answer and every
    answer to a re-send say the same. PostgreSQL refuses a NUL character in text, and the
    ledger's write is outside the intake's op-by-op retry: one NUL in an op's kind, entity id
    or in a rejection quoting its payload would fail the batch for ever (the branch re-sends
    it, every op behind it waits). The ledger is a record for staff: U+FFFD stands in."""
    texts = ("kind", "entity_id", "code", "detail")
    if not any("\x00" in getattr(outcome, name) for name in texts):
        return outcome
    clean = {name: getattr(outcome, name).replace("\x00", "\ufffd") for name in texts}
    return dataclasses.replace(outcome, **clean)


def _recorded_outcomes(branch_id: int, db_ids: dict[str, object]) -> dict[str, Outcome]:
    """What was recorded for those of the ops (``db_ids``: op id -> database form) central has
    seen from the branch.

    The same query as ``AppliedOp.objects.filter(branch=..., op_id__in=...)``, written out: the
    ORM spends more on 2,000 UUID parameters and results than the database does, once per
    batch. On PostgreSQL the ids go as one ``uuid[]`` parameter in the array's text form (a
    UUID's text is hex digits and dashes only; the database parses it, the client has one
    string to send instead of 2,000 values to quote). Ids are matched in their database form,
    so a UUID column (PostgreSQL) or its hex text (SQLite) both map back to the op ids as the
    branch sent them.
    """
    if not db_ids:
        return {}
    # The database the branch's lock is held on: this read is the dedup, so never a replica.
    connection = connections[router.db_for_write(AppliedOp)]
    by_db_value = {db_id: op_id for op_id, db_id in db_ids.items()}
    quote = connection.ops.quote_name
    column = {name: quote(AppliedOp._meta.get_field(name).column) for name in _OUTCOME_COLUMNS}
    # Identifiers from the model's meta, quoted; every value is a bound parameter.
    selected = ", ".join(column[name] for name in ("op_id", "result", "code", "detail"))
    table = quote(AppliedOp._meta.db_table)
    sql = f"SELECT {selected} FROM {table} WHERE {column['branch']} = %s"  # noqa: S608
    if connection.vendor == "postgresql":
        sql += f" AND {column['op_id']} = ANY(%s::uuid[])"
        params = [branch_id, "{" + ",".join(str(db_id) for db_id in by_db_value) + "}"]
    else:
        sql += f" AND {column['op_id']} IN ({', '.join(['%s'] * len(by_db_value))})"
        params = [branch_id, *by_db_value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        by_db_value[db_id]: Outcome(result, code, detail) for db_id, result, code, detail in rows
    }


_OUTCOME_COLUMNS = ("branch", "op_id", "result", "code", "detail")


# Faults that say nothing about the ops: the database is down or busy (connection lost, lock or
# statement timeout, deadlock, serialization failure: all OperationalError on both backends) or
# central itself is broken (a missing table or column after a half-done upgrade is a
# ProgrammingError on PostgreSQL; a missing channel row is ImproperlyConfigured): fixing central
# fixes them. The batch is retried; any other exception is the op's own fault.
TRANSIENT_FAULTS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ProgrammingError,
    ImproperlyConfigured,
)
APPLY_FAILED = "apply_failed"


class _PoisonBatch(Exception):
    """The batch failed to apply for a reason that is not transient: its transaction is rolled
    back whole and the batch is applied again, op by op (``_apply_one_by_one``)."""


def _apply_whole(
    branch: str, record: Branch, ops: Sequence[Op], received_at: dt.datetime
) -> list[OpOutcome]:
    """``apply_walkin_ops`` for the batch, in the store's transaction with no savepoint of its
    own (two round trips fewer). If it fails for a reason that is not transient (a poison op),
    ``_PoisonBatch`` rolls the whole transaction back; ``apply_batch`` then starts again and
    applies the ops one by one."""
    if not ops:
        return []
    try:
        return apply_walkin_ops(record, ops, received_at, savepoint=False)
    except TRANSIENT_FAULTS:
        raise
    except Exception as exc:  # which op is at fault is found op by op, in a new transaction
        logger.warning(
            "branch %s: a batch of %d ops failed to apply (%s); applying them one by one",
            branch,
            len(ops),
            type(exc).__name__,
        )
        raise _PoisonBatch from exc


def _apply_one_by_one(
    branch: str, record: Branch, ops: Sequence[Op], received_at: dt.datetime
) -> list[OpOutcome]:
    """The ops one by one, each in its own savepoint, so the op that fails (a poison op) is
    rejected with ``apply_failed`` and the ops behind it still apply. Nothing blocks forever."""
    outcomes: list[OpOutcome] = []
    for op in ops:
        try:
            outcomes.extend(apply_walkin_ops(record, [op], received_at))
        except TRANSIENT_FAULTS:
            raise
        except Exception as exc:  # deterministic: recorded, never retried
            # The class name only: an exception's text may quote the op's personal data.
            logger.error(
                "branch %s: op rejected code=%s op_id=%s seq=%d kind=%s error=%s",
                branch,
                APPLY_FAILED,
                op.op_id,
                op.seq,
                op.kind[:40],
                type(exc).__name__,
            )
            # In the queue's language, as the intake's own rejections are.
            with translation.override(record.queue.locale or settings.LANGUAGE_CODE):
                message = gettext(
                    "Central could not apply this %(kind)s op (%(error)s). It is recorded as "
                    "rejected and will not be retried; enter the record at central by hand if "
                    "it is needed."
                ) % {"kind": op.kind[:40], "error": type(exc).__name__}
            outcomes.append(
                OpOutcome(op.op_id, op.seq, op.kind, op.entity_id, REJECTED, APPLY_FAILED, message)
            )
    return outcomes


def _received_at(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz=dt.UTC)


def _refuse_unless_allowed(branch: Branch) -> None:
    """A deactivated branch, or one whose key was revoked after its connection was opened, is
    refused in the transaction itself: nothing of a batch in flight applies."""
    if not branch.active:
        raise BranchRefused(f"branch {branch.code} is deactivated at central")
    if branch.key_revoked_at is not None:
        raise BranchRefused(f"the key of branch {branch.code} was revoked at central")


class DjangoCentralStore:
    """The central side's durable state, on the Django database. Stateless between calls."""

    def _branch(self, code: str) -> Branch:
        branch = Branch.objects.select_related("queue").filter(code=code).first()
        if branch is None:
            raise BranchRefused(f"no branch {code!r} is enrolled at central")
        _refuse_unless_allowed(branch)
        return branch

    def _lock(self, code: str) -> BranchSyncState:
        """The branch's sync state, locked until the transaction ends, with its branch and queue
        (one query); refuses an unknown or deactivated branch."""
        locked = BranchSyncState.objects.select_related("branch__queue").select_for_update(
            of=("self",)
        )
        state = locked.filter(branch__code=code).first()
        if state is None:
            branch = self._branch(code)
            # A branch made in the admin has no state row yet; make it, race-safe.
            try:
                with transaction.atomic():
                    BranchSyncState.objects.create(branch=branch)
            except IntegrityError:
                pass
            state = locked.get(branch=branch)
        _refuse_unless_allowed(state.branch)
        return state

    # -- CentralStore

    @_passing_failures
    def hello(
        self,
        branch: str,
        *,
        boot_id: str,
        next_seq: int,
        feed_cursor: int,
        agent_version: str,
        branch_time: float,
        now: float,
    ) -> BranchHello:
        skew = round(branch_time - now)
        with transaction.atomic():
            state = self._lock(branch)
            state.session += 1  # fences off every earlier session, on every server process
            state.last_seen_at = _received_at(now)
            state.last_boot_id = boot_id[:64]
            state.agent_version = agent_version[:40]
            state.feed_cursor = feed_cursor
            state.clock_skew_seconds = skew
            state.save(
                update_fields=[
                    "session",
                    "last_seen_at",
                    "last_boot_id",
                    "agent_version",
                    "feed_cursor",
                    "clock_skew_seconds",
                ]
            )
            if next_seq <= state.hwm_seq:
                # A restored backup or a lost disk tail: the branch renumbers its outbox above
                # the high-water mark, and its feed cursor brings back the tickets' states.
                logger.warning(
                    "branch %s says next seq %d but central has applied up to %d: it lost state",
                    branch,
                    next_seq,
                    state.hwm_seq,
                )
            answer = BranchHello(
                hwm_seq=state.hwm_seq, feed_head=feed.head(), session=state.session
            )
        limit = int(pst_settings.SYNC_CLOCK_SKEW_WARN_SECONDS)
        if abs(skew) > limit:
            logger.warning(
                "branch %s clock is %+d s off central's (limit %d s); its timestamps are "
                "recorded as the branch says, durations and receive times are unaffected",
                branch,
                skew,
                limit,
            )
        return answer

    @_passing_failures
    def apply_batch(
        self, branch: str, ops: Sequence[Op], *, now: float, session: int
    ) -> BatchResult:
        received_at = _received_at(now)
        try:
            return self._apply_batch(branch, ops, received_at, session, one_by_one=False)
        except _PoisonBatch:
            # Rolled back whole; the same batch again in a new transaction, op by op.
            return self._apply_batch(branch, ops, received_at, session, one_by_one=True)

    def _apply_batch(
        self,
        branch: str,
        ops: Sequence[Op],
        received_at: dt.datetime,
        session: int,
        *,
        one_by_one: bool,
    ) -> BatchResult:
        with transaction.atomic():
            state = self._lock(branch)
            record = state.branch
            if session != state.session:
                raise StaleSession(
                    f"session {session} of branch {branch} was replaced by session "
                    f"{state.session}; say HELLO again"
                )
            # Each op id in its database form, once: the look-up and the record both use it.
            db_ids = _db_op_ids(ops)
            if len(db_ids) != len(ops):  # the codec and the core refuse this before us
                raise ValueError(f"a batch of branch {branch} holds an op id twice")
            # The dedup: what the ledger holds of these ops, read under the branch's lock, so
            # no other transaction records one of them before this one commits.
            seen = _recorded_outcomes(record.pk, db_ids)
            plan = plan_batch(state.hwm_seq, seen, ops)
            apply = _apply_one_by_one if one_by_one else _apply_whole
            outcomes = [
                _storable_outcome(o) for o in apply(branch, record, plan.fresh, received_at)
            ]
            _record_outcomes(record.pk, outcomes, db_ids, received_at)
            n_rejected = sum(1 for outcome in outcomes if outcome.result == REJECTED)
            state.hwm_seq = max(state.hwm_seq, plan.hwm_seq)
            state.applied_count += len(outcomes) - n_rejected
            state.rejected_count += n_rejected
            state.last_seen_at = received_at
            state.save(update_fields=["hwm_seq", "applied_count", "rejected_count", "last_seen_at"])
        # Committed: only now is anything acknowledged.
        result = batch_result(
            plan, {o.op_id: Outcome(o.result, o.code, o.detail) for o in outcomes}
        )
        if plan.fresh or plan.deferred:
            logger.info(
                "branch %s: %d ops applied, %d rejected, %d seen before, %d deferred, hwm %d",
                branch,
                len(outcomes) - n_rejected,
                n_rejected,
                len(plan.seen),
                len(plan.deferred),
                result.hwm_seq,
            )
        return result

    @_passing_failures
    def changes(self, branch: str, cursor: int, limit: int) -> ChangesPage:
        record = self._branch(branch)
        limit = max(1, limit)
        # The head first, then nothing above it: an item committing in between waits for the
        # next pull instead of being skipped.
        current_head = feed.head()
        if feed.needs_snapshot(cursor, current_head):
            current_head = feed.ensure_started()
            entries = feed.snapshot_entries(record, cursor=cursor, up_to=current_head)
            # One page, whatever ``limit`` says: a snapshot is only whole or useless. It is as
            # small as the reference data plus the branch's tickets central has a say on.
            items = tuple(
                FeedEntry(
                    feed_id=current_head if feed_id is None else feed_id,
                    kind=entry.kind,
                    entity_id=entry.entity_id,
                    payload=entry.payload,
                )
                for feed_id, entry in entries
            )
            return ChangesPage(
                from_cursor=cursor,
                to_cursor=current_head,
                items=items,
                more=False,
                snapshot=True,
            )
        rows = list(
            feed.visible_items(record, after=cursor, up_to=current_head)[: limit + 1].values_list(
                "id", "kind", "entity_id", "payload"
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        to_cursor = rows[-1][0] if more else current_head
        return ChangesPage(
            from_cursor=cursor,
            to_cursor=to_cursor,
            items=tuple(
                FeedEntry(feed_id=feed_id, kind=kind, entity_id=entity_id, payload=payload)
                for feed_id, kind, entity_id, payload in rows
            ),
            more=more,
        )


__all__ = ["DjangoCentralStore"]

"""Walk-in intake of desk pauses: ``desk.paused`` and ``desk.resumed`` ops become DeskPause rows.

What it owns: the two pause op kinds of one PUSH, inside the intake's batch: the intake's
dispatcher takes ``HANDLERS``, calls ``load`` once the batch is decoded and ``write`` after its own
writes (``intake/dispatch.py``).

Rules (those of the intake):
- A constant number of queries per batch: the pauses the batch names are read once, new rows are
  written with ``bulk_create`` and resumed ones with ``bulk_update``.
- ``entity_id`` is the pause id made at the branch; pauses are looked up by (branch, pause id), so
  a branch changes only its own pauses.
- An op that can never apply is rejected with a code and a message naming the value
  (``duplicate_entity`` for a second ``desk.paused`` of the same pause, ``unknown_entity`` for a
  resume of a pause central never received, ``implausible_time`` from the intake's clock check)
  and changes nothing. Times are "branch says" and kept as sent; the paused time travels and is
  stored as seconds. A pause carries no personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pst_helpdesk_ext.models import DeskPause
from sync import ops as op_kinds
from sync.ops import Op
from sync.store import APPLIED, Result

if TYPE_CHECKING:  # pragma: no cover
    from pst_helpdesk_ext.services.intake.context import Intake

KINDS = frozenset({op_kinds.DESK_PAUSED, op_kinds.DESK_RESUMED})


class PauseIntake:
    def __init__(self, intake: Intake, ops: Sequence[Op]) -> None:
        self.intake = intake
        ids = {op.entity_id for op in ops if op.kind in KINDS}
        self.known: dict[str, DeskPause] = {}
        if ids:
            self.known = {
                row.origin_id: row
                for row in DeskPause.objects.filter(branch=intake.branch, origin_id__in=ids)
            }
        self.new: dict[str, DeskPause] = {}
        self.changed: dict[str, DeskPause] = {}

    def paused(self, op: Op, p: op_kinds.DeskPaused) -> Result:
        from pst_helpdesk_ext.services.intake.context import IntakeRejection

        _ = self.intake._
        if op.entity_id in self.known or op.entity_id in self.new:
            raise IntakeRejection(
                "duplicate_entity",
                _("%(kind)s: pause %(pause)s was already received.")
                % {"kind": op.kind, "pause": op.entity_id},
            )
        started = self.intake.time("started_at", p.started_at)
        self.new[op.entity_id] = DeskPause(
            branch=self.intake.branch,
            origin_id=op.entity_id,
            desk=p.desk,
            reason=p.reason,
            service_day=started.astimezone(self.intake.tz).date(),
            started_at=started,
            received_at=self.intake.received_at,
        )
        return APPLIED

    def resumed(self, op: Op, p: op_kinds.DeskResumed) -> Result:
        from pst_helpdesk_ext.services.intake.context import IntakeRejection

        _ = self.intake._
        row = self.new.get(op.entity_id) or self.known.get(op.entity_id)
        if row is None:
            raise IntakeRejection(
                "unknown_entity",
                _("%(kind)s refers to pause %(pause)s, which central has never received.")
                % {"kind": op.kind, "pause": op.entity_id},
            )
        ended = self.intake.time("ended_at", p.ended_at)
        row.ended_at = ended
        row.paused_seconds = p.paused_seconds
        if op.entity_id in self.known:
            self.changed[op.entity_id] = row
        return APPLIED

    def flush(self) -> None:
        if self.new:
            DeskPause.objects.bulk_create(list(self.new.values()))
        if self.changed:
            DeskPause.objects.bulk_update(
                list(self.changed.values()), ["ended_at", "paused_seconds"]
            )


_ATTRIBUTE = "desk_pauses"  # where one intake call keeps its PauseIntake


def load(run: Intake, ops: Sequence[Op]) -> None:
    """Read the pauses the batch names (one query, none when it names none)."""
    setattr(run, _ATTRIBUTE, PauseIntake(run, ops))


def _of(run: Intake) -> PauseIntake:
    return getattr(run, _ATTRIBUTE)  # type: ignore[no-any-return]


def desk_paused(run: Intake, op: Op, payload: op_kinds.DeskPaused) -> Result:
    return _of(run).paused(op, payload)


def desk_resumed(run: Intake, op: Op, payload: op_kinds.DeskResumed) -> Result:
    return _of(run).resumed(op, payload)


def write(run: Intake) -> None:
    pauses = getattr(run, _ATTRIBUTE, None)
    if pauses is not None:
        pauses.flush()


HANDLERS: dict[str, Callable[[Intake, Op, Any], Result]] = {
    op_kinds.DESK_PAUSED: desk_paused,  # type: ignore[dict-item]
    op_kinds.DESK_RESUMED: desk_resumed,  # type: ignore[dict-item]
}


def pauses_by_branch_day(
    branch_ids: Sequence[int], day_from: Any, day_to: Any
) -> dict[tuple[int, Any], tuple[int, int]]:
    """(branch id, service day) -> (number of pauses, paused seconds), one query. A pause not
    resumed yet counts as 0 seconds (central only knows the time the branch measured)."""
    result: dict[tuple[int, Any], tuple[int, int]] = {}
    rows = DeskPause.objects.filter(
        branch__in=list(branch_ids), service_day__gte=day_from, service_day__lte=day_to
    ).values_list("branch_id", "service_day", "paused_seconds")
    for branch_id, day, seconds in rows.order_by():
        count, total = result.get((branch_id, day), (0, 0))
        result[branch_id, day] = (count + 1, total + (seconds or 0))
    return result


class PauseRow:
    """One branch's desk pauses per day of the wait picture: (count, paused minutes) or None."""

    def __init__(self, branch: Any, days: list[tuple[int, int] | None]) -> None:
        self.branch = branch
        self.days = days
        total = [cell for cell in days if cell]
        self.period = (sum(c for c, _s in total), sum(s for _c, s in total)) if total else None


def pause_picture(picture: Any) -> list[PauseRow]:
    """The desk pauses beside the triage page's wait picture: the same branches (rows) and days
    (columns), counted from the ``desk.paused`` / ``desk.resumed`` ops the branches sent."""
    if not picture.rows or not picture.days:
        return []
    found = pauses_by_branch_day(
        [row.branch.pk for row in picture.rows], picture.days[0], picture.days[-1]
    )
    rows = []
    for row in picture.rows:
        cells = [found.get((row.branch.pk, day)) for day in picture.days]
        rows.append(
            PauseRow(
                row.branch,
                [(c, round(s / 60)) if c else None for c, s in (cell or (0, 0) for cell in cells)],
            )
        )
    return rows

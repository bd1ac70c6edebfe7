"""Desk pauses: a desk stops calling visitors for a while (break, prayer, meeting, other).

Rules:
- A pause and its resume are each one write with their op (``desk.paused`` / ``desk.resumed``,
  ``entity_id`` the pause id), like every other write of the agent (``branch_agent.outbox``).
- A desk has at most one open pause (a database constraint too); a desk with a visitor called or
  being served cannot pause (finish or mark them absent first); a paused desk cannot call next
  (``refuse_if_paused``, checked inside the call's own write).
- Refusals raise ``services.Refused`` with a message naming the desk, in the page's language.
- Times are the branch's clock; the paused time travels as seconds.
"""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.models import DeskPause
from sync import ops

REASONS = tuple(DeskPause.Reason.values)


def _refused(message: str, code: str, field: str | None = None) -> Exception:
    from branch_agent.services import Refused

    return Refused(message, code=code, field=field)


def _now(now: dt.datetime | None) -> dt.datetime:
    return timezone.localtime(now or timezone.now())


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def open_pause(desk: str) -> DeskPause | None:
    return DeskPause.objects.filter(desk=desk, ended_at__isnull=True).first()


def open_pauses() -> dict[str, DeskPause]:
    """Every paused desk now, by desk."""
    return {p.desk: p for p in DeskPause.objects.filter(ended_at__isnull=True)}


def describe(pause: DeskPause) -> str:
    """'Desk 2 is paused (prayer) since 12:01.' in the active language."""
    return _("Desk %(desk)s is paused (%(reason)s) since %(time)s.") % {
        "desk": pause.desk,
        "reason": pause.get_reason_display(),
        "time": formats.time_format(timezone.localtime(pause.started_at), "H:i"),
    }


def refuse_if_paused(desk: str) -> None:
    """Raise ``Refused`` when ``desk`` is paused (call inside the caller's write)."""
    pause = open_pause(desk)
    if pause is not None:
        raise _refused(
            describe(pause) + " " + _("Resume the desk first to call the next visitor."),
            code="desk_paused",
        )


def pause(desk: str, reason: str, *, by: str = "", now: dt.datetime | None = None) -> DeskPause:
    """Pause ``desk`` for ``reason`` (one of ``REASONS``)."""
    from branch_agent.services import at_desk, check_desk

    desk = check_desk(desk)
    if reason not in REASONS:
        raise _refused(
            _("%(reason)s is not a pause reason; choose one of: %(choices)s.")
            % {
                "reason": str(reason)[:40] or "-",
                "choices": ", ".join(str(label) for label in DeskPause.Reason.labels),
            },
            code="invalid_reason",
            field="reason",
        )
    moment = _now(now)
    with outbox.write():
        current = open_pause(desk)
        if current is not None:
            raise _refused(describe(current), code="desk_paused")
        visitor = at_desk(desk)
        if visitor is not None:
            raise _refused(
                _("Desk %(desk)s still has %(number)s; finish it or mark it absent first.")
                % {"desk": desk, "number": visitor.queue_number},
                code="desk_busy",
            )
        row = DeskPause.objects.create(
            desk=desk,
            reason=reason,
            service_day=moment.date(),
            started_at=moment,
            started_by=by[:200],
        )
        outbox.record(
            ops.DESK_PAUSED,
            str(row.pk),
            ops.DeskPaused(desk=desk, reason=reason, started_at=_iso(moment)),  # type: ignore[arg-type]
        )
    return row


def resume(desk: str, *, now: dt.datetime | None = None) -> DeskPause:
    """End the open pause of ``desk``."""
    from branch_agent.services import check_desk

    desk = check_desk(desk)
    moment = _now(now)
    with outbox.write():
        row = open_pause(desk)
        if row is None:
            raise _refused(
                _("Desk %(desk)s is not paused.") % {"desk": desk}, code="desk_not_paused"
            )
        row.ended_at = max(moment, row.started_at)
        row.save(update_fields=["ended_at"])
        outbox.record(
            ops.DESK_RESUMED,
            str(row.pk),
            ops.DeskResumed(
                desk=desk, ended_at=_iso(row.ended_at), paused_seconds=row.seconds(row.ended_at)
            ),
        )
    return row

"""Today at a glance: the walk-in service against its standard, for the staff start page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from branch_agent.conf import agent_settings
from branch_agent.models import Rating, Visit
from branch_agent.services.common import now_local


@dataclass(frozen=True)
class DaySummary:
    issued: int
    waiting: int
    served: int
    no_show: int
    escalated: int
    median_wait_seconds: int | None
    within_target: int  # called within the target, of those called
    called: int
    ratings: int
    average_overall: float | None

    @property
    def within_target_percent(self) -> int | None:
        return round(100 * self.within_target / self.called) if self.called else None


def day_summary(*, now: dt.datetime | None = None) -> DaySummary:
    """Today's walk-in service against its standard, for the staff start page."""
    today = now_local(now).date()
    visits = list(
        Visit.objects.filter(service_day=today).values_list("status", "outcome", "wait_seconds")
    )
    waits = sorted(w for _status, _outcome, w in visits if w is not None)
    target = agent_settings.wait_target_seconds
    overall = list(
        Rating.objects.filter(visit__service_day=today).values_list("overall", flat=True)
    )
    return DaySummary(
        issued=len(visits),
        waiting=sum(1 for s, _o, _w in visits if s == Visit.Status.WAITING),
        served=sum(1 for s, _o, _w in visits if s == Visit.Status.FINISHED),
        no_show=sum(1 for s, _o, _w in visits if s == Visit.Status.NO_SHOW),
        escalated=sum(1 for _s, o, _w in visits if o == Visit.Outcome.ESCALATED),
        median_wait_seconds=waits[len(waits) // 2] if waits else None,
        within_target=sum(1 for w in waits if w <= target),
        called=len(waits),
        ratings=len(overall),
        average_overall=round(sum(overall) / len(overall), 2) if overall else None,
    )

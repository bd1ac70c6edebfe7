"""The walk-in clock and the waiting list, read only.

A visitor's wait starts at the previous finish in the same service queue, or at their own arrival
when nobody was ahead, and stops at the first call; it is measured on the branch's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max

from branch_agent.conf import agent_settings
from branch_agent.models import ServiceCategory, Visit
from branch_agent.services.common import now_local


def last_finish(service: ServiceCategory, day: dt.date, at: dt.datetime) -> dt.datetime | None:
    found = Visit.objects.filter(
        service=service, service_day=day, finished_at__isnull=False, finished_at__lte=at
    ).aggregate(m=Max("finished_at"))
    return found["m"]


def wait_clock_start(visit: Visit, at: dt.datetime) -> dt.datetime:
    """When this visitor's wait began: the latest finish in the queue, or their own arrival."""
    finished = last_finish(visit.service, visit.service_day, at)
    return max(visit.issued_at, finished) if finished else visit.issued_at


def wait_seconds(visit: Visit, at: dt.datetime) -> int:
    return max(0, int((at - wait_clock_start(visit, at)).total_seconds()))


@dataclass(frozen=True)
class Waiting:
    visit: Visit
    wait_seconds: int
    level: str  # "ok", "near" (from 80% of the target) or "over"
    has_guestbook: bool


def wait_level(seconds: int) -> str:
    target = agent_settings.wait_target_seconds
    if seconds >= target:
        return "over"
    return "near" if seconds >= target * 0.8 else "ok"


def waiting_list(
    *, services: Iterable[str] | None = None, now: dt.datetime | None = None
) -> list[Waiting]:
    """Today's waiting visitors in call order, with their running wait on the branch clock."""
    moment = now_local(now)
    query = Visit.objects.select_related("service", "guestbook").filter(
        service_day=moment.date(), status=Visit.Status.WAITING
    )
    if services:
        query = query.filter(service__code__in=list(services))
    finishes: dict[str, dt.datetime | None] = {}
    result = []
    for visit in query.order_by("issued_at", "number"):
        if visit.service_id not in finishes:
            finishes[visit.service_id] = last_finish(visit.service, visit.service_day, moment)
        finished = finishes[visit.service_id]
        start = max(visit.issued_at, finished) if finished else visit.issued_at
        seconds = max(0, int((moment - start).total_seconds()))
        result.append(Waiting(visit, seconds, wait_level(seconds), hasattr(visit, "guestbook")))
    return result

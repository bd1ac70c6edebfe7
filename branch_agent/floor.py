"""The office floor in figures: a visitor's position and estimated wait, their live page, and the
head of office's view of the day.

Rules:
- Read-only over the local store, except ``link_for`` (one small write, no op: the link never
  leaves this PC). Times are the branch's clock; durations are whole seconds.
- The estimate is honest: below ``MIN_SERVED`` visitors served today it is "not enough data yet",
  never a guess. With enough data it is a range built from today's service times at this office
  (the 25th and 75th percentiles, nearest rank) and the desks open now (desks that called someone
  in the last hour and are not paused; at least one):
  from ``floor(ahead / desks) * p25`` to ``(floor(ahead / desks) + 1) * p75``, in whole minutes.
  ``ahead`` counts every visitor waiting with an earlier number of any service, because desks call
  in order of arrival across services.
- The visitor's live page shows no personal data: the queue number, the service, the position and
  the estimate, or the desk calling them. It is found by an unguessable token (``VisitLink``).
- The head's figures are computed from the visits and pauses alone, as documented on each field,
  so a test can compute them again by hand.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branch_agent import outbox, pauses
from branch_agent.conf import agent_settings
from branch_agent.models import DeskPause, ServiceCategory, Visit, VisitLink

MIN_SERVED = 3  # below this many visitors served today, no estimate is shown
OPEN_DESK_WINDOW = dt.timedelta(hours=1)  # a desk that called someone this recently is open
DAYS_SHOWN = 7  # the head's page lists this many days up to the chosen one


def _now(now: dt.datetime | None) -> dt.datetime:
    return timezone.localtime(now or timezone.now())


def nearest_rank(sorted_values: list[int], fraction: float) -> int:
    """The nearest-rank percentile of sorted values (rank ceil(fraction * n), 1-based)."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _mean(values: list[int]) -> int | None:
    return round(sum(values) / len(values)) if values else None


# --- Position and estimated wait ------------------------------------------------------------


def _waiting_before(visit: Visit) -> Q:
    return Q(issued_at__lt=visit.issued_at) | Q(issued_at=visit.issued_at, number__lt=visit.number)


def position(visit: Visit) -> int | None:
    """1 for the next to be called in the visit's service queue; None when not waiting."""
    if visit.status != Visit.Status.WAITING:
        return None
    ahead = Visit.objects.filter(
        service_id=visit.service_id,
        service_day=visit.service_day,
        status=Visit.Status.WAITING,
        number__lt=visit.number,
    ).count()
    return ahead + 1


def open_desks(now: dt.datetime | None = None) -> int:
    """Desks that called a visitor in the last hour (or have one now), minus paused desks; >= 1."""
    moment = _now(now)
    called = set(
        Visit.objects.filter(service_day=moment.date())
        .filter(
            Q(last_call_at__gte=moment - OPEN_DESK_WINDOW)
            | Q(status__in=(Visit.Status.CALLED, Visit.Status.SERVING))
        )
        .exclude(desk="")
        .values_list("desk", flat=True)
    )
    return max(1, len(called - set(pauses.open_pauses())))


@dataclass(frozen=True)
class Estimate:
    """The estimated wait in whole minutes (``low`` to ``high``), or None: not enough data."""

    low: int
    high: int
    served: int  # the visitors served today it is computed from
    desks: int

    def text(self) -> str:
        return _("about %(low)d–%(high)d minutes") % {"low": self.low, "high": self.high}


def service_times(day: dt.date) -> list[int]:
    """Today's service times at this office (seconds, sorted): every finished visit's."""
    return sorted(
        Visit.objects.filter(
            service_day=day, status=Visit.Status.FINISHED, service_seconds__isnull=False
        ).values_list("service_seconds", flat=True)
    )


def estimate(visit: Visit, *, now: dt.datetime | None = None) -> Estimate | None:
    if visit.status != Visit.Status.WAITING:
        return None
    moment = _now(now)
    times = service_times(visit.service_day)
    if len(times) < MIN_SERVED:
        return None
    ahead = (
        Visit.objects.filter(service_day=visit.service_day, status=Visit.Status.WAITING)
        .filter(_waiting_before(visit))
        .count()
    )
    desks = open_desks(moment)
    rounds = ahead // desks
    low_seconds = rounds * nearest_rank(times, 0.25)
    high_seconds = (rounds + 1) * nearest_rank(times, 0.75)
    low = low_seconds // 60
    high = max(low + 1, math.ceil(high_seconds / 60))
    return Estimate(low=low, high=high, served=len(times), desks=desks)


def not_enough_data() -> str:
    return _("not enough data yet")


# --- The visitor's live page ----------------------------------------------------------------


def link_for(visit: Visit) -> VisitLink:
    """The live-page link of ``visit`` (made the first time the ticket is shown)."""
    existing = VisitLink.objects.filter(visit=visit).first()
    if existing is not None:
        return existing
    with outbox.write():
        existing = VisitLink.objects.filter(visit=visit).first()
        if existing is not None:
            return existing
        return VisitLink.objects.create(token=secrets.token_urlsafe(24), visit=visit)


def visit_by_token(token: str) -> Visit | None:
    if not token or len(token) > 64:
        return None
    link = VisitLink.objects.select_related("visit__service").filter(token=token).first()
    return link.visit if link is not None else None


def live_state(visit: Visit, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the visitor's phone shows (and polls): no personal data, only the queue."""
    moment = _now(now)
    state: dict[str, Any] = {
        "queue_number": visit.queue_number,
        "service": visit.service.name,
        "status": visit.status,
        "desk": None,
        "position": None,
        "estimate": None,
        "at": moment.isoformat(timespec="seconds"),
    }
    if visit.service_day != moment.date():
        state["status"] = "expired"
        state["text"] = _("This number was for another day.")
    elif visit.status == Visit.Status.WAITING:
        place = position(visit)
        guess = estimate(visit, now=moment)
        state["position"] = place
        state["estimate"] = {"low": guess.low, "high": guess.high} if guess else None
        state["text"] = _("You are number %(position)d in the queue.") % {"position": place}
        state["estimate_text"] = guess.text() if guess else not_enough_data()
    elif visit.status == Visit.Status.CALLED:
        state["desk"] = visit.desk
        state["text"] = _("Your number is being called, desk %(desk)s.") % {"desk": visit.desk}
    elif visit.status == Visit.Status.SERVING:
        state["desk"] = visit.desk
        state["text"] = _("You are being served at desk %(desk)s.") % {"desk": visit.desk}
    elif visit.status == Visit.Status.FINISHED:
        state["text"] = _("Your visit is finished. Thank you!")
    else:
        state["text"] = _(
            "This number was called and nobody came. Please ask the front office for a new one."
        )
    return state


def _loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(host_header: str, default_port: str) -> tuple[str, str]:
    """('192.168.1.5', '8080') from '192.168.1.5:8080'; IPv6 stays in brackets."""
    if host_header.startswith("["):
        name, _sep, rest = host_header.partition("]")
        return name + "]", rest.lstrip(":") or default_port
    name, sep, port = host_header.rpartition(":")
    return (name, port) if sep else (host_header, default_port)


def lan_base_url(host_header: str, default_port: str, scheme: str = "http") -> str | None:
    """The address a phone on the office LAN reaches this agent at: the host the kiosk used,
    unless that is this PC itself (127.0.0.1, localhost); then the first LAN address of
    ``allowed_hosts`` in agent.toml. None when there is none (the ticket shows no QR code)."""
    host, port = split_host(host_header, str(default_port))
    if host and not _loopback(host):
        chosen = host
    else:
        candidates = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"]
        candidates = [h for h in candidates if not _loopback(h)]
        addresses = [h for h in candidates if _is_ip(h)]
        if not (addresses or candidates):
            return None
        chosen = (addresses or candidates)[0]
    default = "443" if scheme == "https" else "80"
    return f"{scheme}://{chosen}" + ("" if str(port) == default else f":{port}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG, made on this PC (segno; no network)."""
    import segno

    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=True)


# --- The head's view ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceWaiting:
    service: ServiceCategory
    waiting: int
    longest_wait_seconds: int | None  # the longest running wait now (None: nobody waiting)
    target_seconds: int

    @property
    def over_target(self) -> bool:
        return (self.longest_wait_seconds or 0) >= self.target_seconds


@dataclass
class DeskFigures:
    desk: str
    served: int = 0  # finished visits at the desk that day
    no_show: int = 0
    called: int = 0  # visits called to the desk (their wait was measured)
    average_wait_seconds: int | None = None  # mean wait of the visits called to the desk
    average_service_seconds: int | None = None  # mean service time of its finished visits
    pauses: list[DeskPause] = field(default_factory=list)
    paused_seconds: int = 0  # open pauses count until now
    paused_now: DeskPause | None = None


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    issued: int
    served: int
    called: int
    within_target: int  # called within the target, of ``called``
    average_wait_seconds: int | None
    average_service_seconds: int | None
    pauses: int
    paused_seconds: int

    @property
    def within_target_percent(self) -> int | None:
        return round(100 * self.within_target / self.called) if self.called else None


@dataclass(frozen=True)
class HeadFigures:
    day: dt.date
    now: dt.datetime
    target_seconds: int
    live: bool  # the day is today: waiting and open pauses are live
    waiting: list[ServiceWaiting]
    desks: list[DeskFigures]
    days: list[DayFigures]  # DAYS_SHOWN days up to ``day``, newest first
    pauses: list[DeskPause]

    @property
    def today(self) -> DayFigures:
        return self.days[0]


def _pause_seconds_on(pause: DeskPause, now: dt.datetime) -> int:
    """The paused seconds of ``pause`` within its own day (an open one counts until now; a desk
    left paused overnight counts until midnight)."""
    midnight = timezone.make_aware(
        dt.datetime.combine(pause.service_day + dt.timedelta(days=1), dt.time.min)
    )
    end = min(pause.ended_at or now, midnight)
    return max(0, int((end - pause.started_at).total_seconds()))


def _day_figures(
    day: dt.date, visits: list[Visit], day_pauses: list[DeskPause], now: dt.datetime
) -> DayFigures:
    target = agent_settings.wait_target_seconds
    waits = [v.wait_seconds for v in visits if v.wait_seconds is not None]
    finished = [v for v in visits if v.status == Visit.Status.FINISHED]
    times = [v.service_seconds for v in finished if v.service_seconds is not None]
    return DayFigures(
        day=day,
        issued=len(visits),
        served=len(finished),
        called=len(waits),
        within_target=sum(1 for w in waits if w <= target),
        average_wait_seconds=_mean(waits),
        average_service_seconds=_mean(times),
        pauses=len(day_pauses),
        paused_seconds=sum(_pause_seconds_on(p, now) for p in day_pauses),
    )


def head_figures(*, day: dt.date | None = None, now: dt.datetime | None = None) -> HeadFigures:
    """The head of office's figures for ``day`` (today by default)."""
    from branch_agent.services import waiting_list

    moment = _now(now)
    day = day or moment.date()
    live = day == moment.date()
    target = agent_settings.wait_target_seconds
    first = day - dt.timedelta(days=DAYS_SHOWN - 1)
    visits = list(
        Visit.objects.filter(service_day__gte=first, service_day__lte=day).only(
            "service_day", "status", "desk", "wait_seconds", "service_seconds"
        )
    )
    all_pauses = list(DeskPause.objects.filter(service_day__gte=first, service_day__lte=day))
    by_day: dict[dt.date, list[Visit]] = {}
    for visit in visits:
        by_day.setdefault(visit.service_day, []).append(visit)
    pauses_by_day: dict[dt.date, list[DeskPause]] = {}
    for pause in all_pauses:
        pauses_by_day.setdefault(pause.service_day, []).append(pause)
    days = [
        _day_figures(d, by_day.get(d, []), pauses_by_day.get(d, []), moment)
        for d in (day - dt.timedelta(days=n) for n in range(DAYS_SHOWN))
    ]

    desk_names = [str(d) for d in range(1, agent_settings.desks + 1)]
    todays = by_day.get(day, [])
    day_pauses = pauses_by_day.get(day, [])
    for name in sorted({v.desk for v in todays if v.desk} | {p.desk for p in day_pauses}):
        if name not in desk_names:
            desk_names.append(name)
    paused_now = pauses.open_pauses() if live else {}
    desks = []
    for name in desk_names:
        mine = [v for v in todays if v.desk == name]
        waits = [v.wait_seconds for v in mine if v.wait_seconds is not None]
        times = [
            v.service_seconds
            for v in mine
            if v.status == Visit.Status.FINISHED and v.service_seconds is not None
        ]
        desk_pauses = [p for p in day_pauses if p.desk == name]
        desks.append(
            DeskFigures(
                desk=name,
                served=sum(1 for v in mine if v.status == Visit.Status.FINISHED),
                no_show=sum(1 for v in mine if v.status == Visit.Status.NO_SHOW),
                called=len(waits),
                average_wait_seconds=_mean(waits),
                average_service_seconds=_mean(times),
                pauses=desk_pauses,
                paused_seconds=sum(_pause_seconds_on(p, moment) for p in desk_pauses),
                paused_now=paused_now.get(name),
            )
        )

    waiting: list[ServiceWaiting] = []
    if live:
        rows = waiting_list(now=moment)
        services = ServiceCategory.objects.filter(
            kind=ServiceCategory.Kind.SERVICE, active=True
        ).exclude(queue_letter="")
        for service in services:
            mine_w = [r.wait_seconds for r in rows if r.visit.service_id == service.code]
            waiting.append(
                ServiceWaiting(
                    service=service,
                    waiting=len(mine_w),
                    longest_wait_seconds=max(mine_w) if mine_w else None,
                    target_seconds=target,
                )
            )
    return HeadFigures(
        day=day,
        now=moment,
        target_seconds=target,
        live=live,
        waiting=waiting,
        desks=desks,
        days=days,
        pauses=sorted(day_pauses, key=lambda p: p.started_at),
    )


def mmss(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds // 60}:{seconds % 60:02d}"

"""Template tags of the triage page and the per-ticket SLA timeline.

Rules:
- Charts are inline SVG made here (no CDN, no JavaScript); they print, and each carries its
  numbers as text too, so nothing is only in a colour or a tooltip.
- The timeline is one query (the ticket's PST row with its relations) and renders nothing for a
  ticket that is not PST's.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.forms import BoundField
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import Compensation, SLAState
from pst_helpdesk_ext.services.queries import pst_ticket_for_panel
from pst_helpdesk_ext.services.sla import complaint_of, evaluated_now
from pst_helpdesk_ext.services.triage import (
    BranchWaits,
    WaitPicture,
    WaitStats,
    counts_working_time,
    is_overdue,
    open_statuses,
    sla_timeline,
    time_left,
)

register = template.Library()

STATE_CSS = {
    SLAState.BREACHED: "text-bg-danger",
    SLAState.AT_RISK: "text-bg-warning",
    SLAState.RUNNING: "text-bg-primary",
    SLAState.PAUSED: "text-bg-info",
    SLAState.PENDING: "text-bg-light border",
    SLAState.MET: "text-bg-success",
    SLAState.NONE: "text-bg-secondary",
}

BAR_WIDTH = 84
BAR_HEIGHT = 12


def _chosen(field: BoundField) -> set[str]:
    value = field.value()
    values = value if isinstance(value, list | tuple) else [value]
    return {str(v) for v in values if v not in (None, "")}


@register.simple_tag
def pst_select(field: BoundField, choices: Any = None) -> SafeString:
    """A filter's <select>, made directly: Django's widget templates cost a template render per
    option, which on this page (a province's branches) was a large share of its time.

    ``choices`` (value, label) pairs replace the field's own when the view already holds them
    (the branches), which saves the query the field would run again."""
    chosen = _chosen(field)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, SafeString(" selected") if str(value) in chosen else "", label)
            for value, label in (field.field.choices if choices is None else choices)
        ),
    )
    return format_html(
        '<select name="{}" id="{}" class="form-select form-select-sm">{}</select>',
        field.html_name,
        field.auto_id,
        options,
    )


@register.simple_tag
def pst_checkboxes(field: BoundField) -> SafeString:
    """A multiple-choice filter as inline checkboxes (the same markup as Django's, made here)."""
    chosen = _chosen(field)
    return format_html_join(
        "",
        '<div class="form-check form-check-inline small mb-0"><input type="checkbox" '
        'class="form-check-input" name="{name}" value="{value}" id="{id}_{n}"{checked}>'
        '<label class="form-check-label" for="{id}_{n}">{label}</label></div>',
        (
            {
                "name": field.html_name,
                "value": value,
                "id": field.auto_id,
                "n": n,
                "checked": SafeString(" checked") if str(value) in chosen else "",
                "label": label,
            }
            for n, (value, label) in enumerate(field.field.choices)
        ),
    )


@register.filter
def pst_state_css(state: str) -> str:
    return STATE_CSS.get(state, "text-bg-secondary")


@register.filter
def pst_span(value: datetime.timedelta | int | float | None) -> str:
    """A length of time for a deadline: ``2 d 03 h``, ``5 h 20 min``, ``12 min``; sign dropped."""
    if value is None or value == "":
        return ""
    seconds = abs(value.total_seconds() if isinstance(value, datetime.timedelta) else value)
    if seconds < 60:
        return gettext("less than a minute")
    total_minutes = int(seconds // 60)
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("%(days)d d %(hours)02d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


@register.filter
def pst_mmss(seconds: int | None) -> str:
    """A wait as minutes:seconds (``6:05``); the page's legend says so."""
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _x(seconds: int, scale: int) -> float:
    return round(min(seconds, scale) / scale * BAR_WIDTH, 1) if scale else 0.0


def _wait_label(stats: WaitStats) -> str:
    return gettext(
        "%(visits)d visits: median %(median)s, 90%% within %(p90)s, longest %(longest)s, "
        "%(percent)d%% within the standard"
    ) % {
        "visits": stats.visits,
        "median": pst_mmss(stats.median),
        "p90": pst_mmss(stats.p90),
        "longest": pst_mmss(stats.longest),
        "percent": stats.within_percent,
    }


@register.simple_tag
def pst_wait_bar(stats: WaitStats | None, scale: int, standard: int) -> SafeString:
    """One branch-day of waits: the median bar, the p90 bar behind it, a tick at the longest
    wait and a red line at the standard, on a scale shared by the whole picture.

    Built with f-strings: every value is a number except the label, which is escaped. A
    province's month is a thousand of these, so format_html's per-argument work shows."""
    if stats is None:
        return SafeString("")
    label = escape(_wait_label(stats))
    median_fill = "#dc3545" if stats.median > standard else "#0d6efd"
    longest = max(_x(stats.longest, scale) - 1.5, 0)
    return SafeString(
        f'<svg class="pst-wait-bar" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect x="0" y="2" width="{BAR_WIDTH}" height="8" fill="#e9ecef"/>'
        f'<rect x="0" y="2" width="{_x(stats.p90, scale)}" height="8" fill="#9ec5fe"/>'
        f'<rect x="0" y="2" width="{_x(stats.median, scale)}" height="8" fill="{median_fill}"/>'
        f'<rect x="{longest}" y="0" width="1.5" height="{BAR_HEIGHT}" fill="#495057"/>'
        f'<rect x="{_x(standard, scale)}" y="0" width="1.5" height="{BAR_HEIGHT}" '
        'fill="#dc3545"/></svg>'
    )


@register.simple_tag
def pst_wait_cell(stats: WaitStats | None, scale: int, standard: int) -> SafeString:
    """A whole cell of the wait picture: the bar and its numbers (median, p90, longest, share
    within the standard, visits). Made here rather than in the template: a month of a province
    is a thousand cells, and the template engine would spend most of the page's time on them."""
    if stats is None:
        return SafeString('<span class="text-body-secondary">—</span>')
    over = ' class="text-danger"' if stats.median > standard else ""
    longest_label = escape(gettext("max"))
    return SafeString(
        f"{pst_wait_bar(stats, scale, standard)}"
        f'<div class="pst-wait-numbers"><strong{over}>{pst_mmss(stats.median)}</strong> · '
        f"p90 {pst_mmss(stats.p90)} · {longest_label} {pst_mmss(stats.longest)}</div>"
        f'<div class="pst-wait-numbers text-body-secondary">{stats.within_percent}% · '
        f"n={stats.visits}</div>"
    )


@register.simple_tag
def pst_wait_row_cells(row: BranchWaits, picture: WaitPicture) -> SafeString:
    """The day cells and the period cell of one branch's row."""
    scale, standard = picture.scale_seconds, picture.standard_seconds
    days = "".join(
        f'<td class="text-center">{pst_wait_cell(cell, scale, standard)}</td>' for cell in row.days
    )
    no_visits = escape(gettext("no visits"))
    period = (
        pst_wait_cell(row.period, scale, standard)
        if row.period
        else f'<span class="text-body-secondary">{no_visits}</span>'
    )
    return SafeString(f'{days}<td class="text-center table-light">{period}</td>')


# --- the SLA timeline on helpdesk's ticket page ------------------------------------------------


def _reverse_or_empty(name: str, ticket_id: int) -> str:
    """SLA-core's action URLs, or "" on a site without them (the buttons are then not shown)."""
    try:
        return reverse(name, args=[ticket_id])
    except NoReverseMatch:
        return ""


@register.inclusion_tag("pst_helpdesk_ext/includes/sla_timeline.html", takes_context=True)
def pst_sla_timeline(context: template.Context, ticket: Any) -> dict[str, Any]:
    pst = pst_ticket_for_panel(ticket.pk) if ticket is not None and ticket.pk else None
    if pst is None:
        return {"pst": None}
    now = timezone.now()
    # The clock as the facts give it now (the panel's wait verdict reads the same evaluation).
    pst = evaluated_now(pst, now)
    left = time_left(pst, now)
    events = sla_timeline(pst, now)
    request = context.get("request")
    session = getattr(request, "session", None)
    typed = session.pop(f"pst_sla_wait_comment_{pst.ticket_id}", "") if session else ""
    return {
        "typed_comment": typed,
        "pst": pst,
        "ticket": ticket,
        "events": events,
        "chart": timeline_svg(pst, events, now),
        "time_left": left,
        "overdue": is_overdue(pst, now),
        "working_time": counts_working_time(pst),
        "complaint": complaint_of(pst),
        "first_answer_days": pst_settings.COMPLAINT_FIRST_RESPONSE_DAYS,
        "branch_timezone": pst.branch.timezone if pst.branch else None,
        "complete_url": _reverse_or_empty("pst:sla_mark_complete", pst.ticket_id),
        "waiting_url": _reverse_or_empty("pst:sla_wait_for_visitor", pst.ticket_id),
        "resume_url": _reverse_or_empty("pst:sla_visitor_replied", pst.ticket_id),
        "compensation_url": _reverse_or_empty("pst:sla_compensation", pst.ticket_id),
        "compensation": Compensation.objects.filter(pst_ticket=pst).first()
        if pst.sla_state == "breached"
        else None,
        "compensation_kinds": Compensation.Kind.choices,
        "typed_compensation": (
            session.pop(f"pst_sla_compensation_{pst.ticket_id}", None) if session else None
        )
        or {},
        "today": timezone.localdate().isoformat(),
        "ticket_open": pst.ticket.status in open_statuses(),
        "waiting": pst.waiting_for_visitor_since is not None or pst.sla_paused_since is not None,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


TIMELINE_WIDTH = 600
TIMELINE_HEIGHT = 28


def timeline_svg(pst: Any, events: list[Any], now: datetime.datetime) -> SafeString:
    """The clock as a bar from its start to the later of due, stop and now: running time in
    blue, the current pause hatched, past due in red, with ticks for the due time and now."""
    start = pst.sla_started_at
    if start is None:
        return SafeString("")
    end_candidates = [now, pst.sla_due_at, pst.sla_stopped_at]
    end = max(t for t in end_candidates if t is not None)
    span = max((end - start).total_seconds(), 1.0)

    def x(at: datetime.datetime) -> float:
        return round(max(0.0, min((at - start).total_seconds() / span, 1.0)) * TIMELINE_WIDTH, 1)

    stop = pst.sla_stopped_at or now
    parts = []
    due = pst.sla_due_at
    if due is not None and due < stop:
        parts.append(("#0d6efd", x(start), x(due)))
        parts.append(("#dc3545", x(due), x(stop)))
    else:
        parts.append(("#0d6efd", x(start), x(stop)))
    if pst.sla_paused_since is not None and pst.sla_stopped_at is None:
        parts.append(("#0dcaf0", x(pst.sla_paused_since), x(now)))
    bars = format_html_join(
        "",
        '<rect x="{}" y="8" width="{}" height="12" fill="{}"/>',
        ((left, max(right - left, 0.5), colour) for colour, left, right in parts),
    )
    ticks = []
    if due is not None:
        ticks.append((x(due), "#212529", gettext("due")))
    if pst.sla_stopped_at is None:
        ticks.append((x(now), "#6c757d", gettext("now")))
    tick_html = format_html_join(
        "",
        '<rect x="{}" y="2" width="2" height="24" fill="{}"/>',
        ((max(tx - 1, 0), colour) for tx, colour, _text in ticks),
    )
    placed = place_labels([(tx / TIMELINE_WIDTH * 100, colour, text) for tx, colour, text in ticks])
    rows = 1 + max((row for *_rest, row in placed), default=0)
    # The labels are HTML under the chart, not SVG text: they keep the page's font size on a
    # phone (SVG text shrinks with the chart) and are placed so that they never overlap.
    labels = format_html_join(
        "",
        '<span class="pst-tick-label" style="position:absolute;white-space:nowrap;left:{}%;'
        "line-height:1.2;top:{}rem;transform:translateX({});"
        'color:{}">{}</span>',
        (
            (f"{left:.2f}", f"{row * LABEL_ROW_REM:.2f}", SHIFT[anchor], colour, text)
            for left, colour, text, anchor, row in placed
        ),
    )
    return format_html(
        '<div class="pst-sla-chart-wrap"><svg id="pst-sla-chart" width="100%" '
        'viewBox="0 0 {w} {h}" preserveAspectRatio="none" style="height:{h}px" role="img" '
        'aria-label="{label}"><title>{label}</title>'
        '<rect x="0" y="8" width="{w}" height="12" fill="#e9ecef"/>{bars}{ticks}</svg>'
        '<div class="pst-tick-labels small" style="position:relative;height:{height}rem">'
        "{labels}</div></div>",
        w=TIMELINE_WIDTH,
        h=TIMELINE_HEIGHT,
        label=gettext("Service clock from its start to its due time"),
        bars=bars,
        ticks=tick_html,
        height=f"{rows * LABEL_ROW_REM:.2f}",
        labels=labels,
    )


#: Label rows under the chart, in rem.
LABEL_ROW_REM = 1.4
#: Label width estimate, in percent of the chart, for the narrowest chart (a 390 px phone: about
#: 300 px of chart) at the page's small font: generous, so labels never touch on any screen.
LABEL_CHAR_PERCENT = 7.5 / 300 * 100
SHIFT = {"start": "0", "middle": "-50%", "end": "-100%"}


def place_labels(
    ticks: list[tuple[float, str, str]],
) -> list[tuple[float, str, str, str, int]]:
    """Where each tick's label goes, ticks at ``x`` percent of the chart: (x, colour, text,
    anchor, row). A label stays inside the chart at its edges; a label that would overlap one
    already placed (due and now close together: "tenggat" and "sekarang" ran into one word)
    goes one row lower."""
    placed: list[tuple[float, str, str, str, int]] = []
    taken: list[tuple[float, float, int]] = []  # (left, right, row), percent
    for tx, colour, text in sorted(ticks):
        width = len(text) * LABEL_CHAR_PERCENT
        if tx < width / 2:
            anchor, left = "start", tx
        elif tx > 100 - width / 2:
            anchor, left = "end", tx - width
        else:
            anchor, left = "middle", tx - width / 2
        right = left + width
        row = 0
        while any(r == row and left < b + 2 and a < right + 2 for a, b, r in taken):
            row += 1
        taken.append((left, right, row))
        placed.append((tx, colour, text, anchor, row))
    return placed

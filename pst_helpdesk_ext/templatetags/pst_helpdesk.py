"""Template tags of the PST plugin: the ticket panel, durations, helpdesk's labels in Indonesian.

Rules:
- The panel is one query (``pst_ticket_for_panel``) and renders nothing for a non-PST ticket.
- The visitor is shown with the masked ID only; the full ID number is never stored, so it cannot
  be shown.
- django-helpdesk ships no Indonesian catalog. Its status and priority names appear on our pages
  and in the ``id`` e-mail templates, so their msgids are listed below (``gettext_noop``) to be
  extracted into the plugin's catalog: Django merges every app's catalog, so helpdesk's own lazy
  strings are then shown in Indonesian as well.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.utils.translation import gettext, gettext_noop, ngettext
from helpdesk import settings as helpdesk_settings

from pst_helpdesk_ext.services.queries import WALK_IN_WAIT_STANDARD, pst_ticket_for_panel

register = template.Library()

HELPDESK_TERMS = (
    gettext_noop("Open"),
    gettext_noop("Reopened"),
    gettext_noop("Resolved"),
    gettext_noop("Closed"),
    gettext_noop("Duplicate"),
    gettext_noop("On Hold"),
    gettext_noop("Open dependencies"),
    gettext_noop("Unassigned"),
    gettext_noop("1. Critical"),
    gettext_noop("2. High"),
    gettext_noop("3. Normal"),
    gettext_noop("4. Low"),
    gettext_noop("5. Very Low"),
)


@register.inclusion_tag("pst_helpdesk_ext/includes/ticket_panel.html")
def pst_ticket_panel(ticket: Any) -> dict[str, Any]:
    pst = pst_ticket_for_panel(ticket.pk) if ticket is not None and ticket.pk else None
    visit = getattr(pst, "visit", None) if pst is not None else None
    verdict, minutes = wait_verdict(pst, visit)
    return {
        "pst": pst,
        "visit": visit,
        "branch_timezone": pst.branch.timezone if pst and pst.branch else None,
        "wait_verdict": verdict,
        "wait_standard_minutes": minutes,
    }


def wait_verdict(pst: Any, visit: Any) -> tuple[str | None, int]:
    """Whether a walk-in wait was within its standard, and the standard in minutes, as the
    ticket's service clock says (the clock of the SLA timeline below, evaluated now): one verdict
    on the page, never a second reading of the wait against a fixed 10 minutes. ``None`` while
    the clock is open (the visitor not called yet)."""
    default = int(WALK_IN_WAIT_STANDARD.total_seconds() // 60)
    if pst is None or visit is None:
        return None, default
    from pst_helpdesk_ext.services.sla import evaluated_now

    pst = evaluated_now(pst)
    policy = pst.sla_policy
    minutes = policy.target if policy is not None and policy.kind == "walk_in" else default
    if pst.sla_state in ("met", "breached"):
        return str(pst.sla_state), minutes
    return None, minutes


@register.filter
def pst_duration(seconds: int | float | datetime.timedelta | None) -> str:
    """A duration for people: ``7 min 05 s``, ``1 h 02 min``; empty when unknown."""
    if seconds is None or seconds == "":
        return ""
    if isinstance(seconds, datetime.timedelta):
        seconds = seconds.total_seconds()
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": secs}


@register.filter
def pst_minutes(count: int) -> str:
    return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}


@register.filter
def pst_ticket_status(status: int | str | None) -> str:
    """helpdesk's label of a status number, in the active language (used by the e-mails)."""
    try:
        wanted = int(status)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    for value, label in helpdesk_settings.TICKET_STATUS_CHOICES:
        if int(value) == wanted:
            return str(label)
    return str(status)


@register.filter
def pst_ticket_priority(priority: int | str | None) -> str:
    try:
        wanted = int(priority)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    for value, label in helpdesk_settings.TICKET_PRIORITY_CHOICES:
        if int(value) == wanted:
            return str(label)
    return str(priority)


@register.simple_tag
def pst_visitor_url(ticket: Any) -> str:
    """The visitor's link to a ticket, for helpdesk's e-mail templates (whose ``ticket`` is
    helpdesk's ``safe_template_context`` dict, or a Ticket): the plugin's own consultation page
    with its signed link (helpdesk sends the first e-mail of a new ticket before the plugin has
    given it its PST row, so every ticket gets the page); helpdesk's ``ticket_url`` only when
    the dict names no ticket."""
    from helpdesk.models import Ticket

    from pst_helpdesk_ext.services import visitor

    if isinstance(ticket, Ticket):
        found: Ticket | None = ticket
        fallback = ticket.ticket_url
    else:
        fallback = str((ticket or {}).get("ticket_url") or "")
        _queue, ticket_id = Ticket.queue_and_id_from_query(
            str((ticket or {}).get("ticket_for_url") or "")
        )
        found = (
            Ticket.objects.select_related("queue").filter(pk=ticket_id).first()
            if ticket_id.isdigit()
            else None
        )
    if found is None:
        return fallback
    return visitor.link_url(found)


@register.filter
def pst_mask_name(name: str | None) -> str:
    """A visitor's name masked for users without the personal-data permission: ``R*** S***``."""
    from pst_helpdesk_ext.services.list_exports import mask_name

    return mask_name(name or "")

"""Querysets of PST data that honour django-helpdesk's permissions.

Rules:
- Every page and API endpoint of the plugin that lists tickets, visits or branches starts here,
  never from ``Model.objects``, so forgetting the permission check is not the default.
- The permission rule is helpdesk's own: ``HelpdeskUser.accessible_tickets_q()`` (superusers and,
  with ``HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION`` off, all staff see every queue; otherwise a
  user sees the queues they hold ``helpdesk.queue_access_<slug>`` for, directly or through a group,
  plus tickets assigned to them). We re-root that Q under our relations instead of re-implementing
  it, so a change of rule in helpdesk reaches the plugin too.
- The lists use a fixed number of queries whatever the page size: everything a row shows is
  joined with ``select_related`` (PSTTicket -> visit is a reverse one-to-one, also a join).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from helpdesk import settings as helpdesk_settings
from helpdesk.user import HelpdeskUser

from pst_helpdesk_ext.models import Branch, Channel, PSTTicket, ServiceCategory, Visit

User = AbstractBaseUser | AnonymousUser

# The published walk-in standard (seed): called at most 10 minutes after the previous visitor
# finished. The panel and list compare each visit's measured wait against it.
WALK_IN_WAIT_STANDARD = datetime.timedelta(minutes=10)

PST_TICKET_RELATIONS = (
    "ticket__queue",
    "ticket__assigned_to",
    "branch",
    "channel",
    "category",
    "subject",
    "visitor",
    "visit",
    "visit__branch",
    "visit__service",
    "visit__referred_to",
)
VISIT_RELATIONS = ("branch", "service", "pst_ticket", "pst_ticket__ticket", "referred_to")


def rerooted(q: Q, prefix: str) -> Q:
    """The same condition, with every lookup reached through ``prefix`` (e.g. ``ticket__``)."""
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    copy.children = [
        rerooted(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        for child in q.children
    ]
    return copy


def accessible_tickets_q(user: User, prefix: str = "") -> Q:
    return rerooted(HelpdeskUser(user).accessible_tickets_q(), prefix)


def accessible_queues_q(user: User, prefix: str = "") -> Q:
    """Queues whose tickets the user may open: helpdesk's ``can_access_queue`` as a Q."""
    huser = HelpdeskUser(user)
    if huser.has_full_access():
        return Q()
    per_queue = helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION
    if not user.is_authenticated or not per_queue:
        return Q(pk__in=[])
    return Q(**{f"{prefix}permission_name__in": user.get_all_permissions()})


def pst_tickets_for(user: User) -> QuerySet[PSTTicket]:
    return (
        PSTTicket.objects.filter(accessible_tickets_q(user, "ticket__"))
        .select_related(*PST_TICKET_RELATIONS)
        .order_by("-ticket__created", "-ticket_id")
    )


def visits_for(user: User) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(accessible_tickets_q(user, "pst_ticket__ticket__"))
        .select_related(*VISIT_RELATIONS)
        .order_by("-service_day", "-issued_at", "-pk")
    )


def branches_for(user: User) -> QuerySet[Branch]:
    """Branches whose helpdesk queue the user may open."""
    return (
        Branch.objects.filter(accessible_queues_q(user, "queue__"))
        .select_related("queue", "sync_state")
        .order_by("code")
    )


@dataclass(frozen=True)
class TicketFilters:
    """Validated filters of the PST ticket list (built by the page's form or the API)."""

    branch: Branch | None = None
    channel: Channel | None = None
    category: ServiceCategory | None = None
    statuses: tuple[int, ...] = ()
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TicketFilters:
        """From the cleaned data of the page's form or the API's serializer (same field names)."""
        return cls(
            branch=data.get("branch"),
            channel=data.get("channel"),
            category=data.get("category"),
            statuses=tuple(data.get("status") or ()),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def date_order_error(start: datetime.date | None, end: datetime.date | None) -> str | None:
    """The message for a period that ends before it starts (None when the order is fine), worded
    once for every page form and API serializer that takes a date range."""
    if start and end and start > end:
        return _("%(end)s is before the start date %(start)s.") % {"end": end, "start": start}
    return None


def filter_pst_tickets(tickets: QuerySet[PSTTicket], filters: TicketFilters) -> QuerySet[PSTTicket]:
    """Narrow a ticket list. Dates are calendar days of the ticket's creation in the site's zone."""
    if filters.branch is not None:
        tickets = tickets.filter(branch=filters.branch)
    if filters.channel is not None:
        tickets = tickets.filter(channel=filters.channel)
    if filters.category is not None:
        # A PST service matches on the service, a consultation subject on the subject.
        tickets = tickets.filter(Q(category=filters.category) | Q(subject=filters.category))
    if filters.statuses:
        tickets = tickets.filter(ticket__status__in=filters.statuses)
    if filters.date_from is not None:
        tickets = tickets.filter(ticket__created__date__gte=filters.date_from)
    if filters.date_to is not None:
        tickets = tickets.filter(ticket__created__date__lte=filters.date_to)
    return tickets


@dataclass(frozen=True)
class VisitFilters:
    branch: Branch | None = None
    day: datetime.date | None = None


def filter_visits(visits: QuerySet[Visit], filters: VisitFilters) -> QuerySet[Visit]:
    if filters.branch is not None:
        visits = visits.filter(branch=filters.branch)
    if filters.day is not None:
        visits = visits.filter(service_day=filters.day)
    return visits


def ticket_status_choices() -> list[tuple[int, str]]:
    """helpdesk's status choices, read when asked (a site may set its own)."""
    return [(int(value), label) for value, label in helpdesk_settings.TICKET_STATUS_CHOICES]


def pst_ticket_for_panel(ticket_id: int) -> PSTTicket | None:
    """The PST data of one helpdesk ticket, in one query; None for a ticket that is not PST's.

    The caller (helpdesk's ticket view) has already checked access to the ticket itself.
    """
    tickets = PSTTicket.objects.select_related(*PST_TICKET_RELATIONS)
    return tickets.filter(ticket_id=ticket_id).first()


def wait_exceeds_standard(visit: Visit) -> bool | None:
    if visit.wait_seconds is None:
        return None
    return visit.wait_seconds > WALK_IN_WAIT_STANDARD.total_seconds()

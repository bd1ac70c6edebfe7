"""The ticket kiosk: the next queue number of a service today (K-001, K-002, ... per service
per day), written with its ``visit.created`` op in one transaction; a repeated press returns the
number it got the first time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max
from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.models import ServiceCategory, Visit
from branch_agent.services.common import Refused, form_submit, iso, now_local
from sync import ops

MAX_NUMBER_PER_DAY = 9999


@dataclass(frozen=True)
class Issued:
    visit: Visit
    created: bool  # False: a repeated request, answered with the number it got the first time


def issue_number(
    service_code: str,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
    appointment: str = "",
) -> Issued:
    """Give the next queue number of a service today (K-001, K-002, ... per service per day);
    ``appointment``: the check-in code it was given for (``branch_agent.appointments``)."""
    service = ServiceCategory.objects.filter(
        code=service_code, kind=ServiceCategory.Kind.SERVICE, active=True
    ).first()
    if service is None or not service.queue_letter:
        raise Refused(
            _("%(service)s is not a service with a queue here.") % {"service": service_code},
            field="service",
            code="unknown_service",
        )
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "issue")
        if submit.earlier_visit is not None:
            return Issued(submit.earlier_visit, created=False)
        day = moment.date()
        last = Visit.objects.filter(service=service, service_day=day).aggregate(n=Max("number"))
        number = (last["n"] or 0) + 1
        if number > MAX_NUMBER_PER_DAY:
            raise Refused(_("The queue of %(service)s is full for today.") % {"service": service})
        visit = Visit.objects.create(
            service=service,
            service_day=day,
            number=number,
            queue_number=f"{service.queue_letter}-{number:03d}",
            issued_at=moment,
        )
        submit.record(visit)
        outbox.record(
            ops.VISIT_CREATED,
            str(visit.pk),
            ops.VisitCreated(
                service=service.code,  # type: ignore[arg-type]
                queue_number=visit.queue_number,
                service_day=day.isoformat(),
                issued_at=iso(moment),
                appointment=appointment,
            ),
        )
    return Issued(visit, created=True)

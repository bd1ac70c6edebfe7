"""How late a breached clock is: up to its stop (a walk-in called 2 minutes after its due time
stays 2 minutes late), not up to whenever the page is looked at."""

from __future__ import annotations

import datetime as dt

import pytest

from pst_helpdesk_ext.models import Channel, PSTTicket, SLAState
from pst_helpdesk_ext.services.triage import time_left

pytestmark = pytest.mark.django_db
DUE = dt.datetime(2026, 3, 17, 3, 49, tzinfo=dt.UTC)


def clock(**fields) -> PSTTicket:
    return PSTTicket(channel=Channel.objects.get(code="walk_in"), sla_due_at=DUE, **fields)


def test_a_stopped_breach_is_late_by_its_stop():
    called = clock(sla_state=SLAState.BREACHED, sla_stopped_at=DUE + dt.timedelta(minutes=2))
    for later in (3, 30, 600):
        now = DUE + dt.timedelta(minutes=later)
        assert time_left(called, now) == -dt.timedelta(minutes=2)


def test_a_running_breach_grows_until_it_stops():
    waiting = clock(sla_state=SLAState.BREACHED, sla_stopped_at=None)
    assert time_left(waiting, DUE + dt.timedelta(minutes=7)) == -dt.timedelta(minutes=7)

"""Desk pauses at central: ``desk.paused`` / ``desk.resumed`` ops become DeskPause rows through the
walk-in intake, and the triage page's wait picture shows them per branch and day."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pst_helpdesk_ext.models import DeskPause
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from pst_helpdesk_ext.services.intake_pauses import pause_picture
from pst_helpdesk_ext.services.triage import TriageFilters, wait_picture
from sync import ops as k
from sync.store import APPLIED, REJECTED
from tests.central.test_intake import RECEIVED, WIB, WalkinOps
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db

URL = "/pst/triage/"


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


def paused(factory: WalkinOps, pause_id: str, at: dt.datetime, desk="2", reason="sholat"):
    factory.clock = at
    return factory.op(
        k.DESK_PAUSED, pause_id, {"desk": desk, "reason": reason, "started_at": at.isoformat()}
    )


def resumed(factory: WalkinOps, pause_id: str, at: dt.datetime, seconds: int, desk="2"):
    factory.clock = at
    return factory.op(
        k.DESK_RESUMED,
        pause_id,
        {"desk": desk, "ended_at": at.isoformat(), "paused_seconds": seconds},
    )


def at(hour, minute=0, day=17):
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=WIB)


def test_a_pause_and_its_resume_are_recorded_in_one_batch_or_two(branch):
    factory = WalkinOps()
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    outcomes = apply_walkin_ops(
        branch,
        [
            paused(factory, one, at(12)),
            resumed(factory, one, at(12, 15), 900),
            paused(factory, two, at(13), reason="rapat"),
        ],
        RECEIVED,
    )
    assert [o.result for o in outcomes] == [APPLIED] * 3
    later = apply_walkin_ops(branch, [resumed(factory, two, at(13, 40), 2400)], RECEIVED)
    assert [o.result for o in later] == [APPLIED]
    rows = {p.origin_id: p for p in DeskPause.objects.filter(branch=branch)}
    assert (rows[one].desk, rows[one].reason, rows[one].paused_seconds) == ("2", "sholat", 900)
    assert rows[one].started_at == at(12) and rows[one].ended_at == at(12, 15)
    assert rows[one].service_day == dt.date(2026, 3, 17)
    assert (rows[two].reason, rows[two].paused_seconds) == ("rapat", 2400)


def test_bad_pause_ops_are_rejected_alone_with_a_code(branch):
    factory = WalkinOps()
    good, never = str(uuid.uuid4()), str(uuid.uuid4())
    other = create_branch("1207", "Labuhanbatu", "Asia/Jakarta", "pst1207@example.org")
    theirs = str(uuid.uuid4())
    apply_walkin_ops(other, [paused(WalkinOps(), theirs, at(9))], RECEIVED)
    bad_reason = paused(factory, str(uuid.uuid4()), at(10))
    bad_reason = msgspec.structs.replace(
        bad_reason, payload={**bad_reason.payload, "reason": "ngopi"}
    )
    outcomes = apply_walkin_ops(
        branch,
        [
            bad_reason,  # seq 1
            paused(factory, good, at(11)),
            paused(factory, good, at(11, 5)),  # the same pause twice
            resumed(factory, never, at(11, 10), 60),  # a pause central never received
            resumed(factory, theirs, at(11, 10), 60),  # another branch's pause
            paused(factory, str(uuid.uuid4()), at(11, day=1) - dt.timedelta(days=4000)),
        ],
        RECEIVED,
    )
    assert [(o.result, o.code) for o in outcomes] == [
        (REJECTED, "invalid_payload"),
        (APPLIED, ""),
        (REJECTED, "duplicate_entity"),
        (REJECTED, "unknown_entity"),
        (REJECTED, "unknown_entity"),
        (REJECTED, "implausible_time"),
    ]
    assert "ngopi" in outcomes[0].detail and never in outcomes[3].detail
    assert DeskPause.objects.filter(branch=branch).count() == 1
    assert DeskPause.objects.get(origin_id=theirs).ended_at is None  # untouched


def test_a_constant_number_of_queries_whatever_the_number_of_pauses(branch):
    def run(count):
        factory = WalkinOps(seq=1)
        batch = []
        for n in range(count):
            pid = str(uuid.uuid4())
            batch.append(paused(factory, pid, at(8 + n // 6, n % 6 * 10)))
            batch.append(resumed(factory, pid, at(8 + n // 6, n % 6 * 10 + 5), 300))
        with CaptureQueriesContext(connection) as queries:
            outcomes = apply_walkin_ops(branch, batch, RECEIVED)
        assert {o.result for o in outcomes} == {APPLIED}
        return len(queries)

    assert run(2) == run(12)


def test_the_wait_picture_shows_the_pauses_per_branch_and_day(client, branch):
    factory = WalkinOps()
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    apply_walkin_ops(
        branch,
        [
            paused(factory, a, at(12, day=16)),
            resumed(factory, a, at(12, 15, day=16), 900),
            paused(factory, b, at(12, day=17), reason="istirahat"),
            resumed(factory, b, at(12, 20, day=17), 1200),
            paused(factory, c, at(14, day=17), reason="rapat"),  # not resumed yet
        ],
        RECEIVED,
    )
    picture = wait_picture([branch], TriageFilters(), dt.date(2026, 3, 16), dt.date(2026, 3, 17))
    rows = pause_picture(picture)
    assert [(r.branch.code, r.days, r.period) for r in rows] == [
        ("1222", [(1, 15), (2, 20)], (3, 35))
    ]
    client.force_login(make_staff("admin", superuser=True))
    html = client.get(URL, {"wait_from": "2026-03-16", "wait_to": "2026-03-17"}).content.decode()
    table = html[html.index('id="pst-pause-picture"') :]
    row = table[
        table.index('data-branch="1222"') : table.index("</tr>", table.index('data-branch="1222"'))
    ]
    assert "1 jeda, 15 mnt" in row and "2 jeda, 20 mnt" in row and "3 jeda, 35 mnt" in row
    english = client.get(
        URL, {"wait_from": "2026-03-16", "wait_to": "2026-03-17"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Desk pauses per branch and day" in english.content.decode()

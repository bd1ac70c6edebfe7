"""The office floor: position and estimated wait, the visitor's live page (QR code), desk pauses
and the head of office's figures, on the real SQLite store and through Django's test client."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from branch_agent import floor, pauses, services, throttle
from branch_agent.models import DeskPause, OutboxOp, Visit, VisitLink
from sync import ops
from tests.agent.conftest import at

pytestmark = pytest.mark.django_db

LAN = "192.168.10.5:8080"


@pytest.fixture(autouse=True)
def lan_address(settings):
    """This PC's LAN address is in allowed_hosts (agent.toml), as on an office PC."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "192.168.10.5"]


def serve(visit, desk, start, end, outcome="resolved"):
    """Call ``visit`` to ``desk`` at ``start`` and finish it at ``end`` (service from ``start``)."""
    called = services.call_next(desk, now=start)
    assert called.pk == visit.pk
    services.start_service(visit.pk, desk, officer="Budi", now=start)
    services.finish(
        visit.pk,
        desk,
        services.Conclusion(subject="data", notes="PDRB", outcome=outcome),
        officer="Budi",
        now=end,
    )
    return Visit.objects.get(pk=visit.pk)


def issue(service="konsultasi", when=None):
    return services.issue_number(service, now=when).visit


# --- position and estimate --------------------------------------------------------------------


def test_position_counts_the_waiting_ahead_in_the_same_service():
    k1, k2 = issue(when=at(8)), issue(when=at(8, 1))
    p1 = issue("perpustakaan", at(8, 2))
    k3 = issue(when=at(8, 3))
    assert [floor.position(v) for v in (k1, k2, p1, k3)] == [1, 2, 1, 3]
    services.call_next("1", now=at(8, 5))  # K-001 leaves the queue
    k3.refresh_from_db()
    assert floor.position(k3) == 2
    k1.refresh_from_db()
    assert floor.position(k1) is None  # called: no position any more


def test_no_estimate_below_three_served_today_then_a_range_from_their_service_times():
    first = [issue(when=at(8, n)) for n in range(2)]
    serve(first[0], "1", at(8, 10), at(8, 16))  # 6 min
    serve(first[1], "1", at(8, 16), at(8, 20))  # 4 min
    waiting = issue(when=at(8, 21))
    assert floor.estimate(waiting, now=at(8, 21)) is None  # 2 served: not enough data
    third = issue(when=at(8, 22))
    serve(waiting, "1", at(8, 22), at(8, 32))  # 10 min
    fourth = issue("perpustakaan", at(8, 33))  # another service, ahead of ``mine`` all the same
    mine = issue(when=at(8, 34))
    guess = floor.estimate(mine, now=at(8, 35))
    # By hand: service times today 240, 360, 600 s; p25 = 240 (rank ceil(0.75) = 1), p75 = 600
    # (rank ceil(2.25) = 3). Ahead of ``mine``: K-004 and P-001 (2). One desk called in the hour.
    # Low: floor(2 / 1) * 240 = 480 s = 8 min; high: (2 + 1) * 600 = 1800 s = 30 min.
    assert (guess.low, guess.high, guess.served, guess.desks) == (8, 30, 3, 1)
    assert third.queue_number == "K-004" and fourth.queue_number == "P-001"
    # A second desk calling halves the rounds: floor(1 / 2) * 240 = 0 .. (0 + 1) * 600 = 10 min.
    services.call_next("2", now=at(8, 36))  # calls K-004
    guess = floor.estimate(Visit.objects.get(pk=mine.pk), now=at(8, 37))
    assert (guess.low, guess.high, guess.desks) == (0, 10, 2)


def test_a_paused_desk_is_not_counted_as_open():
    visit = issue(when=at(8))
    services.call_next("2", now=at(8, 1))
    services.no_show(visit.pk, "2", now=at(8, 2))
    issue(when=at(8, 3))
    services.call_next("1", now=at(8, 4))
    assert floor.open_desks(at(8, 5)) == 2
    services.recall(Visit.objects.get(desk="1").pk, "1", now=at(8, 5))
    pauses.pause("2", "sholat", now=at(8, 6))
    assert floor.open_desks(at(8, 7)) == 1


# --- desk pauses ------------------------------------------------------------------------------


def test_a_paused_desk_cannot_call_next_until_it_resumes_and_both_travel_as_ops():
    issue(when=at(9))
    row = pauses.pause("2", "sholat", by="Budi", now=at(12, 1))
    with pytest.raises(services.Refused) as refused:
        services.call_next("2", now=at(12, 5))
    assert refused.value.code == "desk_paused"
    assert "2" in refused.value.message and "12:01" in refused.value.message
    assert Visit.objects.get().status == Visit.Status.WAITING  # nothing changed
    assert services.call_next("1", now=at(12, 6)) is not None  # other desks go on
    pauses.resume("2", now=at(12, 16))
    kinds = list(OutboxOp.objects.order_by("seq").values_list("kind", "entity_id", "payload"))
    paused = [k for k in kinds if k[0] in (ops.DESK_PAUSED, ops.DESK_RESUMED)]
    assert paused == [
        (
            ops.DESK_PAUSED,
            str(row.pk),
            {"desk": "2", "reason": "sholat", "started_at": at(12, 1).isoformat()},
        ),
        (
            ops.DESK_RESUMED,
            str(row.pk),
            {"desk": "2", "ended_at": at(12, 16).isoformat(), "paused_seconds": 900},
        ),
    ]
    for kind, _entity, payload in paused:  # every payload fits the wire contract
        ops.decode_payload(kind, payload)


def test_pause_refusals_name_the_problem_and_write_nothing():
    with pytest.raises(services.Refused) as bad_reason:
        pauses.pause("1", "ngopi", now=at(10))
    assert bad_reason.value.field == "reason" and "ngopi" in bad_reason.value.message
    with pytest.raises(services.Refused) as no_desk:
        pauses.pause("7", "rapat", now=at(10))
    assert no_desk.value.code == "unknown_desk"
    with pytest.raises(services.Refused) as not_paused:
        pauses.resume("1", now=at(10))
    assert not_paused.value.code == "desk_not_paused"
    issue(when=at(10))
    services.call_next("1", now=at(10, 1))
    with pytest.raises(services.Refused) as busy:
        pauses.pause("1", "istirahat", now=at(10, 2))
    assert busy.value.code == "desk_busy" and "K-001" in busy.value.message
    pauses.pause("2", "rapat", now=at(10, 3))
    with pytest.raises(services.Refused) as twice:
        pauses.pause("2", "istirahat", now=at(10, 4))
    assert twice.value.code == "desk_paused"
    assert DeskPause.objects.count() == 1
    assert OutboxOp.objects.filter(kind=ops.DESK_PAUSED).count() == 1


def test_desk_page_pauses_and_resumes_and_the_api_says_why_it_cannot_call(users):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users["desk_officer"])
    issue()
    page = client.post("/desk/1/pause/", {"action": "pause", "reason": "istirahat"}, follow=True)
    html = page.content.decode()
    assert "This desk is paused (break)" in html
    refused = client.post("/desk/1/action/", {"action": "call_next"}, follow=True)
    assert "Resume the desk first to call the next visitor." in refused.content.decode()
    api = client.post("/api/desk/1/call-next", {}, content_type="application/json")
    assert api.status_code == 409 and api.json()["error"] == "desk_paused"
    board = Client().get("/board/state.json").json()
    assert [d["paused"] for d in board["desks"]] == ["istirahat", None]  # the board speaks id
    client.post("/desk/1/pause/", {"action": "resume"})
    assert client.post("/desk/1/action/", {"action": "call_next"}).status_code == 302
    assert Visit.objects.get().status == Visit.Status.CALLED


def test_the_board_names_the_pause_in_indonesian():
    pauses.pause("2", "sholat")
    board = Client(HTTP_ACCEPT_LANGUAGE="id").get("/board/state.json").json()
    assert [(d["desk"], d["paused"]) for d in board["desks"]] == [("1", None), ("2", "sholat")]
    html = Client(HTTP_ACCEPT_LANGUAGE="id").get("/board/").content.decode()
    assert "Jeda: sholat" in html


# --- the ticket and the visitor's live page ---------------------------------------------------


def live_url(html: str) -> str:
    return re.search(r"http://192\.168\.10\.5:8080(/q/[^/\"<\s]+/)", html).group(1)


def test_ticket_shows_position_wait_and_a_qr_code_to_a_live_page_by_token(users):
    visit = issue()
    kiosk = Client(HTTP_ACCEPT_LANGUAGE="id", HTTP_HOST=LAN)
    html = kiosk.get(f"/kiosk/ticket/{visit.pk}/").content.decode()
    assert "Posisi dalam antrean: 1" in html
    assert "Perkiraan waktu tunggu: perkiraan belum tersedia" in html
    assert "<svg" in html and 'class="segno"' in html
    path = live_url(html)
    token = VisitLink.objects.get(visit=visit).token
    assert path == f"/q/{token}/" and str(visit.pk) not in path and len(token) >= 32
    # The same ticket shown again keeps its link.
    assert live_url(kiosk.get(f"/kiosk/ticket/{visit.pk}/").content.decode()) == path

    phone = Client(HTTP_ACCEPT_LANGUAGE="id", HTTP_HOST=LAN)
    page = phone.get(path).content.decode()
    assert "K-001" in page and "Anda nomor 1 dalam antrean." in page
    desk = Client()
    desk.force_login(users["desk_officer"])
    desk.post("/desk/2/action/", {"action": "call_next"})
    state = phone.get(f"{path}state.json").json()
    assert state["status"] == "called" and state["desk"] == "2"
    assert state["text"] == "Nomor Anda sedang dipanggil, meja 2."
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(path).content.decode()
    assert "Your number is being called, desk 2." in english


def test_live_page_has_no_personal_data_and_unknown_tokens_are_404(users):
    visit = issue()
    services.record_guestbook(
        visit.pk,
        services.GuestBookData(
            name="Siti Aminah",
            institution="USU",
            email="siti@example.ac.id",
            phone="0812",
            id_type="ktp",
            id_hash="a" * 64,
            id_last4="0001",
            purpose="PDRB",
            consent=True,
        ),
    )
    link = floor.link_for(visit)
    body = Client().get(f"/q/{link.token}/").content.decode()
    body += Client().get(f"/q/{link.token}/state.json").content.decode()
    for private in ("Siti", "siti@", "0812", "0001", "USU", str(visit.pk)):
        assert private not in body
    assert Client().get(f"/q/{link.token}x/").status_code == 404
    assert Client().get(f"/q/{visit.pk}/").status_code == 404


def test_live_page_is_rate_limited_per_device():
    throttle.reset()
    link = floor.link_for(issue())
    phone = Client(REMOTE_ADDR="192.168.10.77")
    codes = [
        phone.get(f"/q/{link.token}/state.json").status_code
        for _ in range(throttle.LIVE_VIEWS_PER_DEVICE_PER_MINUTE + 1)
    ]
    assert codes[:-1] == [200] * throttle.LIVE_VIEWS_PER_DEVICE_PER_MINUTE
    assert codes[-1] == 429
    limited = phone.get(f"/q/{link.token}/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert Client(REMOTE_ADDR="192.168.10.78").get(f"/q/{link.token}/").status_code == 200
    throttle.reset()


def test_a_kiosk_on_this_pc_puts_a_lan_address_from_allowed_hosts_in_the_qr(settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "pst-1222.local", "192.168.10.5"]
    assert floor.lan_base_url("127.0.0.1:8080", "8080") == "http://192.168.10.5:8080"
    assert floor.lan_base_url("pst-1222.local:8080", "8080") == "http://pst-1222.local:8080"
    assert floor.lan_base_url("[::1]:8080", "8080") == "http://192.168.10.5:8080"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    assert floor.lan_base_url("localhost:8080", "8080") is None
    html = Client(HTTP_HOST="localhost:8080").get(f"/kiosk/ticket/{issue().pk}/").content
    assert b"<svg" not in html  # no QR code to this PC itself


# --- the head's page --------------------------------------------------------------------------


@pytest.fixture
def head_user(db):
    user = User.objects.create_user("kepala", password="pw-kepala")
    user.groups.add(Group.objects.get(name="branch_head"))
    return user


def test_head_figures_equal_those_computed_by_hand_from_the_visits():
    day = at(8).date()
    a = issue(when=at(8))
    b = issue(when=at(8, 2))
    c = issue("perpustakaan", at(8, 4))
    d = issue(when=at(8, 30))
    serve(a, "1", at(8, 5), at(8, 17))  # wait 5:00, service 12:00
    serve(b, "2", at(8, 9), at(8, 15))  # wait 7:00 (from its issue), service 6:00
    services.call_next("1", now=at(8, 20))  # P-001: wait from 8:04 to 8:20 = 16:00
    services.no_show(c.pk, "1", now=at(8, 25))
    serve(d, "1", at(8, 40), at(8, 43))  # K-003: issued 8:30, queue free since 8:17 -> 10:00
    pauses.pause("2", "sholat", now=at(12, 0))
    pauses.resume("2", now=at(12, 15))
    pauses.pause("2", "rapat", now=at(13, 0))  # still open at 13:20
    late = [issue(when=at(13, n)) for n in (1, 5)]
    issue("perpustakaan", at(13, 10))
    now = at(13, 20)
    figures = floor.head_figures(now=now)

    # By hand, from the visits as stored.
    visits = list(Visit.objects.filter(service_day=day))
    for desk in ("1", "2"):
        mine = [v for v in visits if v.desk == desk]
        waits = [v.wait_seconds for v in mine if v.wait_seconds is not None]
        times = [v.service_seconds for v in mine if v.status == "finished"]
        row = next(r for r in figures.desks if r.desk == desk)
        assert row.served == sum(1 for v in mine if v.status == "finished")
        assert row.no_show == sum(1 for v in mine if v.status == "no_show")
        assert row.average_wait_seconds == round(sum(waits) / len(waits))
        assert row.average_service_seconds == round(sum(times) / len(times))
    one = next(r for r in figures.desks if r.desk == "1")
    two = next(r for r in figures.desks if r.desk == "2")
    assert (one.served, one.no_show, one.called) == (2, 1, 3)
    assert one.average_wait_seconds == round((300 + 960 + 600) / 3)
    assert one.average_service_seconds == round((720 + 180) / 2)
    assert (two.served, two.average_wait_seconds, two.average_service_seconds) == (1, 420, 360)
    assert len(two.pauses) == 2 and two.paused_seconds == 15 * 60 + 20 * 60
    assert two.paused_now is not None and two.paused_now.reason == "rapat"
    assert (one.pauses, one.paused_seconds, one.paused_now) == ([], 0, None)

    today = figures.today
    all_waits = [v.wait_seconds for v in visits if v.wait_seconds is not None]
    finished = [v.service_seconds for v in visits if v.status == "finished"]
    assert (today.day, today.issued, today.served, today.called) == (day, 7, 3, 4)
    assert today.average_wait_seconds == round(sum(all_waits) / len(all_waits))
    assert today.average_service_seconds == round(sum(finished) / len(finished))
    assert today.within_target == sum(1 for w in all_waits if w <= 600) == 3
    assert (today.pauses, today.paused_seconds) == (2, 35 * 60)
    assert len(figures.days) == floor.DAYS_SHOWN and figures.days[1].issued == 0

    # Waiting now: K-004 and K-005 (queue free since 8:43, so from their issue), P-002.
    waiting = {w.service.code: w for w in figures.waiting}
    assert waiting["konsultasi"].waiting == 2
    assert waiting["konsultasi"].longest_wait_seconds == int(
        (now - late[0].issued_at).total_seconds()
    )
    assert waiting["konsultasi"].over_target  # 19 minutes
    assert (waiting["perpustakaan"].waiting, waiting["perpustakaan"].longest_wait_seconds) == (
        1,
        600,
    )
    assert waiting["perpustakaan"].over_target  # 10:00 is not within the standard's "under 10"
    assert (waiting["penjualan"].waiting, waiting["penjualan"].longest_wait_seconds) == (0, None)


def test_head_page_is_for_the_head_and_admins_only(users, head_user):
    issue()
    for role in ("front_office", "desk_officer"):
        client = Client()
        client.force_login(users[role])
        assert client.get("/head/").status_code == 403
    for user in (head_user, users["branch_admin"]):
        client = Client(HTTP_ACCEPT_LANGUAGE="id")
        client.force_login(user)
        html = client.get("/head/").content.decode()
        assert "Kepala kantor" in html and 'id="head-desk-table"' in html
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(head_user)
    bad = client.get("/head/?day=17-03-2026")
    assert bad.status_code == 400 and "is not a date" in bad.content.decode()
    past = client.get("/head/?day=2026-03-01")
    assert past.status_code == 200 and "Waiting now" not in past.content.decode()
    assert timezone.localdate().isoformat() in client.get("/head/").content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_store_that_cannot_write_still_shows_the_ticket_without_a_qr_code():
    visit = issue()
    cursor = connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    try:
        page = Client(HTTP_HOST=LAN).get(f"/kiosk/ticket/{visit.pk}/")
    finally:
        cursor.execute("PRAGMA query_only = OFF")
    html = page.content.decode()
    assert page.status_code == 200 and "K-001" in html and "Posisi dalam antrean: 1" in html
    assert "<svg" not in html and VisitLink.objects.count() == 0

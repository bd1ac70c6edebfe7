"""The local UI through Django's test client: roles, CSRF, repeated submits, i18n, bad input,
and a store that cannot write."""

import re

import pytest
from django.db import connection
from django.test import Client

from branch_agent import services
from branch_agent.models import GuestBookEntry, OutboxOp, Rating, Visit

pytestmark = pytest.mark.django_db

VALID_NIK = "1222011708900001"  # Labuhanbatu Selatan, district 01, born 17-08-1990, serial 0001


def token_of(html: bytes) -> str:
    return re.search(rb'name="token" value="([^"]+)"', html).group(1).decode()


def login(role, users, **kwargs):
    client = Client(**kwargs)
    client.force_login(users[role])
    return client


def guest_form(token, **overrides):
    data = {
        "name": "Siti  Aminah",
        "institution": "USU",
        "email": "Siti@Example.AC.ID",
        "phone": "0812-3456-7890",
        "id_type": "ktp",
        "id_number": VALID_NIK,
        "purpose": "Data PDRB kabupaten",
        "consent": "on",
        "token": token,
    }
    data.update(overrides)
    return data


def test_screens_need_no_login_and_staff_pages_do(users):
    anonymous = Client()
    for url in ("/kiosk/", "/board/", "/board/state.json", "/rating/1/", "/api/queue"):
        assert anonymous.get(url).status_code == 200, url
    for url in ("/front/", "/desk/1/", "/sync/", "/search/", "/desk/1/queue.json"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_roles_are_enforced(users):
    front = login("front_office", users)
    desk = login("desk_officer", users)
    assert front.get("/front/").status_code == 200
    assert front.get("/desk/1/").status_code == 403
    assert desk.get("/desk/1/").status_code == 200
    assert desk.get("/front/").status_code == 403
    assert desk.post("/desk/1/action/", {"action": "call_next"}).status_code == 302
    assert front.post("/desk/1/action/", {"action": "call_next"}).status_code == 403
    admin = login("branch_admin", users)
    assert admin.get("/front/").status_code == 200 and admin.get("/desk/2/").status_code == 200
    assert admin.get("/desk/9/").status_code == 404


def test_kiosk_double_submit_gives_one_number(users):
    client = Client()
    token = token_of(client.get("/kiosk/").content)
    first = client.post("/kiosk/", {"service": "konsultasi", "token": token})
    second = client.post("/kiosk/", {"service": "konsultasi", "token": token})
    assert first["Location"] == second["Location"]
    assert Visit.objects.count() == 1 and OutboxOp.objects.count() == 1
    ticket = client.get(first["Location"])
    assert b"K-001" in ticket.content
    assert b"print.css" in ticket.content  # thermal-printer stylesheet on the ticket page


def test_kiosk_post_without_csrf_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/kiosk/", {"service": "konsultasi", "token": "x" * 20})
    assert response.status_code == 403
    assert Visit.objects.count() == 0


def test_guest_book_stores_only_hash_and_last4(users):
    visit = services.issue_number("konsultasi").visit
    client = login("front_office", users)
    token = token_of(client.get(f"/front/{visit.pk}/").content)
    response = client.post(f"/front/{visit.pk}/", guest_form(token))
    assert response.status_code == 302
    entry = GuestBookEntry.objects.get()
    assert (entry.name, entry.email, entry.id_last4) == (
        "Siti Aminah",
        "Siti@example.ac.id",
        "0001",
    )
    assert len(entry.id_hash) == 64 and VALID_NIK not in entry.id_hash
    op = OutboxOp.objects.get(kind="guestbook.recorded")
    assert VALID_NIK not in str(op.payload)
    # A repeated submit of the same form changes nothing.
    again = client.post(f"/front/{visit.pk}/", guest_form(token))
    assert again.status_code == 302 and GuestBookEntry.objects.count() == 1
    assert OutboxOp.objects.filter(kind="guestbook.recorded").count() == 1
    # The desk sees the guest book; the full number appears nowhere.
    desk = login("desk_officer", users)
    desk.post("/desk/1/action/", {"action": "call_next", "token": "call-token-0001"})
    page = desk.get("/desk/1/").content.decode()
    assert "Siti Aminah" in page and VALID_NIK not in page


def test_guest_book_number_is_hidden_from_error_reports(users):
    from django.views.debug import SafeExceptionReporterFilter

    visit = services.issue_number("konsultasi").visit
    client = login("front_office", users)
    token = token_of(client.get(f"/front/{visit.pk}/").content)
    response = client.post(f"/front/{visit.pk}/", guest_form(token))
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert "Aminah" in shown["name"]  # the rest of the form stays readable
    assert VALID_NIK not in str(shown["id_number"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "1299011708900001", "regency 99"),
        ("id_number", "1222011708900000", "serial 0000"),
        ("id_number", "12220117", "16 digits"),
        ("email", "siti@localhost", "valid email"),
        ("phone", "call me", "call me"),
        ("consent", "", "must agree"),
        ("name", "   ", ""),
    ],
)
def test_bad_guest_book_input_names_the_field_and_saves_nothing(users, field, value, message):
    visit = services.issue_number("konsultasi").visit
    client = login("front_office", users, HTTP_ACCEPT_LANGUAGE="en")
    token = token_of(client.get(f"/front/{visit.pk}/").content)
    data = guest_form(token, **{field: value})
    if field == "consent":
        del data["consent"]
    response = client.post(f"/front/{visit.pk}/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="{field}"' in html or f'id="id_{field}"' in html
    assert message in html
    assert VALID_NIK not in html and "1299011708900001" not in html  # never echoed back
    assert GuestBookEntry.objects.count() == 0
    assert OutboxOp.objects.filter(kind="guestbook.recorded").count() == 0


def test_desk_walks_a_visit_and_the_rating_kiosk_takes_one_rating(users):
    visit = services.issue_number("konsultasi").visit
    desk = login("desk_officer", users)
    desk.post("/desk/1/action/", {"action": "call_next", "token": "call-token-0001"})
    desk.post("/desk/1/action/", {"action": "call_next", "token": "call-token-0001"})
    visit.refresh_from_db()
    assert visit.status == "called" and visit.desk == "1"
    board = Client().get("/board/state.json").json()
    (call,) = board["calls"]
    assert call["text"] == "Nomor antrian K-001, silakan ke meja 1"
    assert call["speech"].startswith("Nomor antrian K, nol, nol, satu")
    desk.post("/desk/1/action/", {"action": "start", "visit": visit.pk, "token": "start-tok-001"})
    finish = {
        "action": "finish",
        "visit": visit.pk,
        "token": "finish-token-0001",
        "subject": "data",
        "notes": "PDRB 2024 per kecamatan",
        "outcome": "escalated",
        "follow_up": "zoom",
        "send_to_rating": "on",
    }
    desk.post("/desk/1/action/", finish)
    desk.post("/desk/1/action/", finish)
    visit.refresh_from_db()
    assert (visit.status, visit.outcome, visit.follow_up) == ("finished", "escalated", "zoom")
    assert OutboxOp.objects.filter(kind="visit.escalated").count() == 1

    kiosk = Client()
    page = kiosk.get("/rating/1/")
    assert b"K-001" in page.content
    assert kiosk.get("/rating/1/state.json").json()["pending"] is True
    token = token_of(page.content)
    answers = {f"u{i}": "4" for i in range(1, 10)} | {
        "overall": "4",
        "comment": "Cepat",
        "visit": str(visit.pk),
        "token": token,
    }
    assert kiosk.post("/rating/1/", answers).status_code == 302
    assert kiosk.post("/rating/1/", answers).status_code == 302  # double tap: thanked again
    assert Rating.objects.count() == 1 and OutboxOp.objects.filter(kind="rating.given").count() == 1
    assert kiosk.get("/rating/1/state.json").json()["pending"] is False
    # The rating kiosk of another desk cannot rate this visit.
    other = kiosk.post("/rating/2/", answers)
    assert other.status_code == 302 and Rating.objects.count() == 1


def test_incomplete_rating_is_refused_with_the_question_marked(users):
    visit = services.issue_number("konsultasi").visit
    services.call_next("1")
    services.finish(visit.pk, "1", services.Conclusion("data", "", "resolved"), officer="x")
    kiosk = Client()
    token = token_of(kiosk.get("/rating/1/").content)
    response = kiosk.post(
        "/rating/1/", {"u1": "4", "overall": "4", "visit": str(visit.pk), "token": token}
    )
    assert response.status_code == 400 and b"has-error" in response.content
    assert Rating.objects.count() == 0


def test_indonesian_by_default_english_on_request():
    indonesian = Client().get("/kiosk/").content.decode()
    assert "Selamat datang di PST" in indonesian and 'lang="id"' in indonesian
    client = Client()
    english = client.get("/kiosk/?lang=en").content.decode()
    assert "Welcome to PST" in english and "Statistical consultation" in english
    assert 'name="lang" value="en"' in english  # the number is taken in English too
    # The language is the visitor's, not the browser's: the next visitor starts in Indonesian,
    # whatever a staff member left in the language cookie.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Selamat datang di PST" in client.get("/kiosk/").content.decode()


def test_a_visitors_language_follows_the_ticket_and_never_the_next_visitor():
    client = Client()
    page = client.get("/kiosk/?lang=en").content.decode()
    token = token_of(page.encode())
    response = client.post("/kiosk/", {"service": "konsultasi", "token": token, "lang": "en"})
    assert response.status_code == 302 and response["Location"].endswith("?lang=en")
    ticket = client.get(response["Location"]).content.decode()
    assert 'lang="en"' in ticket and "Queue number" in ticket
    # "Done" and the automatic return lead to the kiosk in the office's language.
    assert '<a class="button ticket-done" href="/kiosk/">' in ticket
    assert 'data-return="/kiosk/"' in ticket
    # An unknown language is the default one.
    assert "Selamat datang di PST" in client.get("/kiosk/?lang=xx").content.decode()


def test_sync_badge_on_staff_pages(users):
    services.issue_number("konsultasi")
    page = login("front_office", users).get("/front/").content.decode()
    assert "sync-badge offline" in page and '<span class="pending">1</span>' in page


def test_wait_clock_is_shown_and_flagged_on_the_desk(users):
    import datetime as dt

    moment = services.now_local()
    earlier = max(moment - dt.timedelta(minutes=11), moment.replace(hour=0, minute=0, second=1))
    services.issue_number("konsultasi", now=earlier)
    if (moment - earlier).total_seconds() < 600:
        pytest.skip("just after midnight: no 10-minute-old visitor can exist today")
    data = login("desk_officer", users).get("/desk/1/queue.json").json()
    (row,) = data["waiting"]
    assert row["level"] == "over" and row["wait_seconds"] >= 600


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_full_disk_gives_a_clear_page_and_never_a_half_record():
    client = Client()
    cursor = connection.cursor()
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    cursor.execute(f"PRAGMA max_page_count = {pages}")
    try:
        outcomes = []
        for _ in range(300):
            token = token_of(client.get("/kiosk/").content)
            response = client.post("/kiosk/", {"service": "konsultasi", "token": token})
            outcomes.append(response.status_code)
            if response.status_code == 503:
                break
    finally:
        cursor.execute("PRAGMA max_page_count = 1073741823")
    assert outcomes[-1] == 503, outcomes
    assert (
        "NOT saved" in response.content.decode() or "TIDAK tersimpan" in response.content.decode()
    )
    assert b'data-code="store_full"' in response.content
    saved = outcomes.count(302)
    assert Visit.objects.count() == saved == OutboxOp.objects.count()
    api = Client().post(
        "/api/queue/issue", {"service": "konsultasi"}, content_type="application/json"
    )
    assert api.status_code == 201  # space again: works again


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_read_only_store_gives_a_clear_error_to_the_ui_and_the_api():
    cursor = connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    try:
        client = Client()
        token = token_of(client.get("/kiosk/").content)
        page = client.post("/kiosk/", {"service": "konsultasi", "token": token})
        api = client.post(
            "/api/queue/issue", {"service": "konsultasi"}, content_type="application/json"
        )
    finally:
        cursor.execute("PRAGMA query_only = OFF")
    assert page.status_code == 503 and b'data-code="store_read_only"' in page.content
    assert api.status_code == 503 and api.json()["error"] == "store_read_only"
    assert api.json()["saved"] is False
    assert Visit.objects.count() == 0 and OutboxOp.objects.count() == 0


def test_offline_search_finds_articles_from_the_feed(users):
    from branch_agent.sync_store import SqliteBranchStore
    from sync.store import ChangesPage, FeedEntry

    SqliteBranchStore().apply_changes(
        ChangesPage(
            0,
            2,
            (
                FeedEntry(
                    1,
                    "kb_category.upsert",
                    "3",
                    {
                        "id": 3,
                        "slug": "harga",
                        "name": "Harga",
                        "title": "Statistik Harga",
                        "description": "",
                        "language": "id",
                    },
                ),
                FeedEntry(
                    2,
                    "kb.upsert",
                    "9",
                    {
                        "id": 9,
                        "category": 3,
                        "title": "Membaca IHK",
                        "question": "Apa itu inflasi?",
                        "answer": "Inflasi dihitung dari IHK.",
                        "order": 0,
                        "updated": None,
                    },
                ),
            ),
            False,
        )
    )
    client = login("front_office", users)
    found = client.get("/search/", {"q": "inflasi ihk"}).content.decode()
    assert "Membaca IHK" in found and "Inflasi dihitung dari IHK." in found
    by_category = client.get("/search/", {"q": "statistik harga"}).content.decode()
    assert "Membaca IHK" in by_category
    nothing = client.get("/search/", {"q": "zzzz"}).content.decode()
    assert "Membaca IHK" not in nothing and "zzzz" in nothing


def test_refused_records_are_shown_with_their_reason_and_only_admins_close_them(users):
    from branch_agent.sync_store import SqliteBranchStore
    from sync.store import Rejection

    visit = services.issue_number("konsultasi").visit
    store = SqliteBranchStore()
    (op,) = store.pending_ops(1)
    store.acknowledge([], [Rejection(op.op_id, "invalid_payload", "queue number taken")], 1)
    front = login("front_office", users)
    page = front.get("/sync/").content.decode()
    assert "queue number taken" in page and visit.queue_number in page
    assert "has-rejected" in page  # the header badge flags it on every staff page
    assert front.post("/sync/", {"op_id": op.op_id}).status_code == 403
    admin = login("branch_admin", users)
    assert admin.post("/sync/", {"op_id": op.op_id}).status_code == 302
    assert services.sync_view().rejected == []
    assert "queue number taken" in admin.get("/sync/").content.decode()  # history stays


def test_a_rating_form_left_open_never_saves_under_the_next_visitor():
    first = services.issue_number("konsultasi").visit
    second = services.issue_number("konsultasi").visit
    done = services.Conclusion("data", "", "resolved")
    services.call_next("1")
    services.finish(first.pk, "1", done, officer="x")
    kiosk = Client()
    stale = kiosk.get("/rating/1/")
    assert first.queue_number.encode() in stale.content
    services.call_next("1")
    services.finish(second.pk, "1", done, officer="x")  # the next visitor, same kiosk
    answers = {f"u{i}": "3" for i in range(1, 10)} | {
        "overall": "3",
        "visit": str(first.pk),
        "token": token_of(stale.content),
    }
    response = kiosk.post("/rating/1/", answers)
    assert response["Location"] == "/rating/1/"  # a fresh form, for the visitor now there
    assert Rating.objects.count() == 0
    fresh = kiosk.get("/rating/1/")
    assert second.queue_number.encode() in fresh.content


@pytest.mark.parametrize("action", ["recall", "no_show", "start", "finish", "rate", "seen", "x"])
@pytest.mark.parametrize("visit", ["garbage", "00000000-0000-4000-8000-000000000000", ""])
def test_desk_actions_on_a_bad_visit_are_refused_not_500(users, action, visit):
    desk = login("desk_officer", users)
    data = {
        "action": action,
        "visit": visit,
        "token": "t" * 20,
        "subject": "data",
        "outcome": "resolved",
    }
    response = desk.post("/desk/1/action/", data, follow=True)
    # A refused "save and finish" shows the desk again as typed (400); the others redirect.
    assert response.status_code == (400 if action == "finish" else 200)
    assert b"msg-error" in response.content


def test_pages_with_bad_ids_are_404_not_500(users):
    admin = login("branch_admin", users)
    assert admin.get("/front/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert admin.get("/front/garbage/").status_code == 404
    assert Client().get("/kiosk/ticket/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert Client().get("/rating/0/").status_code == 404
    assert Client().get("/rating/abc/state.json").status_code == 404


def test_staff_start_page_shows_today_and_visitors_do_not_see_it(users):
    services.issue_number("konsultasi")
    staff = login("desk_officer", users).get("/").content.decode()
    assert "Hari ini" in staff and "Nomor diambil" in staff
    visitor = Client().get("/").content.decode()
    assert "Nomor diambil" not in visitor and "Kios antrean" in visitor


def test_a_central_restore_is_shown_on_the_sync_page_and_badge_until_an_admin_marks_it(users):
    from branch_agent.sync_store import SqliteBranchStore

    SqliteBranchStore().record_central_lost(first_seq=12, last_seq=20, resent=6, unrecoverable=3)
    front = login("front_office", users)
    page = front.get("/sync/").content.decode()
    assert 'id="central-lost"' in page and "12" in page and "20" in page
    assert "6 catatan dikirim ulang" in page and "3 catatan lebih lama" in page
    assert "3 hilang di pusat" in page and "has-rejected" in page  # the badge on every page
    assert front.post("/sync/", {"dismiss": "central_lost"}).status_code == 403
    admin = login("branch_admin", users)
    assert admin.post("/sync/", {"dismiss": "central_lost"}).status_code == 302
    assert 'id="central-lost"' not in admin.get("/sync/").content.decode()


# --- Issue 13: the branch floor keeps what people typed, ratings stay anonymous ----------------


def _serving(users, desk_no="1"):
    visit = services.issue_number("konsultasi").visit
    desk = login("desk_officer", users)
    desk.post(f"/desk/{desk_no}/action/", {"action": "call_next", "token": "call-token-0001"})
    desk.post(f"/desk/{desk_no}/action/", {"action": "start", "visit": visit.pk, "token": "s" * 20})
    return visit, desk


def _checked(html, name):
    """The values of the checked radio/checkbox inputs called ``name``."""
    return re.findall(
        rf'<input type="(?:radio|checkbox)" name="{name}" value="([^"]*)"[^>]*checked', html
    )


def _selected(html, name):
    select = re.search(rf'<select name="{name}".*?</select>', html, flags=re.S).group(0)
    return re.findall(r'<option value="([^"]*)" selected>', select)


def test_a_refused_save_and_finish_keeps_everything_the_officer_entered(users):
    visit, desk = _serving(users)
    typed = {
        "action": "finish",
        "visit": visit.pk,
        "token": "finish-token-0001",
        "subject": "metadata",
        "notes": "Menjelaskan metadata Susenas; dirujuk untuk membeli publikasi.",
        "outcome": "referred",  # ... but no service chosen
        "follow_up": "",
        "referred_to": "",
    }
    response = desk.post("/desk/1/action/", typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pilih layanan tujuan" in html and 'data-field="referred_to"' in html
    assert typed["notes"] in html
    assert _checked(html, "subject") == ["metadata"]
    assert _checked(html, "outcome") == ["referred"]  # not back to "resolved"
    assert _checked(html, "send_to_rating") == []  # it was unticked: it stays unticked
    assert 'name="next" value="/desk/1/"' in html  # switching language returns to the desk
    assert OutboxOp.objects.filter(kind__in=("visit.resolved", "consultation.noted")).count() == 0

    # Escalated without a follow-up mode: the target service chosen so far stays chosen too.
    again = desk.post(
        "/desk/1/action/", typed | {"outcome": "escalated", "referred_to": "penjualan"}
    ).content.decode()
    assert _selected(again, "referred_to") == ["penjualan"] and _checked(again, "outcome") == [
        "escalated"
    ]

    # Completed, the visit reaches central as referred to Penjualan, with its subject.
    token = token_of(response.content)  # the same form, sent again
    assert token == "finish-token-0001"
    done = desk.post("/desk/1/action/", typed | {"referred_to": "penjualan"})
    assert done.status_code == 302
    resolved = OutboxOp.objects.get(kind="visit.resolved").payload
    assert (resolved["outcome"], resolved["referred_to"]) == ("referred", "penjualan")
    assert OutboxOp.objects.get(kind="consultation.noted").payload["subject"] == "metadata"


def test_the_subject_reaches_central_even_without_notes(users):
    visit, desk = _serving(users)
    finish = {
        "action": "finish",
        "visit": visit.pk,
        "token": "finish-token-0002",
        "subject": "classification",
        "notes": "",
        "outcome": "resolved",
    }
    assert desk.post("/desk/1/action/", finish).status_code == 302
    noted = OutboxOp.objects.get(kind="consultation.noted").payload
    assert (noted["subject"], noted["notes"]) == ("classification", "")


def _rate(visit, **extra):
    kiosk = Client()
    token = token_of(kiosk.get("/rating/1/").content)
    answers = {f"u{i}": "3" for i in range(1, 10)} | {
        "overall": "3",
        "visit": str(visit.pk),
        "token": token,
    }
    return kiosk.post("/rating/1/", answers | extra)


def test_the_desk_never_sees_who_rated_or_how(users):
    visit, desk = _serving(users)
    desk.post(
        "/desk/1/action/",
        {
            "action": "finish",
            "visit": visit.pk,
            "token": "finish-token-0003",
            "subject": "data",
            "outcome": "resolved",
            "send_to_rating": "on",
        },
    )
    page = desk.get("/desk/1/").content.decode()
    assert 'data-rating-kiosk="busy"' in page
    assert _rate(visit).status_code == 302 and Rating.objects.count() == 1
    page = desk.get("/desk/1/").content.decode()
    finished = page[page.index("desk-finished") :]
    assert "K-001" in finished and 'data-rating-kiosk="free"' in finished
    assert "3/4" not in finished and "dinilai" not in finished  # no score, no "rated"
    assert "Kirim ke kios penilaian" not in finished  # no button that tells rated from not


def test_a_kiosk_complaint_is_anonymous_unless_the_visitor_asks_for_an_answer(users):
    first = services.issue_number("konsultasi").visit
    services.call_next("1")
    services.finish(first.pk, "1", services.Conclusion("data", "", "resolved"), officer="x")
    assert _rate(first, complaint="Antrian terlalu lama").status_code == 302
    payload = OutboxOp.objects.get(kind="complaint.filed").payload
    assert payload["text"] == "Antrian terlalu lama" and "reply_to" not in payload

    second = services.issue_number("konsultasi").visit
    services.call_next("1")
    services.finish(second.pk, "1", services.Conclusion("data", "", "resolved"), officer="x")
    # Asked for an answer but gave no address: refused, with everything still there.
    refused = _rate(second, complaint="Toilet rusak", contact="reply", reply_email="")
    html = refused.content.decode()
    assert refused.status_code == 400 and 'data-field="reply_email"' in html
    assert "Toilet rusak" in html and _checked(html, "contact") == ["reply"]
    assert _checked(html, "u1") == ["3"] and _checked(html, "overall") == ["3"]
    assert Rating.objects.filter(visit=second).count() == 0
    ok = _rate(second, complaint="Toilet rusak", contact="reply", reply_email="budi@Example.org")
    assert ok.status_code == 302
    answered = OutboxOp.objects.filter(kind="complaint.filed").order_by("seq").last().payload
    assert answered["reply_to"] == "budi@example.org"


def test_rating_without_a_desk_offers_the_desks():
    page = Client().get("/rating/")
    assert page.status_code == 200
    html = page.content.decode()
    for desk in ("1", "2"):
        assert f'href="/rating/{desk}/"' in html
    assert "Kios penilaian" in html
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/rating/").content.decode()
    assert "Rating kiosk" in english and "Kios penilaian" not in english


def test_a_one_person_office_has_one_account_for_front_office_and_desk(users):
    from django.contrib.auth.models import Group, User

    solo = User.objects.create_user("solo", password="pw-solo")
    solo.groups.add(Group.objects.get(name="front_and_desk"))
    client = Client()
    client.force_login(solo)
    assert client.get("/front/").status_code == 200
    assert client.get("/desk/1/").status_code == 200
    assert client.post("/desk/1/action/", {"action": "call_next"}).status_code == 302
    assert client.get("/sync/").status_code == 200
    # Offices that keep the roles apart still can.
    assert login("desk_officer", users).get("/front/").status_code == 403
    assert login("front_office", users).get("/desk/1/").status_code == 403


def test_the_favicon_is_served():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert b"favicon.svg" in Client().get("/kiosk/").content


def test_the_board_state_carries_the_branch_time_zone():
    state = Client().get("/board/state.json").json()
    assert state["utc_offset_minutes"] == 7 * 60 and state["time_zone"] == "WIB"
    page = Client().get("/board/").content.decode()
    assert 'data-utc-offset="420"' in page and "WIB" in page


def test_the_start_page_shows_the_average_score_only_from_five_ratings(users):
    admin = login("branch_admin", users)
    done = services.Conclusion("data", "", "resolved")
    scores = {f"U{i}": 4 for i in range(1, 10)}
    for overall in (1, 4, 4, 4, 4):
        visit = services.issue_number("konsultasi").visit
        services.call_next("1")
        services.finish(visit.pk, "1", done, officer="x")
        services.give_rating(visit.pk, services.RatingData(scores=scores, overall=overall))
        page = admin.get("/").content.decode()
        count = Rating.objects.count()
        average = f"{count} · " in page
        assert average == (count >= 5), count  # one visitor's score is never readable
    assert "5 · 3.4" in page or "5 · 3,4" in page

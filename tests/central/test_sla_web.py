"""The SLA clock from the outside: staff buttons (POST, CSRF, per-queue permissions, messages in
the user's language), the branch admin's calendar form, system check E010, SLA fields in the
tickets API and the compliance report ``/api/pst/reports/sla/``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from helpdesk.models import Ticket

from pst_helpdesk_ext.checks import check_branch_calendars
from pst_helpdesk_ext.models import Branch, PSTTicket, SLAState
from pst_helpdesk_ext.services import sla
from pst_helpdesk_ext.services.branches import create_branch
from tests.central import test_ui as ui
from tests.central.test_sla import fresh, online_ticket, wib
from tests.central.test_ui import make_pst_ticket, make_staff

per_queue_permissions = ui.per_queue_permissions
pytestmark = pytest.mark.django_db
REPORT = "/api/pst/reports/sla/"


@pytest.fixture
def branch() -> Branch:
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


@pytest.fixture
def other_branch() -> Branch:
    return create_branch("1207", "Labuhanbatu")


@pytest.fixture
def admin_user() -> Any:
    return make_staff("admin", superuser=True)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- staff buttons -------------------------------------------------------------------------------


def test_url_names_are_the_documented_ones(branch):
    assert reverse("pst:sla_mark_complete", args=[7]) == "/pst/tickets/7/sla/complete/"
    assert reverse("pst:sla_wait_for_visitor", args=[7]) == "/pst/tickets/7/sla/wait/"
    assert reverse("pst:sla_visitor_replied", args=[7]) == "/pst/tickets/7/sla/resume/"


def test_buttons_run_the_clock_with_messages_in_the_users_language(client, branch, admin_user):
    pst = online_ticket(branch)
    client.force_login(admin_user)
    page = reverse("helpdesk:view", args=[pst.ticket_id])
    response = client.post(reverse("pst:sla_mark_complete", args=[pst.ticket_id]))
    assert response.status_code == 302 and response["Location"] == page
    [message] = messages_of(response)
    assert message.startswith("Permintaan ditandai lengkap")  # the site's language, Indonesian
    assert fresh(pst).sla_started_at is not None
    client.get(page)  # helpdesk's page shows (and so consumes) the message
    response = client.post(
        reverse("pst:sla_wait_for_visitor", args=[pst.ticket_id]),
        {"comment": "Please attach the cover letter."},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "Your message was sent to the visitor; the service clock is paused." in (
        response.content.decode()
    )
    pst = fresh(pst)
    assert pst.sla_state == SLAState.PAUSED
    question = pst.ticket.followup_set.get(comment="Please attach the cover letter.")
    assert question.public and question.user == admin_user
    # Staff record an answer the visitor gave by phone.
    response = client.post(
        reverse("pst:sla_visitor_replied", args=[pst.ticket_id]),
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "Recorded that the visitor answered; the service clock runs again" in (
        response.content.decode()
    )
    pst = fresh(pst)
    assert pst.sla_paused_since is None and pst.sla_state == SLAState.RUNNING
    # A refusal is a message too, and changes nothing.
    response = client.post(reverse("pst:sla_mark_complete", args=[pst.ticket_id]), follow=True)
    assert "sudah ditandai lengkap" in response.content.decode()
    assert fresh(pst).sla_started_at == pst.sla_started_at


def test_buttons_are_post_only_and_csrf_protected(branch, admin_user):
    pst = online_ticket(branch)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = reverse("pst:sla_mark_complete", args=[pst.ticket_id])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token
    assert fresh(pst).sla_started_at is None
    page = client.get(reverse("helpdesk:view", args=[pst.ticket_id]))
    token = page.cookies["csrftoken"].value
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert fresh(pst).sla_started_at is not None


def test_buttons_respect_per_queue_permissions(client, per_queue_permissions, branch, other_branch):
    mine, theirs = online_ticket(branch), online_ticket(other_branch)
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    assert client.post(reverse("pst:sla_mark_complete", args=[theirs.ticket_id])).status_code == 403
    assert fresh(theirs).sla_started_at is None
    assert client.post(reverse("pst:sla_mark_complete", args=[mine.ticket_id])).status_code == 302
    assert fresh(mine).sla_started_at is not None
    visitor = make_staff("bukanpetugas")
    visitor.is_staff = False
    visitor.save()
    client.force_login(visitor)
    response = client.post(reverse("pst:sla_wait_for_visitor", args=[mine.ticket_id]))
    assert response.status_code == 302 and "login" in response["Location"]
    assert fresh(mine).waiting_for_visitor_since is None


def test_buttons_on_unknown_and_non_pst_tickets_are_404(client, branch, admin_user):
    from helpdesk.models import Queue

    client.force_login(admin_user)
    assert client.post(reverse("pst:sla_mark_complete", args=[99999])).status_code == 404
    queue = Queue.objects.create(title="IT", slug="it")
    plain = Ticket.objects.create(title="Printer", queue=queue, submitter_email="a@b.id")
    assert client.post(reverse("pst:sla_mark_complete", args=[plain.pk])).status_code == 404


def test_overlong_question_is_refused_and_nothing_sent(client, branch, admin_user):
    pst = online_ticket(branch)
    client.force_login(admin_user)
    response = client.post(
        reverse("pst:sla_wait_for_visitor", args=[pst.ticket_id]), {"comment": "x" * 10_001}
    )
    assert response.status_code == 302
    assert "10001" in messages_of(response)[0]
    assert fresh(pst).waiting_for_visitor_since is None
    assert pst.ticket.followup_set.count() == 0
    # The ticket page shows the refused message again, as typed, to shorten it in place.
    page = client.get(response["Location"]).content.decode()
    assert 'id="pst-sla-wait-comment"' in page and "x" * 10_001 + "</textarea>" in page
    again = client.get(response["Location"]).content.decode()
    assert "x" * 10_001 not in again  # shown once


# --- admin: the branch calendar ------------------------------------------------------------------


def admin_post(client: Client, branch: Branch, **changes: Any) -> Any:
    data = {
        "name": branch.name,
        "timezone": branch.timezone,
        "active": "on",
        "calendar": "{}",
        "sync_state-TOTAL_FORMS": "1",
        "sync_state-INITIAL_FORMS": "1",
        "sync_state-MIN_NUM_FORMS": "0",
        "sync_state-MAX_NUM_FORMS": "1",
        "sync_state-0-id": str(branch.sync_state.pk),
        "sync_state-0-branch": str(branch.pk),
    }
    data.update(changes)
    return client.post(reverse("admin:pst_helpdesk_ext_branch_change", args=[branch.pk]), data)


@pytest.mark.parametrize(
    ("calendar", "timezone_name", "expected"),
    [
        (
            '{"weekly": {"mon": "08:00-15:30", "fri": "15:30-08:00"}}',
            "Asia/Jakarta",
            "Friday: closing time 08:00 is not after opening time 15:30.",
        ),
        (
            '{"weekly": {"tue": {"open": "08:00", "close": "16:00", '
            '"breaks": [["11:30", "13:00"], ["12:00", "12:30"]]}}}',
            "Asia/Jakarta",
            "Tuesday: breaks 11:30-13:00 and 12:00-12:30 overlap.",
        ),
        ('{"timezone": "Asia/Makassar"}', "Asia/Jakarta", "the branch&#x27;s timezone field"),
        ("{}", "Asia/Bandung", "Asia/Bandung&#x27; is not a known timezone"),
        ('{"weekly": ', "Asia/Jakarta", "Enter a valid JSON."),
    ],
)
def test_admin_refuses_a_bad_calendar_naming_day_and_hours(
    client, branch, admin_user, calendar, timezone_name, expected
):
    client.force_login(admin_user)
    with translation.override("en"):
        client.cookies["django_language"] = "en"
        response = admin_post(client, branch, calendar=calendar, timezone=timezone_name)
    assert response.status_code == 200, "the form is shown again, not saved"
    assert expected in response.content.decode()
    branch.refresh_from_db()
    assert branch.calendar == {} and branch.timezone == "Asia/Jakarta"


def test_admin_saves_a_good_calendar_and_previews_it(client, branch, admin_user):
    client.force_login(admin_user)
    response = admin_post(
        client,
        branch,
        calendar='{"cuti_bersama_open": true, "extra_closed": ["2026-07-15"]}',
        timezone="Asia/Makassar",
    )
    assert response.status_code == 302
    branch.refresh_from_db()
    assert branch.calendar == {"cuti_bersama_open": True, "extra_closed": ["2026-07-15"]}
    assert branch.working_calendar.tz.key == "Asia/Makassar"
    page = client.get(reverse("admin:pst_helpdesk_ext_branch_change", args=[branch.pk]))
    html = page.content.decode()
    assert "08:00-15:30" in html  # the next two weeks, as the clocks see them
    # An empty box means the defaults.
    assert admin_post(client, branch, calendar="").status_code == 302
    branch.refresh_from_db()
    assert branch.calendar == {}


def test_system_check_e010_names_the_branch_day_and_hours(branch, other_branch):
    Branch.objects.filter(pk=branch.pk).update(calendar={"weekly": {"wed": "12:00-09:00"}})
    with translation.override("en"):
        errors = check_branch_calendars(databases=["default"])
    assert [e.id for e in errors] == ["pst_helpdesk_ext.E010"]
    assert "Branch 1222" in errors[0].msg
    assert "Wednesday: closing time 09:00 is not after opening time 12:00." in errors[0].msg
    assert check_branch_calendars(databases=None) == []  # only with the database checks
    Branch.objects.filter(pk=branch.pk).update(calendar={})
    assert check_branch_calendars(databases=["default"]) == []


def test_sla_settings_are_checked(settings):
    from pst_helpdesk_ext.checks import check_settings

    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "SLA_INACTIVITY_CLOSE_DAYS": -1,
        "SLA_TICK_BATCH_SIZE": 0,
    }
    ids = sorted(e.id for e in check_settings())
    assert ids == ["pst_helpdesk_ext.E007", "pst_helpdesk_ext.E011"]
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "SLA_INACTIVITY_CLOSE_DAYS": 0}
    settings.PST_HELPDESK.pop("SLA_TICK_BATCH_SIZE")
    assert check_settings() == []


def test_check_command_reports_e010(branch):
    from django.core.management.base import SystemCheckError

    Branch.objects.filter(pk=branch.pk).update(calendar={"timezone": "Asia/Jakarta"})
    with pytest.raises(SystemCheckError, match="E010"):
        call_command("check", "--database", "default")


# --- API: clock fields on tickets ----------------------------------------------------------------


def test_tickets_api_shows_the_clock_in_a_fixed_number_of_queries(
    client, branch, admin_user, django_assert_max_num_queries
):
    staff = make_staff("petugas", superuser=True)
    for _ in range(3):
        sla.mark_request_complete(online_ticket(branch), user=staff, at=wib(2026, 3, 17, 10))
    make_pst_ticket(branch, walk_in={})
    client.force_login(admin_user)
    rows = client.get("/api/pst/tickets/").json()["results"]
    online = [r for r in rows if r["channel"] == "web"]
    assert len(online) == 3
    clock = online[0]["sla"]
    assert clock["state"] == "running"
    assert clock["due_at"] == "2026-03-27T15:30:00+07:00"
    assert clock["policy"]["target"] == 3 and clock["policy"]["unit"] == "working_days"
    assert set(clock) >= {"breached_at", "paused_seconds", "waiting_for_visitor_since"}
    with django_assert_max_num_queries(12) as few:
        client.get("/api/pst/tickets/")
    for _ in range(5):
        sla.mark_request_complete(online_ticket(branch), user=staff, at=wib(2026, 3, 17, 10))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/api/pst/tickets/")


# --- API: the compliance report ------------------------------------------------------------------


@pytest.fixture
def report_data(branch, other_branch) -> dict[str, PSTTicket]:
    """Clocks with known outcomes: in 1222 two met and one breached online, one running; in 1207
    one met online. Started in March 2026."""
    staff = make_staff("petugas", superuser=True)
    made = {}
    for name, (where, start, answer) in {
        "met1": (branch, wib(2026, 3, 2, 9), wib(2026, 3, 3, 9)),
        "met2": (branch, wib(2026, 3, 9, 9), wib(2026, 3, 9, 10)),
        "late": (branch, wib(2026, 3, 2, 9), wib(2026, 3, 10, 9)),
        "open": (branch, wib(2026, 3, 30, 9), None),
        "other": (other_branch, wib(2026, 3, 4, 9), wib(2026, 3, 4, 11)),
    }.items():
        pst = online_ticket(where)
        sla.mark_request_complete(pst, user=staff, at=start)
        if answer is not None:
            pst = fresh(pst)
            pst.sla_stopped_at = answer
            pst.save()
            sla.recompute(pst, answer)
        made[name] = fresh(pst)
    sla.tick(wib(2026, 3, 31, 9))
    return made


def test_report_by_branch_counts_met_breached_and_open(client, admin_user, report_data):
    assert report_data["late"].sla_state == SLAState.BREACHED
    client.force_login(admin_user)
    response = client.get(REPORT, {"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["group_by"] == ["branch"] and body["timezone"] == "Asia/Jakarta"
    rows = {r["branch"]: r for r in body["rows"]}
    assert rows["1222"]["kind"] == "online"
    assert (rows["1222"]["total"], rows["1222"]["met"], rows["1222"]["breached"]) == (4, 2, 1)
    assert rows["1222"]["open"] == 1 and rows["1222"]["compliance"] == round(2 / 3, 4)
    assert (rows["1207"]["met"], rows["1207"]["compliance"]) == (1, 1.0)
    [total] = body["totals"]
    assert (total["total"], total["met"], total["breached"]) == (5, 3, 1)
    assert total["compliance"] == 0.75


def test_report_by_period_and_category_and_filters(client, admin_user, report_data):
    client.force_login(admin_user)
    body = client.get(
        REPORT,
        {"from": "2026-03-01", "to": "2026-03-31", "group_by": "category,week", "branch": "1222"},
    ).json()
    weeks = {(r["category"], r["period"]): r["total"] for r in body["rows"]}
    assert weeks == {
        ("konsultasi", "2026-03-02"): 2,
        ("konsultasi", "2026-03-09"): 1,
        ("konsultasi", "2026-03-30"): 1,
    }
    narrow = client.get(REPORT, {"from": "2026-03-05", "to": "2026-03-31"}).json()
    assert sum(r["total"] for r in narrow["rows"]) == 2  # started 9 and 30 March


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "to", "before the start date"),
        ({"from": "31-03-2026"}, "from", "YYYY-MM-DD"),
        ({"group_by": "province"}, "group_by", "Unknown grouping province"),
        ({"group_by": "day,month"}, "group_by", "one period only"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from", "longer than"),
        ({"branch": "9999"}, "branch", "Unknown branch office 9999"),
        ({"category": "data"}, "category", "Unknown PST service data"),
    ],
)
def test_report_bad_parameters_are_clear_400s(client, admin_user, params, field, text):
    client.force_login(admin_user)
    response = client.get(REPORT, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and text in " ".join(map(str, errors[field]))


def test_report_respects_per_queue_permissions(client, per_queue_permissions, report_data, branch):
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    body = client.get(REPORT, {"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert [r["branch"] for r in body["rows"]] == ["1222"]
    assert client.get(REPORT, {"branch": "1207"}).status_code == 400
    client.force_login(make_staff("tanpaakses"))
    assert client.get(REPORT, {"from": "2026-03-01", "to": "2026-03-31"}).json()["rows"] == []
    client.logout()
    assert client.get(REPORT).status_code in (401, 403)


def test_report_is_in_the_openapi_schema(client):
    GENERATOR_STATS.reset()
    schema = client.get("/api/pst/schema/", {"format": "json"}).json()
    validate_schema(schema)
    assert not GENERATOR_STATS
    operation = schema["paths"]["/api/pst/reports/sla/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "from",
        "to",
        "group_by",
        "branch",
        "channel",
        "category",
    }
    assert "200" in operation["responses"]


def test_report_default_period_is_the_last_30_days(client, admin_user, branch):
    staff = make_staff("petugas", superuser=True)
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=timezone.now() - dt.timedelta(days=2))
    client.force_login(admin_user)
    body = client.get(REPORT).json()
    assert body["to"] == timezone.localdate().isoformat()
    assert sum(r["total"] for r in body["rows"]) == 1

"""The PST API under /api/pst/, through the test client, with real helpdesk tickets."""

from __future__ import annotations

import base64
import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from helpdesk.models import Ticket
from openapi_spec_validator import validate as validate_openapi
from rest_framework.authtoken.models import Token

from tests.central import test_ui as ui
from tests.central.test_ui import JAKARTA, make_pst_ticket, make_staff, make_visitor

# The UI tests' fixtures, shared (pytest finds fixtures among a module's globals).
admin_user, branch, other_branch = ui.admin_user, ui.branch, ui.other_branch
mixed_tickets, per_queue_permissions = ui.mixed_tickets, ui.per_queue_permissions

pytestmark = pytest.mark.django_db
API = "/api/pst/"


@pytest.fixture
def api(client, admin_user):
    client.force_login(admin_user)
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- authentication and permissions: helpdesk's API conventions ---------------------------------


def test_anonymous_and_non_staff_are_refused(client, mixed_tickets):
    for path in ("", "tickets/", "branches/", "visits/", "categories/", "channels/"):
        assert client.get(API + path).status_code in (401, 403), path
    get_user_model().objects.create_user("visitor", "v@example.com", "pw")
    client.login(username="visitor", password="pw")
    response = client.get(API + "tickets/")
    assert response.status_code == 403
    assert "staff" in response.json()["detail"] or "petugas" in response.json()["detail"]


def test_session_basic_and_token_authentication(client, mixed_tickets):
    staff = make_staff("petugas")
    credentials = base64.b64encode(b"petugas:pw").decode()
    response = client.get(API + "tickets/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 200 and response.json()["count"] == 3
    token = Token.objects.create(user=staff)
    response = client.get(API + "tickets/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.json()["count"] == 3
    client.force_login(staff)
    assert client.get(API + "tickets/").status_code == 200


def test_read_only(api, mixed_tickets):
    ticket_id = mixed_tickets["web"].ticket_id
    assert api.post(API + "tickets/", {}).status_code == 405
    assert api.delete(f"{API}tickets/{ticket_id}/").status_code == 405
    assert api.patch(f"{API}branches/1222/", {}).status_code == 405


# --- reference data and branches ----------------------------------------------------------------


def test_branches_categories_channels(api, mixed_tickets, branch):
    state = branch.sync_state
    state.rejected_count, state.clock_skew_seconds = 2, -130
    state.save()
    branches = api.get(API + "branches/").json()["results"]
    assert [b["code"] for b in branches] == ["1207", "1222"]
    detail = api.get(API + "branches/1222/").json()
    assert detail["name"] == "Labuhanbatu Selatan" and detail["queue"] == "pst-1222"
    assert detail["sync_state"]["rejected_count"] == 2
    assert detail["sync_state"]["clock_skew_seconds"] == -130
    assert detail["can_sync"] is False  # no key enrolled
    assert api.get(API + "branches/9999/").status_code == 404
    categories = {c["code"]: c for c in api.get(API + "categories/").json()["results"]}
    assert categories["data"]["parent"] == "konsultasi" and categories["data"]["kind"] == "subject"
    assert categories["konsultasi"]["queue_letter"] == "K"
    assert api.get(API + "categories/metadata/").json()["name_en"] == "Metadata"
    channels = [c["code"] for c in api.get(API + "channels/").json()["results"]]
    assert channels == ["walk_in", "web", "whatsapp", "email"]


# --- tickets ------------------------------------------------------------------------------------


def test_ticket_detail_carries_the_pst_data(api, mixed_tickets):
    pst = mixed_tickets["walk_in"]
    data = api.get(f"{API}tickets/{pst.ticket_id}/").json()
    assert data["id"] == pst.ticket_id and data["queue"] == "pst-1222"
    assert data["status"] == Ticket.OPEN_STATUS and data["title"] == pst.ticket.title
    assert (data["branch"], data["channel"], data["category"], data["subject"]) == (
        "1222",
        "walk_in",
        "konsultasi",
        "data",
    )
    assert data["url"].endswith(f"/tickets/{pst.ticket_id}/")
    assert data["visitor"]["masked_id"] == "************0001"
    assert "id_hash" not in data["visitor"] and "a" * 64 not in str(data)
    visit = data["visit"]
    assert visit["queue_number"] == "K-007" and visit["wait_seconds"] == 420
    assert visit["wait_over_standard"] is False and visit["branch"] == "1222"
    assert visit["ticket"] == pst.ticket_id
    online = api.get(f"{API}tickets/{mixed_tickets['web'].ticket_id}/").json()
    assert online["visit"] is None and online["visitor"] is None
    assert api.get(f"{API}tickets/999999/").status_code == 404


def test_ticket_filters(api, mixed_tickets):
    every = {pst.ticket_id for pst in mixed_tickets.values()}
    walk_in, web, library = (mixed_tickets[k].ticket_id for k in ("walk_in", "web", "library"))
    url = API + "tickets/"
    assert ids(api.get(url)) == every
    assert ids(api.get(url, {"branch": "1222"})) == {walk_in, web}
    assert ids(api.get(url, {"channel": "email"})) == {library}
    assert ids(api.get(url, {"category": "metadata"})) == {web}
    assert ids(api.get(url, {"category": "perpustakaan"})) == {library}
    assert ids(api.get(url, {"status": "3"})) == {web}
    assert ids(api.get(url, {"status": "1,3"})) == every
    assert ids(api.get(url, {"status": ["1", "3"]})) == every
    assert ids(api.get(url, {"date_from": "2026-03-18"})) == {web, library}
    assert ids(api.get(url, {"date_to": "2026-03-17"})) == {walk_in}
    assert ids(api.get(url, {"branch": "1222", "status": "1"})) == {walk_in}


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ({"branch": "9999"}, "branch", "9999"),
        ({"channel": "fax"}, "channel", "fax"),
        ({"category": "astrology"}, "category", "astrology"),
        ({"status": "open"}, "status", "open"),
        ({"status": "1,42"}, "status", "42"),
        ({"date_from": "17-03-2026"}, "date_from", None),
        ({"date_from": "2026-03-20", "date_to": "2026-03-01"}, "date_to", "2026-03-01"),
        ({"page": "abc"}, "page", "abc"),
        ({"page": "-1"}, "page", "-1"),
    ],
)
def test_bad_filters_are_400_naming_field_and_value(api, mixed_tickets, query, field, value):
    response = api.get(API + "tickets/", query)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [field]
    if value is not None:
        assert value in " ".join(errors[field])


def test_ticket_list_is_paginated_with_a_fixed_number_of_queries(api, branch):
    def count_queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(API + path)
            assert response.status_code == 200
        return len(captured)

    make_pst_ticket(branch, visitor=make_visitor(), walk_in={})
    few = {path: count_queries(path) for path in ("tickets/", "visits/", "branches/")}
    for n in range(30):
        make_pst_ticket(branch, visitor=make_visitor(last4=f"{n:04d}"), walk_in={})
    assert {path: count_queries(path) for path in few} == few
    first = api.get(API + "tickets/").json()
    assert first["count"] == 31 and len(first["results"]) == 25 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 6
    assert len(api.get(API + "tickets/", {"page_size": 10}).json()["results"]) == 10
    assert api.get(API + "tickets/", {"page": 99}).status_code == 404  # DRF: past the last page


def test_per_queue_permissions(client, per_queue_permissions, mixed_tickets, branch):
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    mine = {mixed_tickets["walk_in"].ticket_id, mixed_tickets["web"].ticket_id}
    assert ids(client.get(API + "tickets/")) == mine
    other = mixed_tickets["library"].ticket_id
    assert client.get(f"{API}tickets/{other}/").status_code == 404
    assert client.get(API + "tickets/", {"branch": "1207"}).status_code == 400
    assert [b["code"] for b in client.get(API + "branches/").json()["results"]] == ["1222"]
    assert client.get(API + "branches/1207/").status_code == 404
    visits = client.get(API + "visits/").json()["results"]
    assert [v["branch"] for v in visits] == ["1222"]
    # helpdesk's own API agrees with ours.
    helpdesk_ids = {t["id"] for t in client.get("/api/tickets/").json()["results"]}
    assert helpdesk_ids == mine


def test_per_queue_user_without_permissions_sees_nothing(
    client, per_queue_permissions, mixed_tickets
):
    client.force_login(make_staff("tanpaakses"))
    assert client.get(API + "tickets/").json()["count"] == 0
    assert client.get(API + "visits/").json()["count"] == 0
    assert client.get(API + "branches/").json()["count"] == 0


# --- visits -------------------------------------------------------------------------------------


def test_visits_and_their_filters(api, branch, other_branch):
    day1 = datetime.datetime(2026, 3, 17, 8, 0, tzinfo=JAKARTA)
    day2 = day1 + datetime.timedelta(days=1)
    first = make_pst_ticket(branch, visitor=make_visitor(), walk_in={"issued_at": day1})
    second = make_pst_ticket(
        branch, visitor=make_visitor(), walk_in={"issued_at": day2, "wait_seconds": 901}
    )
    elsewhere = make_pst_ticket(other_branch, visitor=make_visitor(), walk_in={"issued_at": day1})
    url = API + "visits/"
    all_visits = api.get(url).json()["results"]
    assert {v["ticket"] for v in all_visits} == {
        first.ticket_id,
        second.ticket_id,
        elsewhere.ticket_id,
    }
    by_day = api.get(url, {"day": "2026-03-17"}).json()["results"]
    assert {v["ticket"] for v in by_day} == {first.ticket_id, elsewhere.ticket_id}
    mine = api.get(url, {"branch": "1222", "day": "2026-03-18"}).json()["results"]
    assert [v["ticket"] for v in mine] == [second.ticket_id]
    assert mine[0]["wait_over_standard"] is True and mine[0]["service"] == "konsultasi"
    detail = api.get(f"{url}{mine[0]['id']}/").json()
    assert detail["queue_number"] == "K-007" and detail["desk"] == "Meja 1"
    bad = api.get(url, {"day": "kemarin", "branch": "12"})
    assert bad.status_code == 400 and set(bad.json()) == {"day", "branch"}


# --- the schema ---------------------------------------------------------------------------------


def test_schema_is_valid_openapi_and_describes_the_pst_api(client):
    GENERATOR_STATS.reset()
    response = client.get(API + "schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # drf-spectacular's own check against the OpenAPI JSON schema
    validate_openapi(schema)  # openapi-spec-validator: structure, $refs, parameters
    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors"
    paths = schema["paths"]
    assert set(paths) == {
        "/api/pst/branches/",
        "/api/pst/branches/{code}/",
        "/api/pst/categories/",
        "/api/pst/categories/{code}/",
        "/api/pst/channels/",
        "/api/pst/channels/{code}/",
        "/api/pst/reports/ikm/",
        "/api/pst/tickets/",
        "/api/pst/tickets/{id}/",
        "/api/pst/visits/",
        "/api/pst/visits/{id}/",
        "/api/pst/reports/sla/",
    }
    params = {p["name"] for p in paths["/api/pst/tickets/"]["get"]["parameters"]}
    assert {"branch", "channel", "category", "status", "date_from", "date_to", "page"} <= params
    visit_params = {p["name"] for p in paths["/api/pst/visits/"]["get"]["parameters"]}
    assert {"branch", "day"} <= visit_params
    assert all(set(item) == {"get"} for item in paths.values())  # read-only


def test_null_sla_fields_are_nullable_in_the_schema(api, mixed_tickets):
    """Regression (found by tests/security/test_api_schemathesis.py): a ticket whose clock has not
    started, paused or stopped answers null for those instants, and the schema said they were
    always strings, so a client generated from it rejected the ticket."""
    schema = api.get(API + "schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["TicketSLA"]["properties"]
    nulls: set[str] = set()
    for pst in mixed_tickets.values():
        sla = api.get(f"{API}tickets/{pst.ticket_id}/").json()["sla"]
        nulls |= {name for name, value in sla.items() if value is None}
    assert {"started_at", "due_at", "stopped_at"} <= nulls  # the check has nulls to look at
    assert all(fields[name].get("nullable") for name in nulls), {
        name for name in nulls if not fields[name].get("nullable")
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("reports/ikm/?branch=%00", 400),
        ("reports/ikm/?service=a%00b", 400),
        ("reports/sla/?channel=%00", 400),
        ("tickets/?category=%01", 400),
        ("visits/?branch=12%0022", 400),
        ("categories/%00/", 404),
        ("channels/walk%00in/", 404),
    ],
)
def test_control_characters_in_codes_are_refused_not_a_database_error(
    api, mixed_tickets, path, expected
):
    """Regression (found by tests/security/test_api_schemathesis.py on PostgreSQL, which cannot
    compare a text holding NUL: a DataError, i.e. a 500)."""
    response = api.get(API + path)
    assert response.status_code == expected, response.content
    if expected == 400:
        assert list(response.json()) == [path.split("?")[1].split("=")[0]]  # names the field


@pytest.mark.parametrize("path", ["tickets", "visits"])
def test_oversized_ids_are_404_not_a_database_error(api, mixed_tickets, path):
    response = api.get(f"/api/pst/{path}/{'9' * 30}/")
    assert response.status_code == 404

"""The hardware JSON API: same permissions as the UI, idempotent retries, errors naming fields."""

import pytest
from django.test import Client

from branch_agent import services
from branch_agent.models import OutboxOp, Visit

pytestmark = pytest.mark.django_db


def post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_issue_needs_no_login_and_a_retry_gets_the_same_number():
    client = Client()
    first = post(client, "/api/queue/issue", {"service": "konsultasi", "request_id": "box-1-0001"})
    retry = post(client, "/api/queue/issue", {"service": "konsultasi", "request_id": "box-1-0001"})
    other = post(client, "/api/queue/issue", {"service": "konsultasi"})
    assert first.status_code == 201 and retry.status_code == 200 and other.status_code == 201
    assert first.json()["queue_number"] == retry.json()["queue_number"] == "K-001"
    assert other.json()["queue_number"] == "K-002"
    assert Visit.objects.count() == 2 == OutboxOp.objects.count()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error", "field"),
    [
        ({"service": "bakery"}, "application/json", 400, "unknown_service", "service"),
        ({}, "application/json", 400, "invalid", "service"),
        (
            {"service": "konsultasi", "request_id": "x"},
            "application/json",
            400,
            "invalid",
            "request_id",
        ),
        (
            "service=konsultasi",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
            None,
        ),
        ("[1, 2]", "application/json", 400, "invalid_json", None),
        ("{broken", "application/json", 400, "invalid_json", None),
    ],
)
def test_bad_issue_requests_say_what_is_wrong(body, content_type, status, error, field):
    response = Client().post("/api/queue/issue", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["field"] == field
    assert Visit.objects.count() == 0


def test_issue_only_by_post():
    assert Client().get("/api/queue/issue").status_code == 405


def test_queue_status_is_public_and_has_no_personal_data():
    services.issue_number("konsultasi")
    data = Client().get("/api/queue").json()
    konsultasi = next(w for w in data["waiting"] if w["letter"] == "K")
    assert konsultasi["count"] == 1


@pytest.fixture
def tokens(users):
    return {role: services.create_api_token(user, f"device-{role}") for role, user in users.items()}


def test_call_next_needs_a_desk_officer_token_or_session(users, tokens):
    services.issue_number("konsultasi")
    anonymous = post(Client(), "/api/desk/1/call-next", {})
    assert anonymous.status_code == 401
    wrong = post(
        Client(), "/api/desk/1/call-next", {}, HTTP_AUTHORIZATION=f"Bearer {tokens['front_office']}"
    )
    assert wrong.status_code == 403
    forged = post(Client(), "/api/desk/1/call-next", {}, HTTP_AUTHORIZATION="Bearer pst_forged")
    assert forged.status_code == 401
    called = post(
        Client(),
        "/api/desk/1/call-next",
        {"request_id": "button-1-0001"},
        HTTP_AUTHORIZATION=f"Bearer {tokens['desk_officer']}",
    )
    assert called.status_code == 200 and called.json()["queue_number"] == "K-001"
    again = post(
        Client(),
        "/api/desk/1/call-next",
        {"request_id": "button-1-0001"},
        HTTP_AUTHORIZATION=f"Bearer {tokens['desk_officer']}",
    )
    assert again.status_code == 200 and again.json()["queue_number"] == "K-001"
    busy = post(
        Client(), "/api/desk/1/call-next", {}, HTTP_AUTHORIZATION=f"Bearer {tokens['desk_officer']}"
    )
    assert busy.status_code == 409 and busy.json()["error"] == "desk_busy"
    nobody = post(
        Client(), "/api/desk/2/call-next", {}, HTTP_AUTHORIZATION=f"Bearer {tokens['branch_admin']}"
    )
    assert nobody.status_code == 204
    missing = post(
        Client(), "/api/desk/7/call-next", {}, HTTP_AUTHORIZATION=f"Bearer {tokens['desk_officer']}"
    )
    assert missing.status_code == 404 and missing.json()["field"] == "desk"


def test_a_session_caller_needs_the_csrf_token(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["desk_officer"])
    refused = post(client, "/api/desk/1/call-next", {})
    assert refused.status_code == 403 and refused.json()["error"] == "csrf"
    client.get("/desk/1/")
    csrf = client.cookies["csrftoken"].value
    allowed = post(client, "/api/desk/1/call-next", {}, HTTP_X_CSRFTOKEN=csrf)
    assert allowed.status_code == 204


def test_sync_status_for_staff(tokens):
    assert Client().get("/api/sync/status").status_code == 401
    data = (
        Client()
        .get("/api/sync/status", HTTP_AUTHORIZATION=f"Bearer {tokens['front_office']}")
        .json()
    )
    assert {"online", "pending_ops", "last_sync_at", "feed_cursor", "rejected_ops"} <= set(data)

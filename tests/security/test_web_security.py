"""Security review of the central web side: every PST page and API endpoint, found by walking the
URL configuration (so a view added later is checked without anyone listing it here).

- Anonymous users are sent to the login page (pages) or refused 401/403 (API), never served.
- A staff user allowed only branch 1222's queue sees none of branch 1201's data anywhere, and gets
  404 for each of its objects; a superuser sees both (so the markers we look for are really there).
- Every POST without a CSRF token is refused (403), and the same POST with the token gets past
  the CSRF check: a view that forgot CSRF protection fails here.
- Personal data: nothing logged during an intake holds the ID number (beyond the last 4 digits)
  or its hash; the down-feed to branches carries neither; DEBUG=False error pages show neither.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from helpdesk import settings as helpdesk_settings
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import (
    Branch,
    FeedItem,
    PSTTicket,
    Rating,
    RatingInvitation,
    Visit,
    WhatsAppMessage,
)
from pst_helpdesk_ext.services import ratings
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
from tests.central.test_intake import WalkinOps
from tests.central.test_whatsapp import envelope, sign, text_message

pytestmark = pytest.mark.django_db

NIK_A = "1222014508900001"  # full ID numbers typed at the branches' front offices
NIK_B = "1201026607850002"
SECRET_B = ("Nias Rahasia", "Yohana Rahasiani", "yohana.rahasia@example.org", "Data rahasia Nias")
RECEIVED = dt.datetime(2026, 3, 17, 10, 0, tzinfo=dt.UTC)


# --- the URL configuration, walked ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # the pattern, for messages
    kwargs: tuple[str, ...]
    view: Any

    @property
    def kind(self) -> str:
        """``api`` (DRF: 401/403 for strangers) or ``page`` (login redirect)."""
        return "api" if hasattr(self.view, "cls") else "page"


def plugin_routes() -> list[Route]:
    """Every URL pattern whose view is defined in pst_helpdesk_ext, wherever the site mounts it."""
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace
                if pattern.namespace:
                    ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
                continue
            assert isinstance(pattern, URLPattern)
            view = pattern.callback
            owner = getattr(view, "cls", None) or getattr(view, "view_class", None) or view
            if not owner.__module__.startswith("pst_helpdesk_ext"):
                continue
            assert pattern.name, f"{prefix}{pattern.pattern} has no name to reverse"
            found.append(
                Route(
                    f"{namespace}:{pattern.name}" if namespace else pattern.name,
                    prefix + str(pattern.pattern),
                    tuple(pattern.pattern.regex.groupindex),
                    view,
                )
            )

    walk(get_resolver().url_patterns, "", "")
    return found


# Values for URL arguments, each naming branch 1201's object. A new route with arguments not
# listed here fails the tests until someone says which object it shows.
def kwargs_for(route: Route, world: World) -> dict[str, str]:
    ticket_b = str(world.ticket_b)
    samples: dict[str, dict[str, str]] = {
        "pst_api:branch-detail": {"code": "1201"},
        "pst_api:ticket-detail": {"id": ticket_b},
        "pst_api:visit-detail": {"pk": str(world.visit_b)},
        "pst_api:category-detail": {"code": "konsultasi"},
        "pst_api:channel-detail": {"code": "walk_in"},
        # Staff pages and buttons about 1201's ticket.
        "pst:online_conversation": {"ticket_id": ticket_b},
        "pst:sla_mark_complete": {"ticket_id": ticket_b},
        "pst:sla_wait_for_visitor": {"ticket_id": ticket_b},
        "pst:sla_visitor_replied": {"ticket_id": ticket_b},
        "pst:sla_compensation": {"ticket_id": ticket_b},
        # Public routes, as a stranger would try them on 1201's objects: the token of a real
        # rating link for 1201's ticket with its signature altered, a verification link not
        # signed by us, the confirmation page of 1201's ticket from another session, an
        # article that is not in the knowledge base.
        "pst:rate": {"token": world.forged_rating_token},
        "pst:rate_done": {"done": world.forged_rating_token},
        "pst:online_verify": {"token": "eyJlIjoieW9oYW5hQGV4YW1wbGUub3JnIn0:forged:forged"},
        "pst:online_done": {"ticket_id": ticket_b},
        "pst:online_article": {"item_id": "999999"},
        # the visitor page of 1201's ticket with a token not signed by us
        "pst:visitor_page": {"ticket_id": ticket_b, "token": "eyJ0IjoxfQ:forged:forged"},
        "pst:visitor_file": {
            "ticket_id": ticket_b,
            "token": "eyJ0IjoxfQ:forged:forged",
            "attachment_id": "1",
        },
    }
    wanted = [name for name in route.kwargs if name != "format"]
    values = dict(samples.get(route.name, {}))
    missing = [name for name in wanted if name not in values]
    assert not missing, (
        f"{route.name} ({route.route}) takes {missing}: add a value naming branch 1201's object "
        "to kwargs_for in tests/security/test_web_security.py"
    )
    if "format" in route.kwargs:
        values["format"] = "json"
    return {name: values[name] for name in route.kwargs}


# Reference data every staff member may read (not per queue): the sample values above name no
# branch's records, so these detail routes answer 200 to any staff.
REFERENCE = {"pst_api:category-detail", "pst_api:channel-detail", "pst_api:schema"}

# Routes open to anonymous visitors BY DESIGN: route name -> why it is public and what protects
# it. Every other route must refuse strangers (the tests below); a new public route fails them
# until it is added here with its reason. Each public route is still checked: strangers with 1201's
# objects see none of its data, POST forms keep CSRF (the webhook alone is exempt, see CSRF_EXEMPT).
PUBLIC: dict[str, str] = {
    "pst_api:schema": "OpenAPI description of the API: documentation, holds no data",
    "favicon": "the site's icon, a fixed image: holds no data",
    "pst:online_start": "online request, step 1: asks name and e-mail, sends a verification "
    "link (rate-limited per client and per address, test_public_abuse.py); shows nothing",
    "pst:online_verify": "opens the request steps for an e-mail only with a signed, expiring "
    "verification token (services.online.read_verify_token)",
    "pst:online_search": "knowledge-base search; redirects to step 1 without a verified e-mail "
    "in the session",
    "pst:online_article": "counts an opened public knowledge-base article; redirects to it",
    "pst:online_ask": "the request form; redirects to step 1 without a verified e-mail",
    "pst:online_done": "confirmation of a request, only for the session that submitted it",
    "pst:rate": "rating form: signed, single-use, expiring link (services.ratings)",
    "pst:rate_done": "thanks page: signed token naming the rating, valid one hour",
    "pst:complain": "anyone may file a complaint (rate-limited per client and per address, "
    "test_public_abuse.py); the page shows back only the complaint filed",
    "pst:visitor_page": "the visitor's consultation page: a signed token bound to the ticket, its "
    "address and helpdesk's secret key, expiring after VISITOR_LINK_INACTIVE_DAYS without news "
    "(services.visitor.open_link)",
    "pst:visitor_file": "an attachment of a public follow-up, behind the same signed token",
    "pst:visitor_resend": "asks for an e-mail address; sends links only to that address, says the "
    "same whether or not it has consultations, rate-limited",
    "pst_api:whatsapp-webhook": "called by Meta's servers: POST needs the X-Hub-Signature-256 "
    "HMAC of the body with WHATSAPP_APP_SECRET, GET the verify token",
}

# POST without a CSRF token accepted BY DESIGN, and what protects it instead.
CSRF_EXEMPT: dict[str, str] = {
    "pst_api:whatsapp-webhook": "a server-to-server webhook (no cookies, no session); every POST "
    "needs a valid X-Hub-Signature-256 HMAC (test_the_webhook_refuses_unsigned_posts)",
}


def url_of(route: Route, world: World) -> str:
    return reverse(route.name, kwargs=kwargs_for(route, world))


def staff_routes() -> list[Route]:
    return [route for route in plugin_routes() if route.name not in PUBLIC]


# --- the data -------------------------------------------------------------------------------------


@dataclass
class World:
    branch_a: Branch
    branch_b: Branch
    ticket_b: int
    visit_b: int
    restricted: Any
    admin: Any
    forged_rating_token: str


def walk_in(branch: Branch, nik: str, seed: int, **guest: Any) -> Visit:
    ops = WalkinOps(seed=seed)
    visit = ops.new_visit_id()
    batch = [
        ops.created(visit),
        ops.guestbook(visit, id_number=nik, **guest),
        ops.called(visit),
        ops.served(visit),
        ops.noted(visit),
        ops.escalated(visit),  # stays open: central's to follow up
    ]
    outcomes = apply_walkin_ops(branch, batch, RECEIVED)
    assert all(o.result == "applied" for o in outcomes), outcomes
    return Visit.objects.select_related("pst_ticket").get(branch=branch, origin_id=visit)


@pytest.fixture
def per_queue() -> Iterator[None]:
    # helpdesk reads this setting once at import; set the value its code reads.
    old = helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION
    helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
    yield
    helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = old


@pytest.fixture
def world(per_queue) -> World:
    branch_a = create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")
    branch_b = create_branch("1201", SECRET_B[0], "Asia/Jakarta")
    walk_in(branch_a, NIK_A, seed=1)
    visit_b = walk_in(
        branch_b, NIK_B, seed=2, name=SECRET_B[1], email=SECRET_B[2], purpose=SECRET_B[3]
    )
    users = get_user_model().objects
    restricted = users.create_user("petugas1222", "p@example.bps.go.id", "pw", is_staff=True)
    codename = branch_a.queue.permission_name.split(".", 1)[1]
    restricted.user_permissions.add(Permission.objects.get(codename=codename))
    admin = users.create_superuser("admin", "admin@example.bps.go.id", "pw")
    # A real rating link for 1201's ticket, its signature altered by one character.
    token = ratings.link_token(
        RatingInvitation.objects.create(ticket_id=visit_b.pst_ticket.ticket_id)
    )
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    return World(
        branch_a, branch_b, visit_b.pst_ticket.ticket_id, visit_b.pk, restricted, admin, forged
    )


def leaks(text: str, world: World) -> list[str]:
    """Branch 1201's markers found in ``text``: its name, its visitor's name, e-mail, purpose."""
    return [secret for secret in SECRET_B if secret in text]


def visitor_leaks(text: str, world: World) -> list[str]:
    """Branch 1201's visitor's markers in ``text``. For the PUBLIC pages: the names of BPS
    offices are public (the request and complaint forms list them to choose from)."""
    return [secret for secret in SECRET_B[1:] if secret in text]


# --- tests ----------------------------------------------------------------------------------------


def test_the_walk_finds_the_plugin_pages_and_api():
    names = {route.name for route in plugin_routes()}
    for expected in ("pst:overview", "pst:tickets", "pst_api:ticket-list", "pst_api:visit-detail"):
        assert expected in names, names
    # The allow-lists name real routes only: a renamed route cannot stay public by accident.
    assert set(PUBLIC) <= names, set(PUBLIC) - names
    assert set(CSRF_EXEMPT) <= set(PUBLIC)


def ticket_state(ticket_id: int) -> tuple[Any, ...]:
    """What a staff button could change on a ticket: its status, followups, SLA clock."""
    pst = PSTTicket.objects.get(ticket_id=ticket_id)
    return (
        Ticket.objects.get(pk=ticket_id).status,
        FollowUp.objects.filter(ticket_id=ticket_id).count(),
        pst.sla_state,
        pst.sla_started_at,
        pst.sla_due_at,
        pst.sla_paused_since,
    )


def test_anonymous_users_are_sent_to_login_or_refused_everywhere(client, world):
    before = ticket_state(world.ticket_b)
    for route in plugin_routes():
        url = url_of(route, world)
        got = client.get(url)
        assert got.status_code < 500, (url, got.status_code)
        if route.name in PUBLIC:
            # Open by design (see PUBLIC); what protects each is tested below.
            assert not visitor_leaks(got.content.decode(errors="replace"), world), url
            continue
        for response in (got, client.post(url, {"comment": "x"})):
            if route.kind == "page":
                assert response.status_code == 302, (url, response.status_code)
                assert reverse("helpdesk:login") in response["Location"], url
            else:
                assert response.status_code in (401, 403), (url, response.status_code)
            assert not leaks(response.content.decode(), world), url
    assert ticket_state(world.ticket_b) == before


def test_public_routes_show_strangers_nothing_of_another_visitor(client, world):
    """What each PUBLIC entry says protects it, tried with 1201's objects by a stranger."""
    urls = {route.name: url_of(route, world) for route in plugin_routes()}
    start = reverse("pst:online_start")
    # A forged (altered) rating link for 1201's real ticket: a clear refusal, no form.
    rate = client.get(urls["pst:rate"])
    assert rate.status_code == 400 and b"<form" not in rate.content
    posted = client.post(urls["pst:rate"], {"overall": "4"})
    assert posted.status_code == 400 and not Rating.objects.exists()
    assert client.get(urls["pst:rate_done"]).status_code == 400
    # A verification link not signed by us opens nothing.
    assert client.get(urls["pst:online_verify"]).status_code == 400
    for name in ("pst:online_search", "pst:online_ask", "pst:online_done"):
        response = client.get(urls[name])  # no verified e-mail, not the submitting session
        assert response.status_code == 302 and response["Location"] == start, name
    assert client.get(urls["pst:online_article"])["Location"] == reverse("pst:online_search")
    for name in PUBLIC:
        assert not visitor_leaks(client.get(urls[name]).content.decode(errors="replace"), world), (
            name
        )


def test_the_webhook_refuses_unsigned_posts_and_creates_nothing(world, settings):
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "WHATSAPP_APP_SECRET": "s3cret-app"}
    client = Client(enforce_csrf_checks=True)  # as Meta calls it: no cookie, no CSRF token
    url = reverse("pst_api:whatsapp-webhook")
    raw = json.dumps(envelope([text_message("Halo, saya mau tanya data kemiskinan")])).encode()
    tickets, followups = Ticket.objects.count(), FollowUp.objects.count()
    wrong = sign(raw, "another-secret")
    for headers in ({}, {"HTTP_X_HUB_SIGNATURE_256": wrong}):
        response = client.post(url, raw, content_type="application/json", **headers)
        assert response.status_code == 403, headers
        assert b"CSRF" not in response.content  # refused by the HMAC check, not by CSRF
    assert (Ticket.objects.count(), FollowUp.objects.count()) == (tickets, followups)
    assert not WhatsAppMessage.objects.exists()
    # The same body correctly signed is accepted: the refusals above were the signature's.
    good = sign(raw, "s3cret-app")
    accepted = client.post(url, raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=good)
    assert accepted.status_code == 200 and Ticket.objects.count() == tickets + 1


def test_a_visitor_account_without_staff_rights_is_refused_everywhere(client, world):
    client.force_login(get_user_model().objects.create_user("pengunjung", "v@example.org", "pw"))
    for route in staff_routes():
        response = client.get(url_of(route, world))
        assert response.status_code in (302, 401, 403), (route.name, response.status_code)


def test_staff_of_one_queue_see_nothing_of_another_branch(client, world):
    admin = Client()
    admin.force_login(world.admin)
    client.force_login(world.restricted)
    seen_by_admin: list[str] = []
    for route in staff_routes():
        url = url_of(route, world)
        # POST-only routes (the SLA buttons) answer GET with 405: they are tried by POST.
        method = "post" if admin.get(url).status_code == 405 else "get"
        before = ticket_state(world.ticket_b)
        data = {"comment": "dari staf 1222"} if method == "post" else None
        response = getattr(client, method)(url, data)
        assert ticket_state(world.ticket_b) == before, url  # the restricted POST changed nothing
        detail = bool(set(route.kwargs) - {"format"})
        if detail and route.name not in REFERENCE:
            # The API answers 404; ticket pages 403, as helpdesk's own ticket pages do.
            refused = (404,) if route.kind == "api" else (403, 404)
            assert response.status_code in refused, (url, response.status_code)
        else:
            assert response.status_code == 200, (url, response.status_code)
        assert not leaks(response.content.decode(), world), url
        full = getattr(admin, method)(url, data)
        assert full.status_code == (302 if method == "post" else 200), (url, full.status_code)
        seen_by_admin += leaks(full.content.decode(), world)
    # The markers are really there for someone allowed to see them.
    assert set(SECRET_B[:2]) <= set(seen_by_admin)


def test_helpdesk_pages_with_the_pst_panel_keep_another_branchs_ticket_closed(client, world):
    client.force_login(world.restricted)
    response = client.get(reverse("helpdesk:view", args=[world.ticket_b]))
    assert response.status_code in (302, 403, 404)
    assert not leaks(response.content.decode(), world)


def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_every_post_needs_a_csrf_token(world):
    client = csrf_client(world.admin)
    client.get(reverse("pst:overview"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    for route in plugin_routes():
        if route.name in CSRF_EXEMPT:
            continue  # protected otherwise: test_the_webhook_refuses_unsigned_posts...
        url = url_of(route, world)
        refused = client.post(url, {"x": "1"})
        assert refused.status_code == 403, (url, refused.status_code)
        assert b"CSRF" in refused.content, url
        allowed = client.post(url, {"x": "1"}, HTTP_X_CSRFTOKEN=token)
        assert b"CSRF" not in allowed.content, url  # the check passed; the view then decides
        assert allowed.status_code != 500


def test_logs_of_an_intake_hold_no_id_number_nor_its_hash(caplog, per_queue):
    """The whole central path of a PUSH (sync store, intake, helpdesk's notifications), with
    every logger at DEBUG, SQL included."""
    branch = create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")
    Branch.objects.filter(pk=branch.pk).update(curve_public_key="k" * 40)
    for name in ("", "pst", "django", "helpdesk"):  # every logger, every level
        caplog.set_level(logging.DEBUG, logger=name)
    ops = WalkinOps(seed=5)
    visit = ops.new_visit_id()
    created = ops.created(visit)
    guestbook = ops.guestbook(visit, id_number=NIK_A)
    batch = [created, guestbook, ops.called(visit), ops.served(visit)]
    batch += [ops.noted(visit), ops.resolved(visit), ops.rating(visit)]
    # Then a bad guest-book op: its rejection message is logged and sent back too.
    bad = ops.guestbook(visit, id_number=NIK_A, email="not-an-email")
    store = DjangoCentralStore()
    now = RECEIVED.timestamp()
    connection.force_debug_cursor = True  # SQL statements and their parameters are logged
    try:
        hello = store.hello(
            "1222", boot_id="b", next_seq=1, feed_cursor=0, agent_version="t",
            branch_time=now, now=now,
        )  # fmt: skip
        first = store.apply_batch("1222", batch, now=now, session=hello.session)
        second = store.apply_batch("1222", [bad], now=now, session=hello.session)
    finally:
        connection.force_debug_cursor = False
    assert len(first.accepted) == len(batch) and len(second.rejected) == 1
    records = [(r.name, f"{r.getMessage()} {r.args!r}") for r in caplog.records]
    assert any(name == "django.db.backends" for name, _ in records), "SQL was not logged"
    assert any(name.startswith("pst") for name, _ in records), "the store logged nothing"
    everything = "\n".join(text for _, text in records) + repr(second.rejected)
    assert NIK_A[:-4] not in everything
    # The hash is a stable pseudonym: only SQL debug logging (an operator's choice) may show it.
    ours = "\n".join(text for name, text in records if name != "django.db.backends")
    assert guestbook.payload["id_hash"] not in ours + repr(second.rejected)
    assert Visit.objects.get(origin_id=visit).pst_ticket.visitor.id_last4 == NIK_A[-4:]


def test_the_down_feed_carries_no_id_number_nor_hash(world):
    payloads = "\n".join(repr(item.payload) for item in FeedItem.objects.all())
    assert payloads, "the intake wrote no feed rows: the check would prove nothing"
    for nik in (NIK_A, NIK_B):
        assert nik[:-4] not in payloads
    hashes = [
        v.pst_ticket.visitor.id_hash for v in Visit.objects.select_related("pst_ticket__visitor")
    ]
    assert len(hashes) == 2
    for value in hashes:
        assert value not in payloads
    assert "id_hash" not in payloads


def boom(request: Any) -> Any:
    raise RuntimeError(f"bug while handling visitor {NIK_B} hash {'ab' * 32}")


urlpatterns: list[Any] = []  # filled below: this module is also the URLconf of the error test


def test_error_pages_without_debug_show_no_personal_data_or_traceback(world):
    from django.urls import include, path

    from example_project import urls as site

    urlpatterns[:] = [path("boom/", boom), path("", include(site.urlpatterns))]
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    with override_settings(DEBUG=False, ROOT_URLCONF=__name__):
        crashed = client.get("/boom/", {"id_number": NIK_B})
        missing = client.get(f"/api/pst/tickets/{world.ticket_b + 1000}/")
        unknown = client.get(f"/pst/nothing-here/{NIK_B}/")
    assert crashed.status_code == 500
    assert missing.status_code == 404 and unknown.status_code == 404
    for response in (crashed, missing, unknown):
        body = response.content.decode()
        assert NIK_B[:-4] not in body and "ab" * 32 not in body
        assert "Traceback" not in body and "RuntimeError" not in body
        assert not leaks(body, world)


def test_staff_list_of_visits_masks_what_it_shows(client, world):
    client.force_login(world.admin)
    body = client.get(reverse("pst_api:visit-list")).content.decode()
    body += client.get(reverse("pst_api:ticket-list")).content.decode()
    body += client.get(reverse("pst:tickets")).content.decode()
    for nik in (NIK_A, NIK_B):
        assert nik[:-4] not in body
    assert not Ticket.objects.filter(description__contains=NIK_A[:-4]).exists()

"""Every aria-describedby of the plugin's forms names ids that exist on the page (shown and with
errors): the request (start, ask), complaint, rating and staff conversation forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from helpdesk.models import Ticket

from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_online import verified  # noqa: F401 (fixture)
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db


# helpdesk's own header search box names an id its page lacks (listed in docs/accessibility.md).
HELPDESK_STOCK = {"search-form"}


def dangling_references(html: str) -> list[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = [
        ref for refs in re.findall(r'aria-describedby="([^"]*)"', html) for ref in refs.split()
    ]
    return [ref for ref in wanted if ref not in ids | HELPDESK_STOCK]


def test_request_pages(verified: Any) -> None:  # noqa: F811
    response = Client().post(reverse("pst:online_start"), {"email": "not-an-address"})
    html = response.content.decode()
    assert "aria-describedby" in html and dangling_references(html) == []
    for response in (
        verified.get(reverse("pst:online_ask")),
        verified.post(reverse("pst:online_ask"), {"question": "x"}),
    ):
        html = response.content.decode()
        assert "_helptext" in html and dangling_references(html) == []


def test_complaint_form(client: Any) -> None:
    for response in (
        client.get(reverse("pst:complain")),
        client.post(reverse("pst:complain"), {"email": "x", "lapor_ref": "?"}),
    ):
        html = response.content.decode()
        assert "aria-describedby" in html and dangling_references(html) == []


def test_staff_conversation_form(client: Any) -> None:
    branch = create_branch("1222", "Labuhanbatu Selatan")
    ticket = Ticket.objects.create(title="Data", queue=branch.queue, submitter_email="v@e.id")
    client.force_login(make_staff("petugas", superuser=True))
    url = reverse("pst:online_conversation", args=[ticket.pk])
    for response in (client.get(url), client.post(url, {"kind": "zoom", "start": "besok"})):
        html = response.content.decode()
        assert "aria-describedby" in html and dangling_references(html) == []

"""Issue 13 item 6, central's public side: the search results in words a visitor understands
(not "1 buah", helpdesk admin's translation that the same message id picked up), and the site's
icon (every page used to log a favicon 404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from helpdesk.models import KBItem

from tests.central import test_online

pytestmark = pytest.mark.django_db
# test_online's fixtures, shared (pytest finds fixtures among a module's globals).
kb = test_online.kb
verified = test_online.verified


def heading(client: Any, query: str, **extra: Any) -> str:
    html = client.get(reverse("pst:online_search"), {"q": query}, **extra).content.decode()
    start = html.index('id="pst-results-heading">') + len('id="pst-results-heading">')
    return html[start : html.index("</h2>", start)].strip()


def test_search_results_are_counted_in_words_in_both_languages(verified: Any, kb: dict) -> None:
    assert heading(verified, "kemiskinan") == "Kami menemukan 1 hasil untuk Anda"
    assert heading(verified, "kemiskinan", HTTP_ACCEPT_LANGUAGE="en") == "We found 1 result for you"
    KBItem.objects.create(
        category=kb["poverty"].category, title="Garis kemiskinan", question="q", answer="a"
    )
    assert heading(verified, "kemiskinan") == "Kami menemukan 2 hasil untuk Anda"
    english = heading(verified, "kemiskinan", HTTP_ACCEPT_LANGUAGE="en")
    assert english == "We found 2 results for you"


def test_the_site_serves_its_icon(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response["Cache-Control"]

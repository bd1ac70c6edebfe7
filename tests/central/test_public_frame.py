"""The PST public frame over helpdesk's public pages, and helpdesk still working half-installed."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from helpdesk.models import KBCategory, KBItem, Queue, Ticket

from pst_helpdesk_ext.checks import check_settings

pytestmark = pytest.mark.django_db

TEST_KEY = {"ID_HASH_KEY": "test-id-hash-key-0123456789abcdef0123456789"}


@pytest.fixture
def kb_article():
    queue = Queue.objects.create(title="Konsultasi", slug="pst-konsultasi")
    category = KBCategory.objects.create(
        name="Inflasi", title="Inflasi", slug="inflasi", description="Inflasi bulanan", queue=queue
    )
    return KBItem.objects.create(
        category=category, title="IHK", question="Apa itu IHK?", answer="Indeks harga konsumen."
    )


def title(html: str) -> str:
    return " ".join(re.search(r"<title>(.*?)</title>", html, re.S).group(1).split())


def test_public_pages_carry_the_office_not_helpdesk(client, kb_article):
    pages = [
        reverse("helpdesk:home"),
        reverse("helpdesk:kb_index"),
        reverse("helpdesk:kb_category", args=[kb_article.category.slug]),
        reverse("helpdesk:submit"),
        reverse("pst:online_start"),
    ]
    with override_settings(PST_HELPDESK={**TEST_KEY, "OFFICE_NAME": "BPS Kabupaten Contoh"}):
        for page in pages:
            html = client.get(page).content.decode()
            assert title(html).endswith("· BPS Kabupaten Contoh"), page
            assert "django-helpdesk" not in html, page
            assert 'id="pst-office-name"' in html and "BPS Kabupaten Contoh" in html, page
            assert "pst_helpdesk_ext/img/pst-logo.svg" in html, page
            # No helpdesk visitor navigation: no "New Ticket", no "Log In", no sidebar.
            for stock in ("New Ticket", "Log In", 'id="sidebarToggle"', 'class="sidebar'):
                assert stock not in html, (page, stock)


def test_every_ask_path_leads_into_the_pst_request_flow(client, kb_article):
    start = reverse("pst:online_start")
    submit = reverse("helpdesk:submit")
    home = client.get(reverse("helpdesk:home")).content.decode()
    assert f'href="{start}"' in home and f'action="{submit}"' not in home
    category = client.get(
        reverse("helpdesk:kb_category", args=[kb_article.category.slug])
    ).content.decode()
    assert "Apa itu IHK?" in category
    assert f'href="{start}"' in category and submit not in category
    assert "Create New Ticket" not in category and "Create Ticket" not in category
    form = client.get(submit).content.decode()
    assert 'id="pst-ask-instead"' in form and f'href="{start}"' in form
    assert 'name="submitter_email"' not in form


def test_the_admin_can_offer_helpdesks_own_public_form(client, kb_article):
    with override_settings(PST_HELPDESK={**TEST_KEY, "PUBLIC_TICKET_FORM": True}):
        form = client.get(reverse("helpdesk:submit")).content.decode()
        assert 'name="submitter_email"' in form and 'id="pst-ask-instead"' not in form
        category = client.get(
            reverse("helpdesk:kb_category", args=[kb_article.category.slug])
        ).content.decode()
        assert reverse("helpdesk:submit") in category
        home = client.get(reverse("helpdesk:home")).content.decode()
        assert 'id="pst-request-entry"' in home and 'name="submitter_email"' in home


@override_settings(ROOT_URLCONF="tests.central.urls_helpdesk_only")
def test_helpdesk_works_with_the_plugin_installed_but_its_urls_not_mounted(client, kb_article):
    """The plugin in INSTALLED_APPS, its URLs not included yet: helpdesk's pages still answer,
    with helpdesk's own form (there is no PST request page to send visitors to)."""
    for page in ("/", "/kb/", f"/kb/{kb_article.category.slug}/", "/tickets/submit/"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert "/pst/" not in response.content.decode(), page
    assert 'name="submitter_email"' in client.get("/").content.decode()
    assert 'name="submitter_email"' in client.get("/tickets/submit/").content.decode()


def test_staff_keep_helpdesks_frame_on_public_pages(client, admin_user, kb_article):
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:kb_index")).content.decode()
    assert 'id="sidebarToggle"' in html and 'id="pst-public-header"' not in html
    assert "django-helpdesk" not in title(html)


def test_language_switch_for_visitors_and_staff(client, admin_user):
    home = reverse("helpdesk:home")
    html = client.get(home, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert 'id="pst-public-language"' in html and '<html lang="id">' in html
    response = client.post(reverse("pst:set_language"), {"language": "en", "next": home})
    assert response.status_code == 302 and response["Location"] == home
    assert '<html lang="en">' in client.get(home).content.decode()
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:list")).content.decode()
    assert 'id="pst-staff-language"' in html
    client.post(reverse("pst:set_language"), {"language": "id", "next": reverse("helpdesk:list")})
    assert '<html lang="id">' in client.get(reverse("helpdesk:list")).content.decode()


def test_frame_settings_are_checked():
    with override_settings(PST_HELPDESK={"OFFICE_NAME": 3, "PUBLIC_TICKET_FORM": "yes"}):
        assert [e.id for e in check_settings()] == ["pst_helpdesk_ext.E030"] * 2


def test_a_post_to_helpdesks_closed_public_form_creates_nothing(client, kb_article):
    queue = Queue.objects.create(title="PST 1222", slug="pst-1222", allow_public_submission=True)
    data = {
        "queue": queue.pk,
        "title": "Data kemiskinan",
        "body": "Mohon data kemiskinan 2024",
        "submitter_email": "rina@example.com",
        "priority": 3,
    }
    response = client.post(reverse("helpdesk:submit"), data)
    assert response.status_code == 200
    assert not Ticket.objects.filter(title="Data kemiskinan").exists()
    with override_settings(PST_HELPDESK={**TEST_KEY, "PUBLIC_TICKET_FORM": True}):
        response = client.post(reverse("helpdesk:submit"), data)
    assert response.status_code == 302
    assert Ticket.objects.filter(title="Data kemiskinan", queue=queue).exists()

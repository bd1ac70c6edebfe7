"""PST_HELPDESK['PUBLIC_BASE_URL']: the address e-mail and WhatsApp links name.

helpdesk builds its links from the Sites framework (example.com on a fresh site); ``migrate``
writes the setting's host there, and the system checks E040 / W040-W042 say what is still wrong.
"""

from __future__ import annotations

import pytest
from django.contrib.sites.models import Site
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings
from helpdesk.lib import build_base_url

from pst_helpdesk_ext.checks import check_public_base_url, check_public_links
from pst_helpdesk_ext.site_url import parse_base_url, sync_site_domain

pytestmark = pytest.mark.django_db

PUBLIC = {"ID_HASH_KEY": "test-id-hash-key-0123456789abcdef0123456789"}


def with_url(url: str) -> dict:
    return {**PUBLIC, "PUBLIC_BASE_URL": url}


def link_ids(**overrides) -> list[str]:
    with override_settings(**overrides):
        return [w.id for w in check_public_links(databases=["default"])]


def test_a_fresh_site_is_warned_that_its_links_point_to_example_com():
    assert Site.objects.get_current().domain == "example.com"
    with override_settings(PST_HELPDESK=PUBLIC):
        (warning,) = check_public_links(databases=["default"])
        assert warning.id == "pst_helpdesk_ext.W040"
        assert "example.com" in warning.msg and "PUBLIC_BASE_URL" in warning.hint
        # Reported by `manage.py check --database default` (and by migrate).
        assert "pst_helpdesk_ext.W040" in [e.id for e in run_checks(databases=["default"])]


def test_migrate_writes_the_public_address_into_the_site_and_helpdesk_links_follow():
    with override_settings(PST_HELPDESK=with_url("http://pst.example.go.id:8160/")):
        assert link_ids(PST_HELPDESK=with_url("http://pst.example.go.id:8160/")) == [
            "pst_helpdesk_ext.W041"  # set, not yet applied: run migrate
        ]
        call_command("migrate", verbosity=0)
        Site.objects.clear_cache()
        assert Site.objects.get_current().domain == "pst.example.go.id:8160"
        assert build_base_url() == "http://pst.example.go.id:8160"
        assert check_public_links(databases=["default"]) == []
        assert check_public_base_url() == []


def test_the_receiver_leaves_the_site_alone_when_the_setting_is_empty():
    Site.objects.filter(pk=1).update(domain="pst.bps.go.id")
    Site.objects.clear_cache()
    with override_settings(PST_HELPDESK=PUBLIC):
        sync_site_domain(using="default")
        assert check_public_links(databases=["default"]) == []
    assert Site.objects.get(pk=1).domain == "pst.bps.go.id"


def test_helpdesk_ticket_links_name_the_public_address():
    from helpdesk.models import Queue, Ticket

    with override_settings(PST_HELPDESK=with_url("http://10.1.2.3:8000")):
        sync_site_domain(using="default")
    queue = Queue.objects.create(title="PST", slug="pst-x", allow_email_submission=False)
    ticket = Ticket.objects.create(
        title="Data", queue=queue, submitter_email="siti@example.id", description="x"
    )
    assert ticket.ticket_url.startswith("http://10.1.2.3:8000/view/?ticket=")
    assert ticket.staff_url.startswith("http://10.1.2.3:8000/")


@pytest.mark.parametrize(
    "value",
    ["pst.example.go.id", "ftp://pst.example.go.id", "https://pst.example.go.id/helpdesk", 42],
)
def test_a_malformed_public_address_is_an_error_naming_the_key(value):
    with override_settings(PST_HELPDESK=with_url(value)):
        (error,) = check_public_base_url()
    assert error.id == "pst_helpdesk_ext.E040"
    assert "PUBLIC_BASE_URL" in error.msg and "https://" in error.hint


def test_https_address_with_http_email_links_is_warned():
    with override_settings(
        PST_HELPDESK=with_url("https://pst.example.go.id"), HELPDESK_USE_HTTPS_IN_EMAIL_LINK=False
    ):
        (warning,) = check_public_base_url()
    assert warning.id == "pst_helpdesk_ext.W042"
    assert "HELPDESK_USE_HTTPS_IN_EMAIL_LINK = True" in warning.hint


def test_parse_base_url_keeps_the_port():
    assert parse_base_url("HTTP://Pst.Example.go.id:8160") == ("http", "pst.example.go.id:8160")

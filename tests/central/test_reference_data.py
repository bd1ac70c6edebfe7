"""The rows the migrations seed (issue 20): found missing by a system check (E050) naming
``pst_restore_reference_data``, restored by it without touching rows that exist; and a central
error on a branch's data shown on the staff's branch page."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone, translation
from helpdesk.models import EmailTemplate

from pst_helpdesk_ext.checks import check_reference_data
from pst_helpdesk_ext.models import Channel, FeedHead, ServiceCategory, SLAPolicy
from pst_helpdesk_ext.services import reference_data
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db


def restore(*args: str) -> str:
    out = io.StringIO()
    call_command("pst_restore_reference_data", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int, int]:
    return (
        Channel.objects.count(),
        ServiceCategory.objects.count(),
        EmailTemplate.objects.filter(locale="id").count(),
        SLAPolicy.objects.count(),
        FeedHead.objects.count(),
    )


def test_a_migrated_database_has_every_seeded_row_and_the_check_is_quiet():
    assert not reference_data.missing()
    assert check_reference_data(databases=["default"]) == []
    assert check_reference_data(databases=None) == []  # plain `check`: no database read
    before = counts()
    with translation.override("en"):
        assert "nothing to restore" in restore()
    assert counts() == before


def test_the_check_names_what_is_missing_and_the_command_that_restores_it():
    Channel.objects.filter(code="walk_in").delete()
    gone = ["merged", "resolved_owner"]
    EmailTemplate.objects.filter(locale="id", template_name__in=gone).delete()
    [error] = check_reference_data(databases=["default"])
    assert error.id == "pst_helpdesk_ext.E050"
    assert "walk_in" in error.msg and "merged" in error.msg and "resolved_owner" in error.msg
    assert "pst_restore_reference_data" in error.hint
    with translation.override("en"), pytest.raises(CommandError, match="walk_in"):
        restore("--check")
    assert not Channel.objects.filter(code="walk_in").exists()  # --check changes nothing


def test_a_flushed_database_is_restored_as_the_migrations_seed_it():
    seeded = counts()
    walk_in = Channel.objects.values("name_id", "name_en", "online", "order").get(code="walk_in")
    template = EmailTemplate.objects.values("subject", "heading", "plain_text", "html").get(
        locale="id", template_name="newticket_submitter"
    )
    SLAPolicy.objects.all().delete()
    ServiceCategory.objects.filter(kind="subject").delete()
    ServiceCategory.objects.all().delete()
    Channel.objects.all().delete()
    EmailTemplate.objects.filter(locale="id").delete()
    FeedHead.objects.all().delete()
    assert counts() == (0, 0, 0, 0, 0)

    with translation.override("en"):
        out = restore()
    assert "Restored 4 channels, 7 service categories" in out
    assert counts() == seeded
    assert Channel.objects.values("name_id", "name_en", "online", "order").get(code="walk_in") == (
        walk_in
    )
    assert (
        EmailTemplate.objects.values("subject", "heading", "plain_text", "html").get(
            locale="id", template_name="newticket_submitter"
        )
        == template
    )
    assert ServiceCategory.objects.get(code="data").parent.code == "konsultasi"
    assert check_reference_data(databases=["default"]) == []


def test_rows_that_exist_are_left_as_the_admin_made_them():
    Channel.objects.filter(code="walk_in").update(name_id="Tatap muka")
    EmailTemplate.objects.filter(locale="id", template_name="closed_owner").update(
        subject="(Ditutup, versi kantor)"
    )
    Channel.objects.filter(code="email").delete()
    with translation.override("id"):
        out = restore()
    assert "1" in out and "Dipulihkan" in out
    assert Channel.objects.get(code="walk_in").name_id == "Tatap muka"
    assert Channel.objects.get(code="email").name_en == "Email"
    assert (
        EmailTemplate.objects.get(locale="id", template_name="closed_owner").subject
        == "(Ditutup, versi kantor)"
    )


def test_a_central_error_on_a_branch_is_shown_on_the_branch_page(client):
    branch = create_branch("1222", "Labuhanbatu Selatan")
    admin = make_staff("admin", superuser=True)
    client.force_login(admin)
    page = client.get(reverse("pst:overview")).content.decode()
    assert "pst-central-error" not in page  # nothing went wrong yet

    state = branch.sync_state
    state.internal_errors = 3
    state.last_internal_error = "ImproperlyConfigured: The walk_in channel is missing"
    state.last_internal_error_at = timezone.now()
    state.save()
    with translation.override("id"):
        page = client.get(reverse("pst:overview"), HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "pst-central-error" in page
    assert "ImproperlyConfigured: The walk_in channel is missing" in page
    assert "Pusat tidak dapat menerapkan data kantor ini (3 kali" in page
    page = client.get(reverse("pst:overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Central could not apply this office's data (3 times" in page

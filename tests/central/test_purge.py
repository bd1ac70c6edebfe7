"""Retention purge of visitor personal data, on walk-ins applied through the real intake service."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import (
    Channel,
    GuestBookEntry,
    PSTTicket,
    Rating,
    Visit,
    Visitor,
    WhatsAppThread,
)
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.personal_data_purge import erase_visitors, purge_personal_data
from tests.central import test_ui as ui
from tests.central.test_ui import BranchOps

pytestmark = pytest.mark.django_db

NOW = timezone.now()
THREE_YEARS_AGO = NOW - datetime.timedelta(days=3 * 365)
LAST_WEEK = NOW - datetime.timedelta(days=7)
SITI = {"name": "Siti Aminah", "email": "siti@example.com", "nik": "1222015708900001"}


@pytest.fixture
def branch_ops() -> BranchOps:
    return BranchOps(create_branch("1222", "Labuhanbatu Selatan"))


def personal_traces(text: str) -> list[str]:
    needles = ("Siti Aminah", "siti@example.com", "081234567890", "kemiskinan kecamatan")
    # Rating comments are PST's own rows, not helpdesk's: checked where they matter.
    return [needle for needle in needles if needle.lower() in text.lower()]


def everything_helpdesk_holds() -> str:
    parts: list[str] = []
    for ticket in Ticket.objects.all():
        parts += [ticket.title, ticket.description, ticket.submitter_email or ""]
    for followup in FollowUp.objects.all():
        parts += [followup.title or "", followup.comment or "", str(followup.email_recipients)]
    return "\n".join(parts)


def test_purge_erases_personal_data_and_keeps_the_statistics(branch_ops):
    visit_id = branch_ops.walk_in(
        THREE_YEARS_AGO,
        **SITI,
        purpose="Data kemiskinan kecamatan 2022",
        rating_comment="Terima kasih, saya Siti Aminah 081234567890",
    )
    visit = Visit.objects.get(origin_id=visit_id)
    ticket = visit.pst_ticket.ticket
    visitor = visit.pst_ticket.visitor
    assert ticket.submitter_email == "siti@example.com"
    assert "kemiskinan kecamatan" in everything_helpdesk_holds()  # the intake's follow-up

    out = StringIO()
    call_command("pst_purge_personal_data", stdout=out)

    output = out.getvalue()
    assert "visitors: 1" in output or "pengunjung: 1" in output
    visitor.refresh_from_db()
    assert visitor.purged_at is not None
    assert (visitor.name, visitor.email, visitor.phone) == ("", "", "")
    assert (visitor.id_hash, visitor.id_last4, visitor.masked_id) == ("", "", "")
    # Kept: the anonymous facts the statistics need.
    assert visitor.id_type == "ktp" and visitor.institution == "Universitas Sumatera Utara"
    visit.refresh_from_db()
    assert visit.wait_seconds == 300 and visit.service_seconds == 1200
    assert visit.outcome == Visit.Outcome.RESOLVED and visit.service.code == "konsultasi"
    assert GuestBookEntry.objects.get(visit=visit).purpose == ""
    assert GuestBookEntry.objects.get(visit=visit).consent is True
    rating = Rating.objects.get(ticket=ticket)
    assert rating.overall == 4 and rating.scores["U1"] == 4 and rating.comment == ""
    assert "rating comments erased: 1" in output or "komentar penilaian dihapus: 1" in output
    assert PSTTicket.objects.get(ticket=ticket).visitor_id == visitor.pk
    # helpdesk's copies are gone too, and the guest-book follow-up says what was erased.
    assert personal_traces(everything_helpdesk_holds()) == []
    assert FollowUp.objects.filter(ticket=ticket, comment__contains="[…]").exists()
    ticket.refresh_from_db()
    assert ticket.submitter_email == "" and ticket.title and ticket.status == Ticket.RESOLVED_STATUS


def test_second_run_finds_nothing(branch_ops):
    branch_ops.walk_in(
        THREE_YEARS_AGO,
        **SITI,
        purpose="Data kemiskinan kecamatan",
    )
    cutoff = NOW - datetime.timedelta(days=730)
    first = purge_personal_data(cutoff)
    assert (first.visitors, first.guestbook_purposes, first.ticket_emails) == (1, 1, 1)
    assert first.followups >= 1
    purged_at = Visitor.objects.get().purged_at
    second = purge_personal_data(cutoff)
    assert second == type(second)()
    assert Visitor.objects.get().purged_at == purged_at


def test_dry_run_counts_exactly_and_changes_nothing(branch_ops):
    branch_ops.walk_in(
        THREE_YEARS_AGO,
        **SITI,
        purpose="Data kemiskinan kecamatan",
    )
    before = everything_helpdesk_holds()
    out = StringIO()
    call_command("pst_purge_personal_data", "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() or "Uji coba" in out.getvalue()
    assert Visitor.objects.get().name == "Siti Aminah"
    assert everything_helpdesk_holds() == before
    counted = purge_personal_data(NOW - datetime.timedelta(days=730), dry_run=True)
    done = purge_personal_data(NOW - datetime.timedelta(days=730))
    assert counted == done and done.visitors == 1


def test_recent_visitors_and_returning_visitors_keep_their_data(branch_ops):
    branch_ops.walk_in(
        LAST_WEEK,
        name="Rudi Hartono",
        email="rudi@example.com",
        nik="1222010101950002",
        purpose="Metadata SUSENAS",
        number="K-002",
    )
    # A visitor first seen three years ago who came back last week (recognised by the ID hash).
    old_visit = branch_ops.walk_in(
        THREE_YEARS_AGO,
        **SITI,
        purpose="Data kemiskinan kecamatan 2022",
        number="K-003",
    )
    new_visit = branch_ops.walk_in(
        LAST_WEEK,
        **SITI,
        purpose="Data IPM 2025",
        number="K-004",
    )
    result = purge_personal_data(NOW - datetime.timedelta(days=730))
    assert result.visitors == 0
    assert result.guestbook_purposes == 1  # only the three-year-old entry's purpose
    assert Visitor.objects.filter(purged_at__isnull=False).count() == 0
    siti = Visitor.objects.get(name="Siti Aminah")
    assert siti.email == "siti@example.com" and siti.id_last4 == "0001"
    assert GuestBookEntry.objects.get(visit__origin_id=old_visit).purpose == ""
    assert GuestBookEntry.objects.get(visit__origin_id=new_visit).purpose == "Data IPM 2025"
    text = everything_helpdesk_holds()
    assert "kemiskinan kecamatan" not in text and "Data IPM 2025" in text


def test_retention_setting_and_before_date(branch_ops):
    branch_ops.walk_in(
        NOW - datetime.timedelta(days=40),
        **SITI,
        purpose="Data kemiskinan kecamatan",
    )
    call_command("pst_purge_personal_data", stdout=StringIO())
    assert Visitor.objects.get().purged_at is None  # 40 days < 730
    settings = {"ID_HASH_KEY": "test-id-hash-key-0123456789abcdef0123456789"}
    with override_settings(PST_HELPDESK={**settings, "PERSONAL_DATA_RETENTION_DAYS": 60}):
        call_command("pst_purge_personal_data", stdout=StringIO())
    assert Visitor.objects.get().purged_at is None  # 40 days < 60
    day_before_visit = (NOW - datetime.timedelta(days=41)).date().isoformat()
    call_command("pst_purge_personal_data", "--before", day_before_visit, stdout=StringIO())
    assert Visitor.objects.get().purged_at is None
    with override_settings(PST_HELPDESK={**settings, "PERSONAL_DATA_RETENTION_DAYS": 30}):
        out = StringIO()
        call_command("pst_purge_personal_data", stdout=out)
    assert Visitor.objects.get().purged_at is not None
    assert "30" in out.getvalue()


def test_before_date_is_checked(branch_ops):
    with pytest.raises(CommandError, match="2026-13-01"):
        call_command("pst_purge_personal_data", "--before", "2026-13-01")
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match=tomorrow):
        call_command("pst_purge_personal_data", "--before", tomorrow)


def test_erasing_on_request_reaches_every_entry_of_the_visitor(branch_ops):
    branch_ops.walk_in(
        LAST_WEEK,
        **SITI,
        purpose="Data kemiskinan kecamatan",
    )
    result = erase_visitors(Visitor.objects.filter(name="Siti Aminah"))
    assert result.visitors == 1 and result.guestbook_purposes == 1 and result.ticket_emails == 1
    assert personal_traces(everything_helpdesk_holds()) == []
    assert not Visitor.objects.filter(~Q(name="")).exists()


def test_whatsapp_numbers_follow_the_retention_rule(branch_ops):
    """The purge empties the number of old WhatsApp conversations; recent ones and every
    ticket and message stay."""
    old = ui.make_pst_ticket(branch_ops.branch, title="Lama", channel=Channel.WHATSAPP)
    new = ui.make_pst_ticket(branch_ops.branch, title="Baru", channel=Channel.WHATSAPP)
    WhatsAppThread.objects.create(pst_ticket=old, wa_id="6281234567890", created=THREE_YEARS_AGO)
    WhatsAppThread.objects.create(pst_ticket=new, wa_id="6289876543210", created=LAST_WEEK)
    out = StringIO()
    call_command("pst_purge_personal_data", stdout=out)
    assert WhatsAppThread.objects.get(pst_ticket=old).wa_id == ""
    assert WhatsAppThread.objects.get(pst_ticket=new).wa_id == "6289876543210"
    assert PSTTicket.objects.count() == 2
    assert "WhatsApp" in out.getvalue() and ": 1" in out.getvalue().split("WhatsApp")[1]
    assert purge_personal_data(timezone.now() - datetime.timedelta(days=730)).whatsapp_numbers == 0


def test_rating_comments_follow_the_retention_rule(branch_ops):
    """An old rating loses its comment even when its visitor keeps coming back; the scores stay;
    a recent rating keeps its comment; erasing a visitor on request erases their comments."""
    old = branch_ops.walk_in(
        THREE_YEARS_AGO,
        **SITI,
        purpose="",
        rating_comment="Pelayanan cepat, terima kasih Pak Budi",
    )
    recent = branch_ops.walk_in(
        LAST_WEEK,
        **SITI,
        purpose="",
        number="K-002",
        rating_comment="Ruang tunggu panas",
    )

    def comment(visit_id: str) -> str:
        return Rating.objects.get(ticket__pst__visit__origin_id=visit_id).comment

    result = purge_personal_data(NOW - datetime.timedelta(days=730))
    assert (result.rating_comments, result.visitors) == (1, 0)  # she came back last week
    assert comment(old) == "" and comment(recent) == "Ruang tunggu panas"
    assert Rating.objects.get(ticket__pst__visit__origin_id=old).overall == 4
    assert purge_personal_data(NOW - datetime.timedelta(days=730)).rating_comments == 0

    on_request = erase_visitors(Visitor.objects.filter(name="Siti Aminah"))
    assert on_request.rating_comments == 1 and comment(recent) == ""

"""Rating links and ratings through real helpdesk tickets: issued on resolve/close by helpdesk's
own ``update_ticket``, e-mailed from the queue's address, single use in the database, and every
bad input refused with nothing stored."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail, signing
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from helpdesk.models import Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.models import Complaint, Rating, RatingInvitation
from pst_helpdesk_ext.services import ratings
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import make_pst_ticket, make_staff

pytestmark = pytest.mark.django_db(transaction=False)

ALL_FOUR = {f"U{n}": 4 for n in range(1, 10)}
LINK = re.compile(r"https?://[^\s\"<>]+/pst/rate/[^\s\"<>]+/")


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {f"U{n}": "3" for n in range(1, 10)}
    data.update(overall="4", comment="Cepat dan jelas")
    data.update(overrides)
    return data


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", email="pst1222@example.bps.go.id")


@pytest.fixture
def online(branch):
    return make_pst_ticket(branch, channel="web", title="Data IPM 2024")


def resolve(pst, status=Ticket.RESOLVED_STATUS):
    staff = make_staff(
        f"staff{Ticket.objects.count()}{RatingInvitation.objects.count()}", superuser=True
    )
    return update_ticket(
        staff, pst.ticket, comment="Datanya ada di tabel 3.1", public=True, new_status=status
    )


def rating_link(email_index: int = -1) -> str:
    message = [m for m in mail.outbox if "/pst/rate/" in m.body][email_index]
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


class TestLinks:
    def test_resolving_an_online_ticket_emails_one_link_from_the_queue(
        self, online, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            resolve(online)
        link_mails = [m for m in mail.outbox if "/pst/rate/" in m.body]
        assert len(link_mails) == 1
        message = link_mails[0]
        assert message.to == ["visitor@example.com"]
        assert "pst1222@example.bps.go.id" in message.from_email
        assert online.ticket.ticket in message.subject
        assert RatingInvitation.objects.filter(ticket=online.ticket, used_at=None).count() == 1
        # Closing after resolving sends no second link: the first is still valid.
        with django_capture_on_commit_callbacks(execute=True):
            resolve(online, Ticket.CLOSED_STATUS)
        assert len([m for m in mail.outbox if "/pst/rate/" in m.body]) == 1

    def test_signal_carries_the_link_for_other_channels(
        self, online, django_capture_on_commit_callbacks
    ):
        seen = []

        def receiver(sender, pst_ticket, url, **kwargs):
            seen.append((pst_ticket, url))

        ratings.rating_link_issued.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                resolve(online)
        finally:
            ratings.rating_link_issued.disconnect(receiver)
        assert seen == [(online, rating_link())]

    def test_no_link_for_open_updates_rated_tickets_or_complaints(
        self, online, branch, django_capture_on_commit_callbacks
    ):
        staff = make_staff("budi", superuser=True)
        with django_capture_on_commit_callbacks(execute=True):
            update_ticket(staff, online.ticket, comment="Sedang dicari", public=True)
        assert not RatingInvitation.objects.exists()
        Rating.objects.create(ticket=online.ticket, branch=branch, scores=ALL_FOUR, overall=4)
        with django_capture_on_commit_callbacks(execute=True):
            resolve(online)
        assert not RatingInvitation.objects.exists()

    def test_public_ticket_page_shows_the_link(
        self, client, online, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            resolve(online)
        ticket = Ticket.objects.get(pk=online.ticket.pk)
        page = client.get(ticket.ticket_url.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'id="pst-rating-prompt"' in body
        # The page's link (signed afresh) names the same single-use invitation as the e-mail's.
        href = re.search(r'href="/pst/rate/([^"/]+)/"', body).group(1)
        emailed = path_of(rating_link()).rstrip("/").rsplit("/", 1)[1]
        assert ratings.invitation_for_token(href) == ratings.invitation_for_token(emailed)


class TestRatingForm:
    def issue(self, online, django_capture_on_commit_callbacks) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            resolve(online)
        return path_of(rating_link())

    def test_a_rating_is_stored_once(self, client, online, django_capture_on_commit_callbacks):
        url = self.issue(online, django_capture_on_commit_callbacks)
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert "Gratis" in text and "Free" in text  # U4's best answer, both languages
        response = client.post(url, form_data())
        assert response.status_code == 302
        rating = Rating.objects.get(ticket=online.ticket)
        assert rating.scores == {f"U{n}": 3 for n in range(1, 10)}
        assert rating.overall == 4 and rating.source == Rating.Source.LINK
        assert rating.branch == online.branch
        assert RatingInvitation.objects.get().used_at is not None
        again = client.post(url, form_data())
        assert again.status_code == 409
        assert "sudah" in again.content.decode() and "already" in again.content.decode()
        assert Rating.objects.count() == 1

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"U3": "5"}, "5 is not an answer"),
            ({"U3": "0"}, "0 is not an answer"),
            ({"overall": "9"}, "9 is not an answer"),
            ({"U10": "4"}, "U10 is not one of the nine survey questions"),
            ({"U2": ""}, "Choose one answer"),
            ({"lapor_ref": "$$$"}, "does not look like an SP4N-LAPOR! reference"),
        ],
    )
    def test_bad_answers_are_refused_and_nothing_is_stored(
        self, client, online, django_capture_on_commit_callbacks, overrides, message
    ):
        url = self.issue(online, django_capture_on_commit_callbacks)
        response = client.post(url, form_data(**overrides), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Rating.objects.exists() and not Complaint.objects.exists()
        assert RatingInvitation.objects.get().used_at is None

    def test_tampered_link_is_refused(self, client, online, django_capture_on_commit_callbacks):
        url = self.issue(online, django_capture_on_commit_callbacks)
        token = url.rstrip("/").rsplit("/", 1)[1]
        tampered = reverse("pst:rate", args=[token[:-2] + ("AA" if token[-2:] != "AA" else "BB")])
        response = client.post(tampered, form_data())
        assert response.status_code == 400
        body = response.content.decode()
        assert 'id="refused-id"' in body and 'id="refused-en"' in body
        # A well-signed token for an invitation that does not exist, or another ticket.
        forged = signing.dumps({"i": 999, "t": online.ticket.pk}, salt="wrong-salt")
        assert client.get(reverse("pst:rate", args=[forged])).status_code == 400
        assert not Rating.objects.exists()

    def test_expired_link_is_refused(self, client, online, django_capture_on_commit_callbacks):
        url = self.issue(online, django_capture_on_commit_callbacks)
        later = timezone.now() + datetime.timedelta(days=2)
        with (
            override_settings(PST_HELPDESK={"RATING_LINK_MAX_AGE_DAYS": 1}),
            pytest.MonkeyPatch.context() as patch,
        ):
            patch.setattr(signing.time, "time", lambda: later.timestamp())
            response = client.post(url, form_data())
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        assert not Rating.objects.exists()

    def test_second_rating_for_the_same_ticket_through_another_link(
        self, client, online, django_capture_on_commit_callbacks
    ):
        url = self.issue(online, django_capture_on_commit_callbacks)
        second = RatingInvitation.objects.create(ticket=online.ticket)
        assert client.post(url, form_data()).status_code == 302
        response = client.post(ratings.link_path(second), form_data())
        assert response.status_code == 409
        assert Rating.objects.count() == 1

    def test_service_refuses_unknown_elements_and_scores(self, online):
        invitation = RatingInvitation.objects.create(ticket=online.ticket)
        for scores, field in (
            ({"U0": 3}, "U0"),
            ({"U1": 5}, "U1"),
            ({"U1": True}, "U1"),
            ({}, None),
        ):
            with pytest.raises(ratings.RatingRefused) as refused:
                ratings.submit_rating(invitation, scores=scores, overall=3)
            assert refused.value.field == field
        with pytest.raises(ratings.RatingRefused):
            ratings.submit_rating(invitation, scores=ALL_FOUR, overall=0)
        assert not Rating.objects.exists()

    def test_a_complaint_with_the_rating_becomes_a_complaints_ticket(
        self, client, online, django_capture_on_commit_callbacks
    ):
        url = self.issue(online, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                url,
                form_data(complaint_text="Petugas datang terlambat", lapor_ref="lap-2026-0001"),
                follow=True,
            )
        assert response.status_code == 200
        complaint = Complaint.objects.get()
        assert complaint.about == online.ticket
        assert complaint.ticket.queue.slug == "pst-pengaduan"
        assert complaint.lapor_ref == "LAP-2026-0001"
        assert complaint.branch == online.branch
        assert complaint.due_at is not None and complaint.ticket.due_date == complaint.due_at
        assert complaint.ticket.ticket in response.content.decode()
        assert Rating.objects.filter(ticket=online.ticket).exists()


class TestWalkIns:
    def test_walk_in_visitors_get_a_link_only_when_asked(
        self, branch, django_capture_on_commit_callbacks
    ):
        from tests.central.test_intake import WalkinOps, apply

        factory = WalkinOps()
        walk_in_links = override_settings(PST_HELPDESK={"RATING_LINK_WALK_IN": True})
        with django_capture_on_commit_callbacks(execute=True):
            apply(branch, factory.complete_visit()[:-1])  # finished, not rated at the kiosk
        assert not RatingInvitation.objects.exists()  # default: they rate at the kiosk
        with walk_in_links, django_capture_on_commit_callbacks(execute=True):
            apply(branch, factory.complete_visit())  # rated at the kiosk in the same batch
        assert not RatingInvitation.objects.exists()
        with walk_in_links, django_capture_on_commit_callbacks(execute=True):
            apply(branch, factory.complete_visit()[:-1])
        invitation = RatingInvitation.objects.get()
        assert invitation.ticket.pst.channel.code == "walk_in"
        assert any("/pst/rate/" in m.body for m in mail.outbox)


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("RATING_LINK_WALK_IN", "yes", "pst_helpdesk_ext.E030"),
        ("COMPLAINT_DEFAULT_TIER", 5, "pst_helpdesk_ext.E031"),
        ("LAPOR_REF_PATTERN", "([", "pst_helpdesk_ext.E032"),
        ("RATING_LINK_MAX_AGE_DAYS", 0, "pst_helpdesk_ext.E007"),
    ],
)
def test_bad_rating_settings_fail_the_checks(setting, value, check_id):
    from pst_helpdesk_ext.checks import check_settings

    with override_settings(PST_HELPDESK={setting: value}):
        ids = [error.id for error in check_settings()]
    assert check_id in ids

"""``pst_demo_data``: the demo site's branch, users, knowledge base and a service day so far,
loaded idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from helpdesk.models import KBItem, Ticket

from pst_helpdesk_ext.management.commands.pst_demo_data import DEMO_KB
from pst_helpdesk_ext.models import Branch, Complaint, FeedItem, PSTTicket, Rating, Visit

pytestmark = pytest.mark.django_db


def test_demo_data_is_idempotent_and_gives_the_search_step_something_to_find(client):
    first, second = StringIO(), StringIO()
    call_command("pst_demo_data", stdout=first)
    feed = FeedItem.objects.filter(kind="kb.upsert").count()
    call_command("pst_demo_data", stdout=second)
    assert first.getvalue() == second.getvalue()
    assert Branch.objects.filter(code="1222").count() == 1
    assert KBItem.objects.filter(category__public=True, enabled=True).count() == len(DEMO_KB)
    # The articles go down to every branch like any other (one broadcast row each, once).
    assert feed == len(DEMO_KB) == FeedItem.objects.filter(kind="kb.upsert").count()
    page = client.get(reverse("helpdesk:kb_index")).content.decode()
    assert "Data dan statistik BPS" in page


def test_demo_data_gives_the_newcomer_a_whole_day_to_look_at(admin_client):
    call_command("pst_demo_data", "--quiet-logins", stdout=StringIO())
    visits = Visit.objects.filter(branch__code="1207")
    # Every state of a walk-in: waiting, called, being served, finished three ways, missed.
    assert visits.filter(called_at__isnull=True).count() == 2  # waiting
    assert visits.filter(called_at__isnull=False, served_at__isnull=True,
                         outcome=Visit.Outcome.WAITING).count() == 1  # fmt: skip
    assert visits.filter(served_at__isnull=False, finished_at__isnull=True).count() == 1
    outcomes = sorted(
        visits.exclude(outcome=Visit.Outcome.WAITING).values_list("outcome", flat=True)
    )
    assert outcomes == ["escalated", "no_show", "referred", "resolved", "resolved"]
    referred = visits.get(outcome=Visit.Outcome.REFERRED)
    assert referred.referred_to.code == "penjualan"
    # Every visit is a helpdesk ticket in the branch's queue, once; the walk-ins' ratings and
    # the kiosk complaint came through the intake like a branch's sync.
    assert Ticket.objects.filter(queue__slug="pst-1207", pst__visit__isnull=False).count() == 9
    online = PSTTicket.objects.filter(online_request__isnull=False)
    assert online.count() == 3
    assert online.filter(ticket__status=Ticket.RESOLVED_STATUS).count() == 1  # answered
    assert online.filter(ticket__status=Ticket.OPEN_STATUS).count() == 2  # waiting
    assert online.filter(online_request__complete_at_submission=False).count() == 1
    assert Complaint.objects.count() == 2
    assert Rating.objects.count() == 4
    assert Rating.objects.filter(ticket__pst__online_request__isnull=False).count() == 1
    # The pages a newcomer opens first show that day.
    pages = {
        "tickets": reverse("pst:tickets"),
        "triage": reverse("pst:triage"),
        "ikm": reverse("pst:report_ikm"),
    }
    for name, url in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, name
    escalated = visits.get(outcome=Visit.Outcome.ESCALATED).pst_ticket.ticket
    listed = admin_client.get(pages["tickets"]).content.decode()
    assert escalated.title in listed and "Labuhanbatu" in listed
    ikm = admin_client.get(pages["ikm"]).content.decode()
    assert "1207" in ikm or "Labuhanbatu" in ikm


def test_demo_day_loads_once():
    call_command("pst_demo_data", "--quiet-logins", stdout=StringIO())
    counts = (Visit.objects.count(), Ticket.objects.count(), Rating.objects.count())
    call_command("pst_demo_data", "--quiet-logins", stdout=StringIO())
    assert (Visit.objects.count(), Ticket.objects.count(), Rating.objects.count()) == counts

"""A status change's follow-up title in the page's language (helpdesk writes an English " and ")."""

from __future__ import annotations

import pytest
from django.utils import translation
from helpdesk.models import FollowUp, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from tests.central.test_intake import RECEIVED, WalkinOps
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


def test_helpdesks_own_status_change_is_titled_in_indonesian(branch):
    staff = make_staff("petugas", superuser=True)
    ticket = Ticket.objects.create(title="Data kemiskinan", queue=branch.queue)
    with translation.override("id"):
        update_ticket(staff, ticket, comment="Tabel terlampir.", public=True, new_status=3)
    followup = FollowUp.objects.filter(ticket=ticket).latest("id")
    assert followup.title == "Data kemiskinan dan Diselesaikan"


def test_in_english_helpdesks_title_is_unchanged(branch):
    staff = make_staff("petugas", superuser=True)
    ticket = Ticket.objects.create(title="Poverty data", queue=branch.queue)
    with translation.override("en"):
        update_ticket(staff, ticket, comment="Table attached.", public=True, new_status=3)
    assert FollowUp.objects.filter(ticket=ticket).latest("id").title == "Poverty data and Resolved"


def test_a_walk_in_resolved_at_the_branch_is_titled_in_indonesian(branch):
    ops = WalkinOps()
    visit = ops.new_visit_id()
    with translation.override("id"):
        apply_walkin_ops(
            branch,
            [ops.created(visit, 1), ops.called(visit), ops.served(visit), ops.resolved(visit)],
            RECEIVED,
        )
    titles = [f.title for f in FollowUp.objects.filter(new_status__isnull=False)]
    assert titles and all(" and " not in t for t in titles), titles
    assert any(t.endswith(" dan Diselesaikan") for t in titles), titles

"""``pst_demo_data``: the demo site's branch, users and knowledge base, loaded idempotently."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from helpdesk.models import KBItem

from pst_helpdesk_ext.management.commands.pst_demo_data import DEMO_KB
from pst_helpdesk_ext.models import Branch, FeedItem

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

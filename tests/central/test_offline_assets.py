"""Pages staff use every day load nothing from the internet (HELPDESK_USE_CDN = False + plugin)."""

import re

import pytest
from django.contrib.auth import get_user_model
from helpdesk.models import Queue, Ticket

EXTERNAL = re.compile(r"<(?:script|link|img)\b[^>]*(?:src|href)=[\"'](?:https?:)?//", re.I)


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    client.force_login(user)
    queue = Queue.objects.create(title="PST 1222", slug="pst-t1222")
    ticket = Ticket.objects.create(title="Konsultasi", queue=queue, description="Data")
    return client, ticket


def test_staff_pages_load_no_external_assets(staff_client):
    client, ticket = staff_client
    pages = ["/dashboard/", "/tickets/", f"/tickets/{ticket.id}/", "/pst/", "/pst/tickets/", "/kb/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert not EXTERNAL.search(html), (page, EXTERNAL.search(html).group(0))


def test_the_check_sees_an_external_asset():
    assert EXTERNAL.search('<script src="https://assets.example.org/npm/x.js"></script>')
    assert EXTERNAL.search("<link rel=stylesheet href='//cdn.example/x.css'>")
    assert not EXTERNAL.search('<script src="/static/helpdesk/vendor/jquery/jquery.min.js">')

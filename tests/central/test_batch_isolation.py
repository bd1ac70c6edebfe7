"""Central batch jobs never stop for one bad record (issue 13, defect 1): the retention purge, the
down-feed prune and WhatsApp sends each meet a record the real database (or the real sender)
refuses, among good ones; the bad one is logged with its id and reason and counted, the others
are done."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from pst_helpdesk_ext.models import Rating, Visit, Visitor
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import BranchOps

pytestmark = pytest.mark.django_db

NOW = timezone.now()
THREE_YEARS_AGO = NOW - datetime.timedelta(days=3 * 365)


@contextlib.contextmanager
def database_refuses(table: str, pk: int, action: str = "UPDATE") -> Iterator[None]:
    """A trigger that makes the database refuse ``action`` on one row of ``table``: a record
    that cannot be processed, as a constraint, a lock timeout or a corrupt row would make it."""
    name = f"refuse_{table}_{pk}"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                f"WHEN OLD.id = {pk} BEGIN SELECT RAISE(ABORT, 'row {pk} refused'); END"
            )
        else:
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"RAISE EXCEPTION 'row {pk} refused'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {table} FOR EACH ROW "
                f"WHEN (OLD.id = {pk}) EXECUTE FUNCTION {name}()"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER {name}")
            else:
                cursor.execute(f"DROP TRIGGER {name} ON {table}")
                cursor.execute(f"DROP FUNCTION {name}()")


@pytest.fixture
def branch_ops() -> BranchOps:
    return BranchOps(create_branch("1222", "Labuhanbatu Selatan"))


def old_visitors(branch_ops: BranchOps) -> tuple[Visitor, Visitor, Visitor]:
    people = [
        ("Siti Aminah", "siti@example.com", "1222015708900001", "K-001"),
        ("Budi Santoso", "budi@example.com", "1222011708900002", "K-002"),
        ("Rina Lubis", "rina@example.com", "1222015808900003", "K-003"),
    ]
    found = []
    for n, (name, email, nik, number) in enumerate(people):
        visit_id = branch_ops.walk_in(
            THREE_YEARS_AGO + datetime.timedelta(minutes=n),
            name=name,
            email=email,
            nik=nik,
            purpose="Data kemiskinan",
            number=number,
            rating_comment=f"Terima kasih, {name}",
        )
        found.append(Visit.objects.get(origin_id=visit_id).pst_ticket.visitor)
    return found[0], found[1], found[2]


def test_purge_skips_a_visitor_the_database_refuses_and_erases_the_others(branch_ops, caplog):
    siti, budi, rina = old_visitors(branch_ops)
    out = StringIO()
    with (
        database_refuses(Visitor._meta.db_table, budi.pk),
        caplog.at_level(logging.ERROR, logger="pst.purge"),
        pytest.raises(CommandError) as failed,
    ):
        call_command("pst_purge_personal_data", stdout=out)
    assert "1" in str(failed.value)
    assert "visitors: 2" in out.getvalue() or "pengunjung: 2" in out.getvalue()
    assert "skipped after an error: 1" in out.getvalue() or ": 1" in out.getvalue()
    assert any(
        f"visitor {budi.pk} skipped" in r.getMessage() and "refused" in r.getMessage()
        for r in caplog.records
    )
    names = dict(Visitor.objects.values_list("pk", "name"))
    assert names == {siti.pk: "", budi.pk: "Budi Santoso", rina.pk: ""}
    # Budi's rating comment was erased on its own rule (ratings are their own records).
    assert not Rating.objects.exclude(comment="").exists()
    # The next run, with the fault gone, finishes the job.
    call_command("pst_purge_personal_data", stdout=StringIO())
    assert Visitor.objects.get(pk=budi.pk).name == ""


def test_purge_skips_a_rating_comment_the_database_refuses(branch_ops, caplog):
    _siti, budi, _rina = old_visitors(branch_ops)
    Visitor.objects.update(created=NOW)  # the visitors are recent; only the comments are due
    from pst_helpdesk_ext.models import PSTTicket

    PSTTicket.objects.update(created=NOW)
    refused = Rating.objects.get(ticket__pst__visitor=budi)
    from pst_helpdesk_ext.services.personal_data_purge import purge_personal_data

    with (
        database_refuses(Rating._meta.db_table, refused.pk),
        caplog.at_level(logging.ERROR, logger="pst.purge"),
    ):
        result = purge_personal_data(NOW - datetime.timedelta(days=730))
    assert (result.rating_comments, result.failed) == (2, 1)
    assert list(Rating.objects.exclude(comment="").values_list("pk", flat=True)) == [refused.pk]
    assert any(f"rating {refused.pk} skipped" in r.getMessage() for r in caplog.records)


def test_feed_prune_skips_a_row_the_database_refuses_and_deletes_the_others(caplog):
    from pst_helpdesk_ext.models import FeedHead, FeedItem
    from pst_helpdesk_ext.services import feed

    feed.ensure_started()
    ids = feed.publish([feed.Entry(None, "category.upsert", str(n), {"v": n}) for n in range(4)])
    FeedItem.objects.update(created=NOW - datetime.timedelta(days=91))
    kept = feed.publish([feed.Entry(None, "category.upsert", "9", {"v": 9})])[0]
    bad = ids[1]
    with (
        database_refuses(FeedItem._meta.db_table, bad, action="DELETE"),
        caplog.at_level(logging.ERROR, logger="pst.feed"),
    ):
        deleted = feed.prune()
    assert deleted == 4  # feed.start and three of the four old rows
    assert sorted(FeedItem.objects.values_list("id", flat=True)) == [bad, kept]
    assert FeedHead.objects.get().pruned_through == ids[-1]
    assert any(f"row {bad} skipped" in r.getMessage() for r in caplog.records)
    assert feed.prune() == 1  # the fault gone, the next prune takes it


# --- WhatsApp sends: the real Cloud API sender against a local server that breaks one answer ------


class _BreakingGraph(http.server.BaseHTTPRequestHandler):
    """Answers like the Graph API, but cuts off its answer to the message that says so."""

    bodies: list[str] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["text"]["body"]
        type(self).bodies.append(text)
        data = json.dumps({"messages": [{"id": f"wamid.{len(type(self).bodies)}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if "PUTUS" in text:  # the connection drops in the middle of the answer
            self.send_header("Content-Length", str(len(data) + 100))
            self.end_headers()
            self.wfile.write(data[:5])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_one_whatsapp_part_that_breaks_does_not_stop_the_others(settings, client, caplog):
    from helpdesk.models import Ticket

    from pst_helpdesk_ext.models import WhatsAppMessage
    from pst_helpdesk_ext.services import whatsapp
    from tests.central import test_whatsapp as wa

    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_APP_SECRET": wa.SECRET,
        "WHATSAPP_VERIFY_TOKEN": wa.VERIFY,
        "WHATSAPP_SENDER": wa.LOGGING,
        "WHATSAPP_MAX_MESSAGE_CHARS": 40,
    }
    wa.post(client, wa.envelope([wa.text_message("Halo, mau tanya KBLI", wamid="wamid.B1")]))
    pst = Ticket.objects.get().pst
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BreakingGraph)
    _BreakingGraph.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.CloudApiSender",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{server.server_port}/v21.0",
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_ACCESS_TOKEN": "t",
    }
    text = "Bagian satu jawaban kami.\nBagian dua PUTUS di sini.\nBagian tiga jawaban kami."
    try:
        with caplog.at_level(logging.ERROR, logger="pst.whatsapp"):
            assert whatsapp.send_to_visitor(pst, text) is False
    finally:
        server.shutdown()
        server.server_close()
    rows = list(
        WhatsAppMessage.objects.filter(direction="out").order_by("pk").values_list("status", "text")
    )
    assert [status for status, _text in rows] == ["sent", "failed", "sent"]
    assert len(_BreakingGraph.bodies) == 3
    failed = WhatsAppMessage.objects.get(direction="out", status="failed")
    assert "broken off" in failed.error
    assert any(f"ticket {pst.ticket_id}, part 2 of 3" in r.getMessage() for r in caplog.records)

"""A hostile (stolen, misconfigured or wrong-clocked) branch against the real sync server.

Real CURVE ZeroMQ on loopback, the real ``SyncServer`` and store, the real database (issue 14,
items 1-4; SECURITY.md, "Branch trust boundary"). Each test plays what an enrolled branch key can
send and checks that central answers with a code, applies nothing it should not, keeps serving
the branch's later ops and keeps every staff page working.
"""

from __future__ import annotations

import datetime as dt
import time

import msgspec
import pytest
from django.core.management import call_command
from django.urls import reverse
from helpdesk.models import Ticket

from pst_helpdesk_ext.models import AppliedOp, Branch, BranchSyncState, PSTTicket, Visit
from sync.codec import Ack, Error, Ping, Pong
from sync.transport import LinkState
from tests.central import test_sync_server as real
from tests.central.test_intake import WalkinOps

central = real.central  # the running SyncServer fixture (pytest finds fixtures among globals)
connect, enrolled = real.connect, real.enrolled
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NIK = "1222011708900001"


def start() -> dt.datetime:
    """A branch clock that is right: two hours before now."""
    return dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))) - dt.timedelta(
        hours=2
    )


def replaced(op, **payload):
    return msgspec.structs.replace(op, payload={**op.payload, **payload})


def codes(ack) -> dict[str, str]:
    return {r.op_id: r.code for r in ack.rejected}


@pytest.fixture
def staff(transactional_db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")


def test_absurd_times_are_rejected_and_every_staff_page_keeps_working(central, client, staff):
    server, clients = central
    branch = connect(server, clients, enrolled("1222"))
    assert branch.link() is LinkState.UP
    branch.hello()
    ops = WalkinOps(start=start())
    good = ops.complete_visit(number=1)
    far_future = ops.new_visit_id()
    created_9999 = replaced(
        ops.created(far_future, 2), issued_at="9999-12-31T23:59:59+07:00", service_day="9999-12-31"
    )
    year_one = ops.new_visit_id()
    created_1 = replaced(
        ops.created(year_one, 3), issued_at="0001-01-01T00:00:00+07:00", service_day="0001-01-01"
    )
    # A real visit whose later step the branch dates in year 9999.
    later = ops.new_visit_id()
    created_ok = ops.created(later, 4)
    finished_9999 = replaced(ops.resolved(later), finished_at="9999-12-31T23:59:59+07:00")
    batch = [*good, created_9999, created_1, created_ok, finished_9999]
    ack = branch.push(1, batch)
    assert isinstance(ack, Ack), ack
    assert codes(ack) == {
        created_9999.op_id: "implausible_time",
        created_1.op_id: "implausible_time",
        finished_9999.op_id: "implausible_time",
    }
    assert len(ack.accepted) == len(good) + 1
    assert ack.hwm_seq == batch[-1].seq
    assert not Visit.objects.filter(origin_id__in=[far_future, year_one]).exists()
    assert Visit.objects.get(origin_id=later).finished_at is None
    # Recorded at central, for staff: the applied-ops ledger (admin) and the branch's counts.
    recorded = AppliedOp.objects.filter(result="rejected").values_list("op_id", "code")
    assert {(str(op_id), code) for op_id, code in recorded} == {
        (op_id, "implausible_time") for op_id in codes(ack)
    }
    assert BranchSyncState.objects.get(branch__code="1222").rejected_count == 3

    # Staff pages and the SLA job keep working.
    call_command("pst_sla_tick")
    client.force_login(staff)
    for path in ("/api/pst/tickets/", "/api/pst/visits/"):
        assert client.get(path).status_code == 200, path
    for ticket in Ticket.objects.all():
        page = client.get(reverse("helpdesk:view", args=[ticket.pk]))
        assert page.status_code == 200, ticket.pk
    assert client.get("/admin/pst_helpdesk_ext/appliedop/").status_code == 200


def test_a_poison_op_is_rejected_and_never_jams_its_branch(central):
    server, clients = central
    branch = connect(server, clients, enrolled("1222"))
    assert branch.link() is LinkState.UP
    branch.hello()
    ops = WalkinOps(start=start())
    before = ops.complete_visit(number=1)
    poison_visit = ops.new_visit_id()
    # UTC cannot hold this time: it used to fail at the database and answer "unavailable"
    # to every resend, freezing the high-water mark.
    poison = replaced(
        ops.created(poison_visit, 2),
        issued_at="0001-01-01T00:00:00+14:00",
        service_day="0001-01-01",
    )
    after = ops.complete_visit(number=3)
    batch = [*before, poison, *after]
    ack = branch.push(1, batch)
    assert isinstance(ack, Ack), ack
    assert list(codes(ack).items()) == [(poison.op_id, "implausible_time")]
    assert len(ack.accepted) == len(batch) - 1 and ack.hwm_seq == batch[-1].seq
    assert Visit.objects.filter(branch__code="1222").count() == 2

    # A replay of the same batch (an old batch, or an ACK lost) gets the same answer and applies
    # nothing again, the poison op included.
    counts = (Visit.objects.count(), Ticket.objects.count())
    replay = branch.push(2, batch)
    assert isinstance(replay, Ack)
    assert codes(replay) == codes(ack) and sorted(replay.accepted) == sorted(ack.accepted)
    assert (Visit.objects.count(), Ticket.objects.count()) == counts
    # The branch's next ops go on.
    more = ops.complete_visit(number=4)
    assert len(branch.push(3, more).accepted) == len(more)


def test_another_branchs_visitor_hash_never_changes_that_visitor(central):
    server, clients = central
    home = connect(server, clients, enrolled("1222"))
    thief = connect(server, clients, enrolled("1201", "Nias"))
    assert home.link() is LinkState.UP and thief.link() is LinkState.UP
    home.hello()
    thief.hello()
    own = WalkinOps(seed=1, start=start())
    visit = own.new_visit_id()
    assert len(home.push(1, [own.created(visit), own.guestbook(visit, id_number=NIK)]).accepted)
    ticket = PSTTicket.objects.select_related("visitor", "ticket").get(origin_id=visit)
    shown = (ticket.visitor.name, ticket.visitor.email, ticket.visitor.phone)

    forger = WalkinOps(seed=2, start=start())
    theirs = forger.new_visit_id()
    created = forger.created(theirs)
    forged = forger.guestbook(
        theirs, id_number=NIK, name="Penipu", email="penipu@example.com", phone="0800000000"
    )
    assert isinstance(thief.push(1, [created, forged]), Ack)

    ticket = PSTTicket.objects.select_related("visitor", "ticket").get(origin_id=visit)
    assert (ticket.visitor.name, ticket.visitor.email, ticket.visitor.phone) == shown
    assert ticket.ticket.submitter_email == "siti@example.org"
    assert ticket.visitor.branch.code == "1222"
    assert PSTTicket.objects.get(origin_id=theirs).visitor.branch.code == "1201"

    # Naming the other branch's visit in any op resolves to nothing of the other branch.
    steps = [forger.called(visit), forger.resolved(visit), forger.rating(visit)]
    ack = thief.push(2, steps)
    assert isinstance(ack, Ack) and set(codes(ack).values()) == {"unknown_entity"}
    assert Visit.objects.get(origin_id=visit, branch__code="1222").called_at is None


@pytest.mark.parametrize("how", ["revoke", "deactivate"])
def test_revoking_a_key_cuts_the_open_session_at_its_next_message(central, how):
    server, clients = central
    branch = connect(server, clients, enrolled("1222"))
    assert branch.link() is LinkState.UP
    branch.hello()
    ops = WalkinOps(start=start())
    first = ops.complete_visit(number=1)
    assert len(branch.push(1, first).accepted) == len(first)
    assert isinstance(branch.ask(Ping()), Pong)

    call_command("pst_branch", how, "1222")

    # The same connection, opened before the revoke: every message is refused from now on.
    answer = branch.ask(Ping())
    assert isinstance(answer, Error) and answer.code == "refused", answer
    pending = ops.complete_visit(number=2)
    refused = branch.push(2, pending)
    assert isinstance(refused, Error) and refused.code == "refused"
    assert refused.ref == 2
    assert not Visit.objects.filter(origin_id=pending[0].entity_id).exists()
    assert AppliedOp.objects.count() == len(first)
    assert server.core.session("1222") is None  # the session was dropped, not only refused
    # A new connection with the same key is refused at the handshake, as before.
    again = connect(server, clients, branch.keypair)
    assert again.link() is LinkState.AUTH_FAILED


def test_a_revoked_key_cannot_slip_a_batch_in_between_check_and_apply(transactional_db):
    """The store checks the key in the batch's own transaction too: a revoke that commits after
    the server's per-message check still refuses the batch (no half-applied PUSH)."""
    from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
    from sync.store import BranchRefused

    enrolled("1222")
    store = DjangoCentralStore()
    now = time.time()
    welcome = store.hello(
        "1222",
        boot_id="b",
        next_seq=1,
        feed_cursor=0,
        agent_version="t",
        branch_time=now,
        now=now,
    )
    Branch.objects.filter(code="1222").update(key_revoked_at=dt.datetime.now(dt.UTC))
    ops = WalkinOps(start=start()).complete_visit()
    with pytest.raises(BranchRefused, match="revoked"):
        store.apply_batch("1222", ops, now=now, session=welcome.session)
    with pytest.raises(BranchRefused, match="revoked"):
        store.changes("1222", 0, 10)
    assert not AppliedOp.objects.exists()


def test_a_key_replaced_by_enrolment_is_cut_on_its_open_connection(central):
    """A stolen PC's key keeps no open door once staff enrol the branch's new key."""
    server, clients = central
    stolen = connect(server, clients, enrolled("1222"))
    assert stolen.link() is LinkState.UP
    stolen.hello()
    assert isinstance(stolen.ask(Ping()), Pong)

    new_keys = real.generate_keypair()
    call_command("pst_branch", "enrol", "1222", "--public-key", new_keys.public_key)

    answer = stolen.ask(Ping())
    assert isinstance(answer, Error) and answer.code == "refused", answer
    ops = WalkinOps(start=start()).complete_visit()
    refused = stolen.push(1, ops)
    assert isinstance(refused, Error) and refused.code == "refused"
    assert not AppliedOp.objects.exists()
    # The branch's new key works, on a new connection, and the old key's messages cannot
    # disturb its session.
    fresh = connect(server, clients, new_keys)
    assert fresh.link() is LinkState.UP
    fresh.hello()
    assert isinstance(stolen.ask(Ping()), Error)
    assert len(fresh.push(1, ops).accepted) == len(ops)

"""The central sync server over real ZeroMQ with CURVE on loopback, on the real central database.

In-process tests run ``SyncServer`` (what ``pst_sync_server`` runs) in a thread with the real
``DjangoCentralStore``; a branch client speaks raw codec frames over ``BranchTransport``. The
subprocess tests run the real management commands against a migrated SQLite file.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import pytest
from django.db import DatabaseError
from django.utils import timezone
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import Branch, Visit
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.sync_server import SyncServer
from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
from sync import PROTOCOL_VERSION
from sync.codec import Ack, Changes, Error, Hello, Message, Pull, Push, Welcome, decode, encode
from sync.memory import MemoryCentralStore
from sync.transport import (
    BranchTransport,
    CurveKeyPair,
    LinkState,
    TransportOptions,
    generate_keypair,
)
from tests.central.test_intake import WalkinOps

ROOT = Path(__file__).resolve().parent.parent.parent
MANAGE = ROOT / "example_project" / "manage.py"

LINK = TransportOptions(
    reconnect_ivl_ms=100,
    reconnect_ivl_max_ms=300,
    heartbeat_ivl_ms=500,
    heartbeat_timeout_ms=2000,
    heartbeat_ttl_ms=3000,
)
WAIT_MS = 10_000


class Client:
    """A branch speaking raw protocol frames: HELLO, PUSH, PULL, or anything at all."""

    def __init__(self, endpoint: str, server_key: str, keypair: CurveKeyPair | None = None):
        self.keypair = keypair or generate_keypair()
        self.transport = BranchTransport(endpoint, self.keypair, server_key, options=LINK)
        self.session = 0

    def link(self) -> LinkState:
        final = (LinkState.UP, LinkState.AUTH_FAILED, LinkState.HANDSHAKE_FAILED)
        return self.transport.wait_for(final, WAIT_MS).state

    def ask(self, message: Message | list[bytes]) -> Message:
        frames = list(encode(message)) if isinstance(message, Message) else message
        assert self.transport.send(frames), "the link is down"
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            got = self.transport.recv(200)
            if got is not None:
                return decode(got)
        raise AssertionError("no answer from the sync server")

    def hello(self, next_seq: int = 1) -> Welcome:
        welcome = self.ask(
            Hello(
                protocol=PROTOCOL_VERSION,
                agent_version="test",
                boot_id="boot-1",
                next_seq=next_seq,
                feed_cursor=0,
                branch_time=time.time(),
            )
        )
        assert isinstance(welcome, Welcome), welcome
        self.session = welcome.session
        return welcome

    def push(self, batch_id: int, ops) -> Message:
        return self.ask(Push(batch_id=batch_id, session=self.session, ops=list(ops)))

    def close(self) -> None:
        self.transport.close()


class FlakyStore(DjangoCentralStore):
    """The real store, whose next ``apply_batch`` fails with a database error the store itself
    does not translate (as an integrity or programming error would)."""

    fail_next = False

    def apply_batch(self, *args, **kwargs):
        if self.fail_next:
            self.fail_next = False
            raise DatabaseError("boom: row values could be quoted here 1222014508900001")
        return super().apply_batch(*args, **kwargs)


@pytest.fixture
def central(transactional_db):
    """A running sync server thread; yields (server, its public key, [clients to close])."""
    keypair = generate_keypair()
    server = SyncServer("tcp://127.0.0.1:*", keypair, store=FlakyStore(), options=LINK)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    clients: list[Client] = []
    yield server, clients
    for client in clients:
        client.close()
    server.stop()
    thread.join(10)
    assert not thread.is_alive()


def connect(server: SyncServer, clients: list[Client], keypair=None) -> Client:
    client = Client(server.endpoint, server.keypair.public_key, keypair)
    clients.append(client)
    return client


def enrolled(code: str, name: str = "Labuhanbatu Selatan") -> CurveKeyPair:
    keypair = generate_keypair()
    branch = create_branch(code, name, "Asia/Jakarta")
    branch.curve_public_key = keypair.public_key
    branch.key_enrolled_at = timezone.now()
    branch.save()
    return keypair


pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_whole_visit_is_pushed_acknowledged_applied_once_and_pulled_back(central, caplog):
    server, clients = central
    caplog.set_level(logging.INFO, logger="pst.sync")
    keypair = enrolled("1222")
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    welcome = client.hello()
    assert welcome.hwm_seq == 0

    ops = WalkinOps(seed=7).complete_visit()
    visit_id = ops[0].entity_id
    ack = client.push(1, ops)
    assert isinstance(ack, Ack), ack
    assert sorted(ack.accepted) == sorted(op.op_id for op in ops)
    assert ack.rejected == [] and ack.hwm_seq == len(ops)

    visit = Visit.objects.select_related("pst_ticket__ticket__queue").get(origin_id=visit_id)
    ticket = visit.pst_ticket.ticket
    assert ticket.queue.slug == "pst-1222"
    followups = FollowUp.objects.filter(ticket=ticket).count()
    assert followups >= 3  # guest book, call, service, note, outcome leave a timeline

    # The same batch again (an ACK lost on the way): the same answer, nothing new.
    again = client.push(2, ops)
    assert isinstance(again, Ack)
    assert sorted(again.accepted) == sorted(ack.accepted) and again.hwm_seq == ack.hwm_seq
    assert Visit.objects.filter(origin_id=visit_id).count() == 1
    assert Ticket.objects.filter(queue__slug="pst-1222").count() == 1
    assert FollowUp.objects.filter(ticket=ticket).count() == followups

    changes = client.ask(Pull(cursor=0, max=100))
    assert isinstance(changes, Changes), changes
    assert any(item.entity_id == visit_id for item in changes.items)
    assert changes.to >= 1

    # Log lines carry counts and codes, never the visitor's name, contact or ID number.
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pst.sync")]
    assert any("event=push branch=1222" in line and "accepted=7" in line for line in lines)
    text = "\n".join(lines)
    for personal in ("Siti", "siti@example.org", "081234567890", "45089", "kemiskinan"):
        assert personal not in text


def test_an_unknown_key_is_refused_and_the_server_keeps_serving_others(central):
    server, clients = central
    keypair = enrolled("1222")
    stranger = connect(server, clients)  # a key nobody enrolled
    assert stranger.link() is LinkState.AUTH_FAILED
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    assert isinstance(client.hello(), Welcome)


def test_a_revoked_key_is_refused_at_its_next_connection(central):
    server, clients = central
    keypair = enrolled("1222")
    first = connect(server, clients, keypair)
    assert first.link() is LinkState.UP
    first.hello()
    Branch.objects.filter(code="1222").update(key_revoked_at=timezone.now())
    second = connect(server, clients, keypair)  # the agent reconnects: the key is looked up again
    assert second.link() is LinkState.AUTH_FAILED
    Branch.objects.filter(code="1222").update(key_revoked_at=None, active=False)
    third = connect(server, clients, keypair)  # a deactivated branch is refused the same way
    assert third.link() is LinkState.AUTH_FAILED


def test_the_authenticated_key_decides_the_branch_never_the_body(central):
    server, clients = central
    enrolled("1222")
    nias = enrolled("1201", "Nias")
    client = connect(server, clients, nias)
    assert client.link() is LinkState.UP
    client.hello()
    ops = WalkinOps(seed=9).complete_visit()

    # A PUSH whose body claims to come from branch 1222 is malformed, and changes nothing.
    body = {"batch_id": 1, "session": client.session, "ops": [], "branch": "1222"}
    claimed = client.ask([b"PUSH", msgspec.msgpack.encode(body)])
    assert isinstance(claimed, Error) and claimed.code == "bad_body"

    ack = client.push(2, ops)
    assert isinstance(ack, Ack) and len(ack.accepted) == len(ops)
    visit = Visit.objects.select_related("branch", "pst_ticket__ticket__queue").get(
        origin_id=ops[0].entity_id
    )
    assert visit.branch.code == "1201"
    assert visit.pst_ticket.ticket.queue.slug == "pst-1201"
    assert not Ticket.objects.filter(queue__slug="pst-1222").exists()


def test_garbage_frames_get_an_error_and_the_server_keeps_serving(central):
    server, clients = central
    keypair = enrolled("1222")
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    answers = [
        client.ask([b"PUSH", b"\xff\xfe not msgpack"]),
        client.ask([b"NOPE", b"\x80"]),
        client.ask([b"HELLO", b"\x80", b"extra"]),
        client.ask([b"\x00\x01\x02", b""]),
        client.ask(Pull(cursor=0, max=10)),  # before HELLO
    ]
    codes = [a.code if isinstance(a, Error) else type(a).__name__ for a in answers]
    assert codes == ["bad_body", "unknown_type", "bad_frames", "unknown_type", "hello_required"]
    assert isinstance(client.hello(), Welcome)
    ops = WalkinOps(seed=3).complete_visit()
    assert isinstance(client.push(1, ops), Ack)
    assert server.stats.errors_answered == 5


def test_a_database_error_is_answered_unavailable_and_the_branch_retries(central, caplog):
    server, clients = central
    caplog.set_level(logging.INFO, logger="pst.sync")
    keypair = enrolled("1222")
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    client.hello()
    ops = WalkinOps(seed=5).complete_visit()
    server.core.store.fail_next = True
    failed = client.push(4, ops)
    assert isinstance(failed, Error) and failed.code == "unavailable" and failed.ref == 4
    assert not Visit.objects.exists()
    retried = client.push(5, ops)
    assert isinstance(retried, Ack) and len(retried.accepted) == len(ops)
    assert Visit.objects.count() == 1
    assert server.stats.internal_errors == 1
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pst.sync"))
    assert "error=DatabaseError" in text and "1222014508900001" not in text
    # The message and the traceback are logged (the NIK-shaped number masked) and kept for the
    # admin's branch page.
    assert "message=DatabaseError: boom: row values could be quoted here ************0001" in text
    assert "Traceback (most recent call last)" in text and "in apply_batch" in text
    state = Branch.objects.get(code="1222").sync_state
    assert state.internal_errors == 1 and state.last_internal_error_at is not None
    assert state.last_internal_error == (
        "DatabaseError: boom: row values could be quoted here ************0001"
    )


def test_missing_seeded_rows_are_named_in_the_log_and_on_the_branch_until_restored(central, caplog):
    """The bench bug of issue 20: a flushed database has no walk-in channel, every batch fails
    with ImproperlyConfigured. The log says why (message and traceback), the branch's state
    shows it, and after pst_restore_reference_data the same batch is applied."""
    from django.core.management import call_command

    from pst_helpdesk_ext.models import Channel

    server, clients = central
    caplog.set_level(logging.INFO, logger="pst.sync")
    keypair = enrolled("1222")
    Channel.objects.filter(code="walk_in").delete()
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    client.hello()
    ops = WalkinOps(seed=6).complete_visit()
    failed = client.push(1, ops)
    assert isinstance(failed, Error) and failed.code == "unavailable"
    assert not Visit.objects.exists()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pst.sync"))
    assert "error=ImproperlyConfigured" in text and "walk_in" in text
    assert "Traceback (most recent call last)" in text
    state = Branch.objects.get(code="1222").sync_state
    assert state.last_internal_error.startswith("ImproperlyConfigured: ")
    assert "walk_in" in state.last_internal_error

    call_command("pst_restore_reference_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    retried = client.push(2, ops)
    assert isinstance(retried, Ack) and len(retried.accepted) == len(ops)
    assert Visit.objects.count() == 1


# --------------------------------------------------------------------------- the real commands


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, str]:
    """A migrated central site in a temp dir (SQLite file), as the example project runs it."""
    data = tmp_path_factory.mktemp("central")
    env = dict(os.environ)
    env.update(
        PST_DATA_DIR=str(data),
        DJANGO_DEBUG="0",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
    )
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v0"], env=env, check=True)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=60
    )


class OrderedStore(DjangoCentralStore):
    """The real store, recording the order batches come to it in; the first one waits for
    ``gate`` (the server is busy with it while the test queues up the rest)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.applied: list[tuple[str, int]] = []

    def apply_batch(self, branch, ops, *, now, session):
        self.applied.append((branch, len(ops)))
        if len(self.applied) == 1:
            assert self.gate.wait(WAIT_MS / 1000)
        return super().apply_batch(branch, ops, now=now, session=session)


def test_a_small_push_goes_before_other_branches_large_batches(transactional_db):
    """docs/chaos.md, national reconnect: while the server works through large batches, an
    office pushing one visit is answered next, not after a batch of every other office; each
    branch's own batches keep their order and every one is applied. A branch's batches queued
    together are applied in one transaction (group commit), each still answered by its own ACK."""
    store = OrderedStore()
    keypair = generate_keypair()
    server = SyncServer("tcp://127.0.0.1:*", keypair, store=store, options=LINK)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    clients: list[Client] = []
    try:
        codes = ("1222", "1201", "1271", "1371")  # the last one is the small office
        # Enrol all first: the server thread reads the branch table at each handshake.
        keys = {code: enrolled(code, f"Kantor {code}") for code in codes}
        branch = {code: connect(server, clients, keys[code]) for code in codes}
        for client in branch.values():
            assert client.link() is LinkState.UP
            client.hello()
        walkins = {code: WalkinOps(seed=index) for index, code in enumerate(codes)}

        def send(code: str, batch_id: int, visits: int) -> int:
            ops = [op for _ in range(visits) for op in walkins[code].complete_visit()]
            push = Push(batch_id=batch_id, session=branch[code].session, ops=ops)
            frames = list(encode(push))
            assert len(frames[1]) > 16 * 1024 if visits > 1 else len(frames[1]) < 16 * 1024
            assert branch[code].transport.send(frames)
            return len(ops)

        sizes = {("1222", 1): send("1222", 1, 10)}
        deadline = time.monotonic() + WAIT_MS / 1000
        while not store.applied and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.applied == [("1222", sizes["1222", 1])]  # the server is busy with it
        for batch_id in (1, 2):
            for code in codes[:3]:
                if (code, batch_id) not in sizes:
                    sizes[code, batch_id] = send(code, batch_id, 10)
        sizes["1371", 1] = send("1371", 1, 1)
        time.sleep(1.0)  # all of it delivered to the server's socket (loopback)
        store.gate.set()

        acks: dict[str, list[Ack]] = {code: [] for code in codes}
        expected = {code: sum(1 for c, _b in sizes if c == code) for code in codes}
        deadline = time.monotonic() + 60
        while any(len(acks[c]) < expected[c] for c in codes) and time.monotonic() < deadline:
            for code in codes:
                frames = branch[code].transport.recv(10)
                if frames is not None:
                    answer = decode(frames)
                    assert isinstance(answer, Ack), answer
                    acks[code].append(answer)
        assert store.applied[1] == ("1371", sizes["1371", 1])  # the small push went next
        # Then every large batch, none twice: 1222's second batch alone (its first was being
        # applied when it came), the two queued batches of 1201 and of 1271 together.
        assert sorted(store.applied[2:]) == sorted(
            [("1222", sizes["1222", 2])]
            + [(code, sizes[code, 1] + sizes[code, 2]) for code in ("1201", "1271")]
        )
        for code in codes:
            got = acks[code]
            assert len(got) == expected[code], code
            assert [a.batch_id for a in got] == sorted(a.batch_id for a in got)  # in order
            total = sum(n for (c, _b), n in sizes.items() if c == code)
            assert got[-1].hwm_seq == total and not any(a.rejected for a in got)
    finally:
        for client in clients:
            client.close()
        server.stop()
        thread.join(10)


@pytest.mark.django_db(transaction=False)
def test_keys_command_creates_once_shows_and_explains_what_is_missing(site):
    shown = manage(site, "pst_sync_keys", "--show")
    assert shown.returncode == 1 and "pst_sync_keys --create" in shown.stderr
    created = manage(site, "pst_sync_keys", "--create")
    assert created.returncode == 0, created.stderr
    key = manage(site, "pst_sync_keys", "--show").stdout.strip()
    assert len(key) == 40 and key in created.stdout
    secret = Path(site["PST_DATA_DIR"]) / "keys" / "server.key_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    again = manage(site, "pst_sync_keys", "--create")
    assert again.returncode == 1 and "--force" in again.stderr
    assert manage(site, "pst_sync_keys", "--show").stdout.strip() == key


@pytest.mark.django_db(transaction=False)
def test_branch_command_enrols_refuses_a_shared_key_and_revokes(site):
    key = generate_keypair().public_key
    assert manage(site, "pst_branch", "add", "1299", "Uji").returncode == 0
    assert manage(site, "pst_branch", "add", "1298", "Uji Dua").returncode == 0
    bad = manage(site, "pst_branch", "enrol", "1299", "--public-key=not-a-key")
    assert bad.returncode == 1 and "--public-key" in bad.stderr and "not-a-key" in bad.stderr
    assert manage(site, "pst_branch", "enrol", "1299", f"--public-key={key}").returncode == 0
    shared = manage(site, "pst_branch", "enrol", "1298", f"--public-key={key}")
    assert shared.returncode == 1 and "already enrolled for branch 1299" in shared.stderr
    assert '"can_sync": true' in manage(site, "pst_branch", "show", "1299", "--json").stdout
    assert manage(site, "pst_branch", "revoke", "1299").returncode == 0
    assert '"can_sync": false' in manage(site, "pst_branch", "show", "1299", "--json").stdout
    assert manage(site, "pst_branch", "enrol", "1299", f"--public-key={key}").returncode == 0
    assert '"can_sync": true' in manage(site, "pst_branch", "show", "1299", "--json").stdout


def test_branch_command_takes_a_key_beginning_with_a_dash_in_both_spellings(site):
    """About one Z85 key in 85 begins with "-"; argparse would take it for an option."""
    key = next(k for k in (generate_keypair().public_key for _ in range(5000)) if k[0] == "-")
    assert manage(site, "pst_branch", "add", "1297", "Uji Tiga").returncode == 0
    spaced = manage(site, "pst_branch", "enrol", "1297", "--public-key", key)
    assert spaced.returncode == 0, spaced.stderr
    assert '"can_sync": true' in manage(site, "pst_branch", "show", "1297", "--json").stdout


@pytest.mark.django_db(transaction=False)
def test_server_command_says_ready_refuses_strangers_and_stops_cleanly_on_sigterm(site):
    if manage(site, "pst_sync_keys", "--show").returncode != 0:
        assert manage(site, "pst_sync_keys", "--create").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, str(MANAGE), "pst_sync_server", "--bind", "tcp://127.0.0.1:*"],
        env=site,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, proc.kill)  # every wait below is bounded
    watchdog.start()
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("pst_sync_server listening on tcp://127.0.0.1:"), ready
        endpoint = ready.split()[3]
        # The key runs to the one closing ")" (a Z85 key may itself end in ")").
        server_key = ready.rsplit("public key ", 1)[1].strip()[:-1]
        stranger = Client(endpoint, server_key)
        try:
            assert stranger.link() is LinkState.AUTH_FAILED  # looked up in the real database
        finally:
            stranger.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "sync server stopped" in err
        # The server's own process: its long-lived objects out of the collector's walks.
        frozen = re.search(r"sync server memory: (\d+) long-lived objects", err)
        assert frozen and int(frozen.group(1)) > 10_000, err
        assert "thresholds 20000,20,20" in err
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--group-pushes", "0"], "--group-pushes must be 1 or more"),
        (["--group-pushes", "many"], "invalid int value: 'many'"),
        (["--prune-every", "0"], "--prune-every must be positive"),
    ],
)
def test_server_options_are_checked_before_anything_starts(site, args, says):
    done = manage(site, "pst_sync_server", "--bind", "tcp://127.0.0.1:1", *args)
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert "listening" not in done.stdout


def test_group_pushes_is_checked():
    with pytest.raises(ValueError, match="group_pushes"):
        SyncServer("tcp://127.0.0.1:*", generate_keypair(), group_pushes=0)


class FailsOnCall(MemoryCentralStore):
    """The reference store, failing with a bug (not a StoreError) at its Nth batch."""

    def __init__(self, failing_call: int) -> None:
        super().__init__()
        self.failing_call = failing_call
        self.calls = 0

    def apply_batch(self, branch, ops, *, now, session):
        self.calls += 1
        if self.calls == self.failing_call:
            raise RuntimeError("a bug in the store")
        return super().apply_batch(branch, ops, now=now, session=session)


@pytest.mark.django_db
def test_a_failure_after_a_committed_run_answers_only_what_it_left(caplog):
    """Messages read together can take several store calls (here a re-sent batch cannot join
    the run before it). A later call's failure must not take back the answers of a run that
    committed: those go out as they commit, and only the rest is answered ``unavailable``."""
    from tests.sync.test_central_core import hello, push

    store = FailsOnCall(failing_call=2)
    store.enrol("1222")
    server = SyncServer(
        "tcp://127.0.0.1:*", generate_keypair(), store=store, still_allowed=lambda c, k: True
    )
    sent: list[Message] = []
    server.transport.send = lambda identity, frames: sent.append(decode(frames)) or True
    try:
        server.core.receive("1222", hello(), time.time())
        messages = [push(1, 1, batch_id=1), push(1, 2, batch_id=2), push(1, 1, batch_id=1)]
        with caplog.at_level(logging.INFO, logger="pst.sync.server"):
            server._handle("1222", b"peer", [list(m) for m in messages])
    finally:
        server.transport.close()
    assert [type(m).__name__ for m in sent] == ["Ack", "Ack", "Error"]
    assert [m.batch_id for m in sent[:2]] == [1, 2] and sent[2].ref == 1
    assert sent[2].code == "unavailable"
    assert store.branches["1222"].hwm_seq == 2
    pushes = [r.getMessage() for r in caplog.records if "event=push" in r.getMessage()]
    assert len(pushes) == 2 and all(" group=2 " in line for line in pushes)

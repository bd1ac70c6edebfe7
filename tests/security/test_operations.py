"""Operations, as a helpdesk admin runs them (docs/operations.md), on real processes on loopback.

Central is the example site in a temp dir (SQLite file) with ``pst_sync_server``; the branch is a
real ``pst-branch-agent run`` driven over HTTP by the kiosk, front office and desk (the e2e
harness in tests/e2e/test_branch_to_central.py). Each test queues walk-ins at the branch while it
cannot reach central, then does the operation, then checks that every queued record reached
central exactly once:

- upgrading the agent with records queued (``init`` again refused, the store's migrations
  re-run and a table rebuilt, as a new release would);
- rotating the branch's key (``pst-branch-agent rotate-key`` + ``pst_branch enrol``; the old key
  is refused afterwards);
- rotating central's key (``pst_sync_keys --create --force`` + ``pst-branch-agent
  set-server-key``);
- backing up central's SQLite database while it runs, and restoring it; restoring it from a
  backup older than records central had acknowledged (the branch sends them again);
- and, along the way, no full ID number in the agent's logs or store, nor in central's database,
  and no agent page that takes a POST without a CSRF token.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.transport import BranchTransport, LinkState, load_keypair
from tests.e2e.test_branch_to_central import (
    HASH_KEY,
    NIK,
    PASSWORD,
    ROOT,
    Browser,
    World,
    assert_exactly_once,
    wait_until,
    walk_in,
)

# Real processes on their own SQLite site: nothing here depends on the suite's database, so the
# PostgreSQL pass of CI (PST_TEST_DATABASE_URL) does not run them a second time.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres"),
        reason="runs its own SQLite site; covered by the SQLite pass",
    ),
]

DRAIN_S = 60


class OpsWorld(World):
    """The e2e world, with the agent's output kept in a log file and the agent restartable."""

    agent_proc: subprocess.Popen[str] | None = None

    @property
    def agent_log(self) -> Path:
        return self.tmp / "agent.log"

    def start_agent(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env["PYTHONPATH"] = str(ROOT)
        command = [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(self.agent_home)]
        command += ["run", "--host", "127.0.0.1", "--port", str(self.web_port)]
        log = open(self.agent_log, "a")  # noqa: SIM115 - the child writes to it
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, text=True)
        log.close()
        self.processes.append(proc)
        self.agent_proc = proc
        base = f"http://127.0.0.1:{self.web_port}"

        def up() -> bool:
            assert proc.poll() is None, f"the agent exited: {self.agent_log.read_text()[-2000:]}"
            try:
                return Browser(base).request("/kiosk/")[0] == 200
            except OSError:
                return False

        wait_until(up, 30, "the agent's web UI")

    def stop_agent(self) -> None:
        assert self.agent_proc is not None
        self.agent_proc.send_signal(signal.SIGTERM)
        assert self.agent_proc.wait(20) == 0

    def start_server(self) -> None:
        """Start ``pst_sync_server`` unless it is running already."""
        if self.server is None or self.server.poll() is not None:
            super().start_server()

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            assert self.server.wait(15) == 0

    def server_key(self) -> str:
        return self.manage("pst_sync_keys", "--show").strip()

    def agent_fails(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env["PYTHONPATH"] = str(ROOT)
        return subprocess.run(
            [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(self.agent_home), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def queue_offline(self, visits: int) -> list[str]:
        """Walk-ins while central is unreachable: they wait in the branch's outbox."""
        self.stop_server()
        made = walk_in(self, visits)
        assert self.status()["pending_ops"] >= visits * 5
        return made

    def drained(self) -> None:
        wait_until(lambda: self.status()["pending_ops"] == 0, DRAIN_S, "the outbox to drain")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[OpsWorld]:
    world = OpsWorld(tmp_path_factory.mktemp("ops"))
    try:
        world.manage("migrate", "-v0")
        world.manage("pst_demo_data", "--quiet-logins")
        world.manage("pst_sync_keys", "--create")
        out = world.agent(
            "init",
            "--branch",
            "1222",
            "--central",
            f"tcp://127.0.0.1:{world.sync_port}",
            f"--server-key={world.server_key()}",
            "--id-hash-key",
            HASH_KEY,
            "--password",
            PASSWORD,
        )
        branch_key = re.search(r"Branch public key: (\S{40})", out).group(1)
        # Retry every 2 s at most (default 30): the tests wait for reconnects, not for backoff.
        config = world.agent_home / "agent.toml"
        config.write_text(
            config.read_text().replace("retry_max_seconds = 30", "retry_max_seconds = 2")
        )
        world.manage("pst_branch", "enrol", "1222", f"--public-key={branch_key}")
        world.agent("createuser", "fo", "--role", "front_office", "--password", PASSWORD)
        world.agent("createuser", "meja", "--role", "desk_officer", "--password", PASSWORD)
        world.start_agent()
        yield world
    finally:
        world.stop()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


UPGRADE = """
import os, sys
os.environ["PST_AGENT_HOME"] = sys.argv[1]
os.environ["DJANGO_SETTINGS_MODULE"] = "branch_agent.settings"
import django
django.setup()
from django.core.management import call_command
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

# The release before: its last migration not applied yet (the new release applies it at `run`).
call_command("migrate", "branch_agent", "0001", verbosity=0)
# And a schema change that makes SQLite rebuild the outbox table (copy, drop, rename), the most
# dangerous thing an upgrade can do to queued records, plus a new column the old code never saw.
state = MigrationLoader(connection).project_state()
release = migrations.Migration("0099_next_release", "branch_agent")
release.operations = [
    migrations.AlterField("outboxop", "kind", models.CharField(max_length=80)),
    migrations.AddField("outboxop", "next_release", models.CharField(max_length=20, null=True)),
]
with connection.schema_editor() as editor:
    release.apply(state, editor)
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM branch_agent_outboxop WHERE state = 'pending'")
    print(cursor.fetchone()[0])
"""


def test_upgrading_the_agent_keeps_queued_records_and_delivers_them(world):
    world.start_server()
    world.drained()
    visits = world.queue_offline(2)
    pending = world.status()["pending_ops"]
    world.stop_agent()
    store = world.agent_home / "agent.sqlite3"
    before = digest(store)

    # `init` again on the same data directory: refused, nothing touched.
    again = world.agent_fails(
        "init", "--branch", "1222", "--central", "tcp://127.0.0.1:1",
        f"--server-key={world.server_key()}", "--id-hash-key", HASH_KEY, "--password", PASSWORD,
    )  # fmt: skip
    assert again.returncode == 2 and "already set up" in again.stderr
    assert digest(store) == before

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT)
    upgraded = subprocess.run(
        [sys.executable, "-c", UPGRADE, str(world.agent_home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    assert int(upgraded.stdout.strip().splitlines()[-1]) == pending  # survived the rebuild

    world.start_agent()  # the new release: `run` applies the pending migration first
    assert world.status()["pending_ops"] == pending
    world.start_server()
    world.drained()
    assert_exactly_once(world, visits)


def test_rotating_a_branch_key_loses_no_queued_record_and_retires_the_old_key(world):
    world.start_server()
    world.drained()
    visits = world.queue_offline(2)
    keys = world.agent_home / "keys"
    old = load_keypair(keys, name="branch")

    out = world.agent("rotate-key")
    new_key = re.search(r"New branch public key: (\S{40})", out).group(1)
    assert new_key != old.public_key and f"--public-key='{new_key}'" in out
    assert load_keypair(keys, name="branch").public_key == new_key
    retired = sorted((keys / "retired").glob("branch-*.key_secret"))
    assert retired, "the old key was not kept"
    assert load_keypair(keys / "retired", name=retired[-1].name.removesuffix(".key_secret")) == old

    world.manage("pst_branch", "enrol", "1222", f"--public-key={new_key}")
    world.stop_agent()
    world.start_agent()
    world.start_server()
    world.drained()
    assert_exactly_once(world, visits)

    # The old key is refused by central from now on.
    stale = BranchTransport(f"tcp://127.0.0.1:{world.sync_port}", old, world.server_key())
    try:
        final = (LinkState.UP, LinkState.AUTH_FAILED, LinkState.HANDSHAKE_FAILED)
        assert stale.wait_for(final, 10_000).state is LinkState.AUTH_FAILED
    finally:
        stale.close()


def test_rotating_centrals_key_loses_no_queued_record(world):
    world.start_server()
    world.drained()
    old_key = world.server_key()
    visits = world.queue_offline(2)
    pending = world.status()["pending_ops"]

    world.manage("pst_sync_keys", "--create", "--force")
    new_key = world.server_key()
    assert new_key != old_key
    world.start_server()
    # The agent still trusts the old key: the handshake fails, nothing is sent, nothing lost.
    wait_until(
        lambda: world.status()["last_error"] or world.status()["problem"], 20, "a sync problem"
    )
    assert world.status()["pending_ops"] == pending
    assert not {row["origin"] for row in world.central_visits()} & set(visits)

    config = world.agent_home / "agent.toml"
    lines_before = config.read_text().splitlines()
    out = world.agent("set-server-key", f"--server-key={new_key}")
    assert new_key in out
    lines_after = config.read_text().splitlines()
    changed = [(a, b) for a, b in zip(lines_before, lines_after, strict=True) if a != b]
    assert len(changed) == 1 and new_key in changed[0][1] and old_key in changed[0][0]
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    bad = world.agent_fails("set-server-key", "--server-key=not-a-key")
    assert bad.returncode == 2 and "--server-key" in bad.stderr
    assert config.read_text().splitlines() == lines_after  # a bad key changes nothing

    world.stop_agent()
    world.start_agent()
    world.drained()
    assert_exactly_once(world, visits)


def test_no_full_id_number_in_the_agents_logs_or_store_nor_in_centrals_database(world):
    world.start_server()
    walk_in(world, 1)  # the front office types the full NIK
    world.drained()
    digits = NIK[:-4].encode()
    assert world.agent_log.stat().st_size > 0
    for path in [world.agent_log, *world.agent_home.glob("agent.sqlite3*")]:
        assert digits not in path.read_bytes(), path
    central = Path(world.central_env["PST_DATA_DIR"])
    files = list(central.glob("db.sqlite3*"))
    assert files
    for path in files:
        assert digits not in path.read_bytes(), path


def backup_centrals_sqlite(world: OpsWorld, backup: Path) -> Path:
    """docs/operations.md, section 1: the online backup one-liner, while central runs."""
    live = Path(world.central_env["PST_DATA_DIR"]) / "db.sqlite3"
    one_liner = (
        f"import sqlite3; s = sqlite3.connect({str(live)!r}); "
        f"d = sqlite3.connect({str(backup)!r}); s.backup(d); d.close()"
    )
    subprocess.run([sys.executable, "-c", one_liner], check=True, timeout=60)
    return live


def test_centrals_sqlite_backup_while_running_restores_every_visit(world, tmp_path):
    """docs/operations.md, section 1: the online backup one-liner, then the restore steps."""
    world.start_server()
    walk_in(world, 1)
    world.drained()
    backup = tmp_path / "pst.sqlite3"
    backup_centrals_sqlite(world, backup)
    expected = sorted(row["origin"] for row in world.central_visits())

    restored = World(tmp_path / "restored")  # another site directory, as after a disk loss
    target = Path(restored.central_env["PST_DATA_DIR"]) / "db.sqlite3"
    target.write_bytes(backup.read_bytes())
    restored.manage("migrate", "-v0")
    restored.manage("check")
    assert sorted(row["origin"] for row in restored.central_visits()) == expected
    assert expected


def test_central_restored_from_an_older_backup_gets_every_visit_back_from_the_branch(
    world, tmp_path
):
    """docs/operations.md, "What a central restore means": central's database is restored from
    a backup older than visits it had already acknowledged; the branch sends those again by
    itself, each arrives exactly once, and the agent reports the loss with nothing to re-enter."""
    world.start_server()
    before = walk_in(world, 1)
    world.drained()
    backup = tmp_path / "older.sqlite3"
    live = backup_centrals_sqlite(world, backup)
    after = walk_in(world, 2)
    world.drained()  # central has acknowledged them: the branch's outbox is empty
    assert world.status()["central_lost"] is None

    world.stop_server()  # the restore steps of docs/operations.md
    for suffix in ("", "-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    live.write_bytes(backup.read_bytes())
    world.manage("migrate", "-v0")
    at_central = {row["origin"] for row in world.central_visits()}
    assert set(before) <= at_central and not set(after) & at_central  # central forgot them

    world.start_server()
    wait_until(
        lambda: set(after) <= {row["origin"] for row in world.central_visits()},
        DRAIN_S,
        "the branch to send the forgotten visits again",
    )
    world.drained()
    assert_exactly_once(world, before + after)
    lost = world.status()["central_lost"]
    assert lost is not None and lost["unrecoverable"] == 0
    assert lost["resent"] == lost["last_seq"] - lost["first_seq"] + 1 >= 2 * 5


ROUTES = """
import json, os, sys
os.environ["PST_AGENT_HOME"] = sys.argv[1]
os.environ["DJANGO_SETTINGS_MODULE"] = "branch_agent.settings"
import django
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver

def walk(patterns, prefix):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)

print(json.dumps(sorted(set(walk(get_resolver().url_patterns, "")))))
"""


def test_every_agent_page_refuses_a_post_without_a_csrf_token(world):
    """Walks the agent's URL configuration: each route, POSTed by a logged-in desk officer's
    browser session without the CSRF token, is refused (403), or answers 405 (no POST) or 415
    (the JSON API takes only application/json, which a cross-site form cannot send)."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT)
    listed = subprocess.run(
        [sys.executable, "-c", ROUTES, str(world.agent_home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    routes = json.loads(listed.stdout.strip().splitlines()[-1])
    assert "front/<uuid:visit_id>/" in routes and "desk/<str:desk>/action/" in routes

    visit = walk_in(world, 1)[0]
    samples = {"<uuid:visit_id>": visit, "<str:desk>": "1", "<str:key>": "meja", "<str:token>": "x"}
    base = f"http://127.0.0.1:{world.web_port}"
    officer = Browser(base)
    officer.login("meja")
    refused = 0
    for route in routes:
        path = "/" + route
        for placeholder, value in samples.items():
            path = path.replace(placeholder, value)
        assert "<" not in path, f"add a sample value for {route} in this test"
        status, _ = officer.request(path, b"action=call_next&next=/", {
            "Content-Type": "application/x-www-form-urlencoded"
        })  # fmt: skip
        assert status in (403, 405, 415), (path, status)
        refused += status == 403
    assert refused >= 5  # the forms (front office, desk, rating, login, language) really refused

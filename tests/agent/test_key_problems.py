"""Key problems are loud at the branch (issue 14 item 9).

A world-readable secret key, a missing ``keys/``, a corrupt key file, or central's key wrong in
agent.toml: the run log says it at start (before "ready") and every time the worker gives up on
a connection, naming the file and the fix; ``status`` says it; the staff badge says the link is
down because of a key. Real files, real CURVE sockets, a real ``pst-branch-agent run``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from django.test import Client

from branch_agent import keycheck, services, worker
from branch_agent.models import SyncState
from branch_agent.worker import SyncWorker
from sync.transport import generate_keypair, save_keypair
from tests.agent.test_cli import cli, init
from tests.agent.test_worker import FAST, LINK, Central, free_port, wait_for
from tests.support.processes import start_agent


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    save_keypair(tmp_path / "keys", generate_keypair(), name="branch")
    return tmp_path / "keys"


def test_a_good_key_pair_has_no_problem(keys_dir: Path) -> None:
    assert keycheck.key_problem(keys_dir) == ""


def test_a_world_readable_secret_key_names_the_chmod(keys_dir: Path) -> None:
    secret = keys_dir / "branch.key_secret"
    secret.chmod(0o644)
    problem = keycheck.key_problem(keys_dir)
    assert str(secret) in problem and f"chmod 600 {secret}" in problem


def test_a_missing_keys_directory_names_it_and_the_fix(keys_dir: Path) -> None:
    shutil.rmtree(keys_dir)
    problem = keycheck.key_problem(keys_dir)
    assert f"the keys directory {keys_dir} is missing" in problem
    assert "rotate-key" in problem and "backup" in problem


@pytest.mark.parametrize(
    "text",
    ["garbage\n", 'public-key = "abc"\nsecret-key = "def"\n', ""],
    ids=["not-a-certificate", "not-z85", "empty"],
)
def test_a_corrupt_key_file_names_the_file_and_the_fix(keys_dir: Path, text: str) -> None:
    secret = keys_dir / "branch.key_secret"
    secret.write_text(text)
    problem = keycheck.key_problem(keys_dir)
    assert str(secret) in problem and "rotate-key" in problem


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_says_it_every_time_it_gives_up(settings, keys_dir, monkeypatch, caplog):
    """No usable key: logged at every look; after the chmod it connects with no restart."""
    secret = keys_dir / "branch.key_secret"
    secret.chmod(0o644)
    server = generate_keypair()
    port = free_port()
    from sync.transport import load_public_key

    central = Central(port, server, enrolled={load_public_key(keys_dir / "branch.key")})
    settings.PST_AGENT = {
        **settings.PST_AGENT,
        "KEYS_DIR": str(keys_dir),
        "CENTRAL_ENDPOINT": f"tcp://127.0.0.1:{port}",
        "SERVER_PUBLIC_KEY": server.public_key,
    }
    monkeypatch.setattr(worker, "KEY_RETRY_EVERY", 0.3)
    caplog.set_level(logging.ERROR, logger="branch_agent.sync")
    sync = SyncWorker.from_settings()
    sync.config, sync.options = FAST, LINK
    services.issue_number("konsultasi")
    sync.start()
    try:
        said = lambda: [r.getMessage() for r in caplog.records if "chmod 600" in r.getMessage()]  # noqa: E731
        assert wait_for(lambda: len(said()) >= 3, 10)
        assert all(str(secret) in line for line in said())
        assert wait_for(lambda: SyncState.objects.get(id=1).last_error.startswith("keys:"), 10)
        assert services.sync_view().key_problem
        secret.chmod(0o600)
        assert wait_for(lambda: services.sync_view().pending_ops == 0, 20)
        assert not services.sync_view().key_problem
    finally:
        sync.stop()
        central.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_wrong_server_key_is_logged_with_set_server_key(settings, monkeypatch, caplog):
    monkeypatch.setattr(worker, "KEY_RETRY_EVERY", 0.5)
    server, branch = generate_keypair(), generate_keypair()
    port = free_port()
    central = Central(port, server, enrolled={branch.public_key})
    caplog.set_level(logging.ERROR, logger="branch_agent.sync")
    sync = SyncWorker(
        endpoint=f"tcp://127.0.0.1:{port}",
        server_public_key=generate_keypair().public_key,  # not central's
        keypair=branch,
        config=FAST,
        options=LINK,
    )
    sync.start()
    try:

        def said() -> list[str]:
            return [r.getMessage() for r in caplog.records if "set-server-key" in r.getMessage()]

        assert wait_for(lambda: len(said()) >= 2, 15), [r.getMessage() for r in caplog.records]
        assert "server_public_key" in said()[0] and "agent.toml" in said()[0]
        assert wait_for(lambda: services.sync_view().key_problem, 10)
    finally:
        sync.stop()
        central.stop()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "shown"), [("id", "luring: masalah kunci"), ("en", "offline: key problem")]
)
def test_the_badge_says_the_link_is_down_because_of_a_key(users, language, shown):
    SyncState.objects.filter(id=1).update(
        online=False, last_error="keys: secret key file /x/keys/branch.key_secret is readable"
    )
    client = Client()
    client.cookies["pst_agent_language"] = language
    client.force_login(users["front_office"])
    page = client.get("/front/").content.decode()
    assert (
        f'<span class="state">{shown}</span>' in page and "sync-badge offline key-problem" in page
    )
    assert client.get("/sync/status.json").json()["key_problem"] is True
    SyncState.objects.filter(id=1).update(last_error="unreachable: timeout")
    assert f'<span class="state">{shown}</span>' not in client.get("/front/").content.decode()


def test_run_and_status_say_it_at_start(tmp_path: Path) -> None:
    home = tmp_path / "data"
    init(home)
    secret = home / "keys" / "branch.key_secret"
    secret.chmod(0o644)
    status = cli("status", home=home)
    assert f"chmod 600 {secret}" in status.stdout and "Keys:" in status.stdout
    as_json = json.loads(cli("status", "--json", home=home).stdout)
    assert "chmod 600" in as_json["key_problem"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_AGENT", "DJANGO_"))}
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        running = start_agent(home, free_port(), env=env, stdout=out, stderr=out)
    try:
        assert wait_for(lambda: "ready" in log.read_text(), 30), log.read_text()
        text = log.read_text()
        start = text.index("KEY PROBLEM")
        assert start < text.index("ready") and f"chmod 600 {secret}" in text[start:]
        assert "NOT WORKING: key problem" in text
        # And the worker keeps saying it (its first look comes right after start).
        assert wait_for(lambda: "sync cannot connect" in log.read_text(), 20), log.read_text()
    finally:
        running.terminate()
        running.wait(10)
    shutil.rmtree(home / "keys")
    missing = cli("status", home=home)
    assert f"the keys directory {home / 'keys'} is missing" in missing.stdout
    rotated = cli("rotate-key", home=home)  # the fix it names works on a missing key
    assert "New branch public key" in rotated.stdout
    assert "Keys:           ok" in cli("status", home=home).stdout

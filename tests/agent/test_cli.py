"""``pst-branch-agent`` as a real program: init, status, backup/restore, users, broken configs."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync.transport import generate_keypair
from tests.support.processes import free_port, kiosk_answers, start_agent, wait_until_answers

SERVER_KEY = generate_keypair().public_key
HASH_KEY = "test-id-hash-key-0123456789abcdef0123456789"


def cli(*args, home=None, env=None, check=True):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PST_AGENT")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(env or {})
    command = [sys.executable, "-m", "branch_agent.cli"]
    if home is not None:
        command += ["--data-dir", str(home)]
    result = subprocess.run(
        command + list(args), capture_output=True, text=True, env=environment, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


#: What every ``init`` of these tests gives (branch, central, keys, the admin's password).
INIT_ARGS = (
    "--branch",
    "1222",
    "--central",
    "tcp://127.0.0.1:9",
    f"--server-key={SERVER_KEY}",
    "--id-hash-key",
    HASH_KEY,
    "--password",
    "kopi-susu-pagi",
)


def init(home, *extra):
    return cli("init", *INIT_ARGS, "--name", "BPS Labuhanbatu Selatan", *extra, home=home)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("agent") / "data"
    result = init(path)
    assert "Branch public key: " in result.stdout
    return path


def test_init_creates_everything_and_prints_the_enrol_command(home):
    public = (home / "keys" / "branch.key").read_text()
    assert "public-key" in public and "secret-key" not in public
    out = (home / "agent.toml").read_text()
    assert 'code = "1222"' in out and SERVER_KEY in out
    assert (home / "agent.toml").stat().st_mode & 0o077 == 0  # secrets: owner only
    assert (home / "keys" / "branch.key_secret").stat().st_mode & 0o077 == 0
    db = sqlite3.connect(home / "agent.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM auth_user").fetchone()[0] == 1


def test_init_output_names_the_central_command(tmp_path):
    result = init(tmp_path / "other")
    key = result.stdout.split("Branch public key: ")[1].split()[0]
    assert f"python manage.py pst_branch enrol 1222 --public-key='{key}'" in result.stdout
    again = cli(
        "init",
        *INIT_ARGS,
        home=tmp_path / "other",
        check=False,
    )
    assert again.returncode == 2 and "already set up" in again.stderr


def test_init_refuses_bad_input_and_writes_nothing(tmp_path):
    bad = cli(
        "init",
        "--branch",
        "12",
        "--central",
        "tcp://127.0.0.1:9",
        f"--server-key={SERVER_KEY}",
        "--id-hash-key",
        HASH_KEY,
        "--password",
        "kopi-susu-pagi",
        home=tmp_path / "x",
        check=False,
    )
    assert bad.returncode == 2 and "[branch] code = '12'" in bad.stderr
    assert not (tmp_path / "x").exists()
    key = cli(
        "init",
        "--branch",
        "1222",
        "--central",
        "tcp://127.0.0.1:9",
        "--server-key=nope",
        "--id-hash-key",
        HASH_KEY,
        "--password",
        "kopi-susu-pagi",
        home=tmp_path / "y",
        check=False,
    )
    assert key.returncode == 2 and "--server-key" in key.stderr
    assert "Traceback" not in bad.stderr + key.stderr


def test_status_json(home):
    data = json.loads(cli("status", "--json", home=home).stdout)
    assert data["online"] is False and data["pending_ops"] == 0
    assert data["last_sync_at"] is None and data["feed_cursor"] == 0
    assert data["branch"] == "1222"
    assert data["central_lost"] is None
    human = cli("status", home=home).stdout
    assert "Ops waiting:    0" in human and "Central lost" not in human
    store = home / "agent.sqlite3"
    with sqlite3.connect(store) as db:  # what the worker records at a central restore
        db.execute(
            "UPDATE branch_agent_syncstate SET central_lost_at = '2026-11-24 02:00:00',"
            " central_lost_first_seq = 12, central_lost_last_seq = 20,"
            " central_lost_resent = 6, central_lost_unrecoverable = 3"
        )
    lost = json.loads(cli("status", "--json", home=home).stdout)["central_lost"]
    assert (lost["first_seq"], lost["last_seq"], lost["resent"], lost["unrecoverable"]) == (
        12,
        20,
        6,
        3,
    )
    assert "Central lost:   seq 12..20" in cli("status", home=home).stdout


def test_createuser_and_token(home):
    cli("createuser", "meja1", "--role", "desk_officer", "--password", "teh-manis-siang", home=home)
    dup = cli(
        "createuser",
        "meja1",
        "--role",
        "desk_officer",
        "--password",
        "teh-manis-siang",
        home=home,
        check=False,
    )
    assert dup.returncode == 2 and "already exists" in dup.stderr
    weak = cli(
        "createuser", "fo", "--role", "front_office", "--password", "123", home=home, check=False
    )
    assert weak.returncode == 2 and "password" in weak.stderr
    role = cli(
        "createuser", "x", "--role", "boss", "--password", "teh-manis-siang", home=home, check=False
    )
    assert role.returncode == 2
    token = cli("createtoken", "meja1", "--device", "tombol-meja-1", home=home).stdout.strip()
    assert token.startswith("pst_") and len(token) > 30
    db = sqlite3.connect(home / "agent.sqlite3")
    assert token not in str(db.execute("SELECT * FROM branch_agent_apitoken").fetchall())


def test_backup_is_a_consistent_copy_and_restore_puts_it_back(home, tmp_path):
    target = tmp_path / "copy.sqlite3"
    out = cli("backup", "--to", str(target), home=home).stdout
    assert "Backup written" in out
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT next_seq FROM branch_agent_syncstate").fetchone() == (1,)
    again = cli("backup", "--to", str(target), home=home, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    default = cli("backup", home=home).stdout
    assert str(home / "backups") in default
    live = sqlite3.connect(home / "agent.sqlite3")
    live.execute("UPDATE branch_agent_syncstate SET next_seq = 99")
    live.commit()
    live.close()
    restored = cli("restore", str(target), home=home).stdout
    assert "Restored" in restored
    check = sqlite3.connect(home / "agent.sqlite3")
    assert check.execute("SELECT next_seq FROM branch_agent_syncstate").fetchone() == (1,)
    assert any(p.name.startswith("agent-before-restore") for p in (home / "backups").iterdir())
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    bad = cli("restore", str(junk), home=home, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "agent.toml is missing"),
        ("[branch\ncode=", "is not valid TOML"),
        ("[branch]\ncode = 1222\n", "[branch] code = 1222 must be a quoted string"),
        ('[branch]\ncode = "1222"\nprot = 1\n', "unknown key 'prot'"),
        ('[branhc]\ncode = "1222"\n', "did you mean 'branch'"),
        ('[branch]\ncode = "1222"\n', "[central] endpoint is missing"),
    ],
)
def test_a_missing_or_broken_config_is_one_line_and_exit_2(tmp_path, text, expected):
    home = tmp_path / "broken"
    home.mkdir()
    if text is not None:
        (home / "agent.toml").write_text(text)
    for command in (["status"], ["status", "--json"], ["run"], ["backup"]):
        result = cli(*command, home=home, check=False)
        assert result.returncode == 2, command
        assert expected in result.stderr, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_bad_value_names_the_key_and_the_fix(home, tmp_path):
    broken = tmp_path / "bad-endpoint"
    broken.mkdir()
    text = (home / "agent.toml").read_text().replace("tcp://127.0.0.1:9", "http://central")
    (broken / "agent.toml").write_text(text)
    result = cli("status", home=broken, check=False)
    assert result.returncode == 2
    assert "[central] endpoint = 'http://central'" in result.stderr
    assert "tcp://pst.example.go.id:5555" in result.stderr


def test_no_data_dir_at_all(tmp_path):
    result = cli("status", env={"PST_AGENT_HOME": str(tmp_path / "nowhere")}, check=False)
    assert result.returncode == 2 and "pst-branch-agent init" in result.stderr
    assert Path(tmp_path / "nowhere").exists() is False


def test_one_running_agent_per_data_directory(home, tmp_path):
    port = free_port()
    running = start_agent(home, port, "--no-sync")
    try:
        wait_until_answers(running, lambda: kiosk_answers(port))
        backup = tmp_path / "b.sqlite3"
        cli("backup", "--to", str(backup), home=home)  # a backup is fine while running
        restore = cli("restore", str(backup), home=home, check=False)
        assert restore.returncode == 2 and "stop it first" in restore.stderr
        second = cli("run", "--no-sync", "--port", "1", home=home, check=False)
        assert second.returncode == 2 and "another" in second.stderr
    finally:
        running.terminate()
        running.wait(10)
    assert cli("restore", str(backup), home=home).returncode == 0  # stopped: allowed


def test_keys_that_begin_with_a_dash_work_in_the_printed_form(tmp_path):
    """About one key in 85 starts with "-": argparse must get it as --server-key=KEY."""
    dash_key = next(
        key for key in (generate_keypair().public_key for _ in range(20_000)) if key[0] == "-"
    )
    result = cli(
        "init",
        "--branch",
        "1222",
        "--central",
        "tcp://127.0.0.1:9",
        f"--server-key={dash_key}",
        "--id-hash-key",
        HASH_KEY,
        "--password",
        "kopi-susu-pagi",
        home=tmp_path / "dash",
    )
    assert result.returncode == 0


def test_init_writes_this_pcs_names_not_a_wildcard(tmp_path):
    home = tmp_path / "hosts"
    init(home, "--allowed-host", "PST-Kiosk.local")
    import tomllib

    hosts = tomllib.loads((home / "agent.toml").read_text())["web"]["allowed_hosts"]
    assert "*" not in hosts
    assert {"localhost", "127.0.0.1", "pst-kiosk.local"} <= set(hosts)
    assert socket.gethostname().lower() in hosts
    bad = cli(
        "init",
        "--branch",
        "1222",
        "--allowed-host",
        "*",
        "--central",
        "tcp://h:1",
        f"--server-key={SERVER_KEY}",
        "--id-hash-key",
        HASH_KEY,
        "--password",
        "x" * 12,
        home=tmp_path / "star",
        check=False,
    )
    assert bad.returncode == 2 and "--allowed-host '*'" in bad.stderr
    assert not (tmp_path / "star").exists()


def test_a_wildcard_config_is_refused_with_the_fix(home, tmp_path):
    star = tmp_path / "star"
    star.mkdir()
    text = re.sub(
        r"(?m)^allowed_hosts = .*$", 'allowed_hosts = ["*"]', (home / "agent.toml").read_text()
    )
    (star / "agent.toml").write_text(text)
    result = cli("status", home=star, check=False)
    assert result.returncode == 2 and "DNS rebinding" in result.stderr
    assert "set-allowed-hosts --detect" in result.stderr
    fixed = cli("set-allowed-hosts", "--detect", "--host", "meja.lan", home=star)
    assert "meja.lan" in fixed.stdout
    import tomllib

    hosts = tomllib.loads((star / "agent.toml").read_text())["web"]["allowed_hosts"]
    assert "*" not in hosts and {"127.0.0.1", "meja.lan"} <= set(hosts)
    added = cli("set-allowed-hosts", "--host", "tv.lan", home=star)
    assert "tv.lan" in added.stdout and "meja.lan" in added.stdout
    wrong = cli("set-allowed-hosts", "--host", "http://x:80", home=star, check=False)
    assert wrong.returncode == 2 and "--allowed-host 'http://x:80'" in wrong.stderr


def test_the_running_agent_answers_only_its_host_names(home):
    import http.client

    port = free_port()
    running = start_agent(home, port, "--no-sync")

    def get(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/kiosk/", headers={"Host": host})
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        wait_until_answers(running, lambda: get(f"127.0.0.1:{port}") == 200)
        assert get(f"127.0.0.1:{port}") == 200
        assert get(f"localhost:{port}") == 200
        # DNS rebinding: a page on rebind.example resolves its name to this PC's address.
        assert get(f"rebind.example:{port}") == 400
    finally:
        running.terminate()
        running.wait(10)


def test_allowed_hosts_in_the_config(home):
    import tomllib

    from branch_agent import config as agent_config

    raw = tomllib.loads((home / "agent.toml").read_text())
    del raw["web"]["allowed_hosts"]  # an older config without the key: this PC's names
    found = agent_config.validate(raw, home).allowed_hosts
    assert {"localhost", "127.0.0.1", "[::1]"} <= set(found) and "*" not in found
    for wrong in (["*"], ["evil:80"], ["http://x"], []):
        raw["web"]["allowed_hosts"] = wrong
        with pytest.raises(agent_config.ConfigError, match=r"\[web\] allowed_hosts"):
            agent_config.validate(raw, home)
    raw["web"]["allowed_hosts"] = ["PST-PC", "192.168.1.20", "[fe80::1]", ".kantor.lan"]
    assert agent_config.validate(raw, home).allowed_hosts == (
        "pst-pc",
        "192.168.1.20",
        "[fe80::1]",
        ".kantor.lan",
    )
    raw["limits"] = {"issue_per_device_per_minute": 0}
    raw["web"]["allowed_hosts"] = ["localhost"]
    with pytest.raises(agent_config.ConfigError, match="issue_per_device_per_minute = 0"):
        agent_config.validate(raw, home)


def test_data_dir_is_accepted_after_the_command_as_the_messages_print_it(tmp_path):
    """``init`` prints ``pst-branch-agent run --data-dir DIR``: that order works for every
    command, and a value after the command wins over one before it."""
    home = tmp_path / "after"
    result = cli(
        "init",
        *INIT_ARGS,
        "--data-dir",
        str(home),
    )
    assert (home / "agent.toml").is_file()
    assert f"--data-dir {home}" in result.stdout
    status = cli("status", "--json", "--data-dir", str(home))
    assert json.loads(status.stdout)["data_dir"] == str(home.resolve())
    before_and_after = subprocess.run(
        [
            sys.executable,
            "-m",
            "branch_agent.cli",
            "--data-dir",
            str(tmp_path / "nowhere"),
            "status",
            "--data-dir",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert before_and_after.returncode == 0, before_and_after.stderr
    rotated = cli("rotate-key", "--data-dir", str(home))
    assert "Branch public key" in rotated.stdout or "public key" in rotated.stdout.lower()
    help_text = cli("run", "--help").stdout
    assert "--data-dir" in help_text

"""A branch office and central, end to end, as real processes on loopback.

Central: the example site in a temp dir (SQLite file, migrated, demo data), its keypair from
``pst_sync_keys --create``, the branch enrolled with ``pst_branch enrol`` and ``pst_sync_server``.
Branch: ``pst-branch-agent init`` and ``run``, driven over HTTP as the kiosk, the front office and
a desk officer would. Walk-ins made while central is down reach central's helpdesk exactly once
when it comes up, including after the server is killed with SIGKILL mid-drain and restarted.
Every wait is bounded; every process is killed in teardown.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.processes import allow_fast_kiosk, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
MANAGE = ROOT / "example_project" / "manage.py"
HASH_KEY = "e2e-id-hash-key-0123456789abcdef"
PASSWORD = "e2e-staff-password-1"
NIK = "1222011708900001"

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Browser:
    """A cookie-keeping HTTP client, one per screen (kiosk, front office, desk)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: bytes | None = None, headers=None) -> tuple[int, str]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        csrf = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf}, doseq=True)
        return self.request(path, body.encode(), {"Referer": self.base + path})

    def login(self, username: str) -> None:
        self.request("/login/")
        status, _ = self.form("/login/", {"username": username, "password": PASSWORD})
        assert status == 200


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.central_env = self._central_env(tmp / "central")
        self.agent_home = tmp / "agent" / "data"
        self.sync_port = free_port()
        self.web_port = free_port()
        self.processes: list[subprocess.Popen[str]] = []
        self.server: subprocess.Popen[str] | None = None

    @staticmethod
    def _central_env(data: Path) -> dict[str, str]:
        data.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env.pop("DATABASE_URL", None)
        env.update(
            PST_DATA_DIR=str(data),
            PST_ID_HASH_KEY=HASH_KEY,
            DJANGO_DEBUG="0",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env=self.central_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {args[0]}: {done.stderr[-2000:]}"
        return done.stdout

    def agent(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env["PYTHONPATH"] = str(ROOT)
        done = subprocess.run(
            [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(self.agent_home), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"pst-branch-agent {args[0]}: {done.stderr[-2000:]}"
        return done.stdout

    def start_agent(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env["PYTHONPATH"] = str(ROOT)
        command = [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(self.agent_home)]
        command += ["run", "--host", "127.0.0.1", "--port", str(self.web_port)]
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
        )
        self.processes.append(proc)
        base = f"http://127.0.0.1:{self.web_port}"

        def up() -> bool:
            assert proc.poll() is None, "the agent exited"
            try:
                return Browser(base).request("/kiosk/")[0] == 200
            except OSError:
                return False

        wait_until(up, 30, "the agent's web UI")

    def start_server(self) -> None:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(MANAGE),
                "pst_sync_server",
                "--bind",
                f"tcp://127.0.0.1:{self.sync_port}",
            ],
            env=self.central_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.processes.append(proc)
        self.server = proc
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the process is killed by teardown if it hangs
        assert line.startswith("pst_sync_server listening on"), line

    def status(self) -> dict:
        return json.loads(self.agent("status", "--json"))

    def central_visits(self) -> list[dict]:
        """Each central Visit of branch 1222: origin id, queue, outcome, follow-up count."""
        script = (
            "import json\n"
            "from helpdesk.models import FollowUp\n"
            "from pst_helpdesk_ext.models import Visit\n"
            "rows = [dict(origin=v.origin_id, queue=v.pst_ticket.ticket.queue.slug,"
            " outcome=v.outcome, ticket=v.pst_ticket.ticket_id,"
            " followups=FollowUp.objects.filter(ticket_id=v.pst_ticket.ticket_id).count())"
            " for v in Visit.objects.filter(branch__code='1222')"
            ".select_related('pst_ticket__ticket__queue')]\n"
            "print(json.dumps(rows))\n"
        )
        return json.loads(self.manage("shell", "-c", script).strip().splitlines()[-1])

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("e2e"))
    try:
        world.manage("migrate", "-v0")
        world.manage("pst_demo_data", "--quiet-logins")
        world.manage("pst_sync_keys", "--create")
        server_key = world.manage("pst_sync_keys", "--show").strip()
        out = world.agent(
            "init",
            "--branch",
            "1222",
            "--central",
            f"tcp://127.0.0.1:{world.sync_port}",
            f"--server-key={server_key}",
            "--id-hash-key",
            HASH_KEY,
            "--password",
            PASSWORD,
        )
        branch_key = re.search(r"Branch public key: (\S{40})", out).group(1)
        world.manage("pst_branch", "enrol", "1222", f"--public-key={branch_key}")
        config = world.agent_home / "agent.toml"  # one scripted kiosk, faster than a person
        config.write_text(allow_fast_kiosk(config.read_text()))
        world.agent("createuser", "fo", "--role", "front_office", "--password", PASSWORD)
        world.agent("createuser", "meja", "--role", "desk_officer", "--password", PASSWORD)
        world.start_agent()
        yield world
    finally:
        world.stop()


def walk_in(world: World, n: int) -> list[str]:
    """``n`` whole visits: number, guest book, called, served, noted, resolved."""
    base = f"http://127.0.0.1:{world.web_port}"
    kiosk, front, desk = Browser(base), Browser(base), Browser(base)
    front.login("fo")
    desk.login("meja")
    visits = []
    for index in range(n):
        body = json.dumps({"service": "konsultasi", "request_id": f"e2e-{time.time_ns()}"})
        status, text = kiosk.request(
            "/api/queue/issue", body.encode(), {"Content-Type": "application/json"}
        )
        assert status == 201, text[:300]
        visit = json.loads(text)["visit_id"]
        visits.append(visit)
        _, page = front.request(f"/front/{visit}/")
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        fields = {
            "name": f"Pengunjung {index}",
            "institution": "Universitas",
            "email": f"v{index}@example.id",
            "phone": "0812-0000-0000",
            "id_type": "ktp",
            "id_number": NIK,
            "purpose": "Data PDRB",
            "consent": "on",
            "token": token,
        }
        status, _ = front.form(f"/front/{visit}/", fields)
        assert status == 200
        desk.request("/desk/1/")
        act = "/desk/1/action/"
        desk.form(act, {"action": "call_next", "token": f"call-{visit}"})
        desk.form(act, {"action": "start", "visit": visit, "token": f"start-{visit}"})
        finish = {
            "action": "finish",
            "visit": visit,
            "token": f"finish-{visit}",
            "subject": "data",
            "notes": "PDRB per kecamatan",
            "outcome": "resolved",
        }
        status, _ = desk.form(act, finish)
        assert status == 200
    return visits


def assert_exactly_once(world: World, visits: list[str]) -> None:
    rows = world.central_visits()
    by_origin: dict[str, list[dict]] = {}
    for row in rows:
        by_origin.setdefault(row["origin"], []).append(row)
    for visit in visits:
        (row,) = by_origin[visit]  # exactly one ticket per visit
        assert row["queue"] == "pst-1222"
        assert row["outcome"] == "resolved"
        assert row["followups"] >= 3  # the visit's timeline came along
    assert len({row["ticket"] for row in rows}) == len(rows)


def test_offline_walk_ins_reach_central_exactly_once(world: World) -> None:
    visits = walk_in(world, 5)
    status = world.status()
    assert status["pending_ops"] >= 5 * 5 and status["online"] is False
    assert world.central_visits() == []

    world.start_server()
    wait_until(lambda: world.status()["pending_ops"] == 0, 45, "the outbox to drain")
    assert_exactly_once(world, visits)

    # Second round: more visits offline-queued, the server killed (SIGKILL) as it drains, then
    # restarted; the branch re-sends what was not acknowledged and central dedups it.
    assert world.server is not None
    world.server.send_signal(signal.SIGTERM)
    assert world.server.wait(15) == 0
    more = walk_in(world, 8)
    before = world.status()["pending_ops"]
    assert before > 0
    world.start_server()
    time.sleep(0.5)  # the agent reconnects and starts pushing; where exactly it is cut is moot
    world.server.kill()
    world.server.wait(10)
    world.start_server()
    wait_until(lambda: world.status()["pending_ops"] == 0, 45, "the outbox to drain again")
    assert_exactly_once(world, visits + more)
    assert len(world.central_visits()) == len(visits) + len(more)


def test_a_wrong_clock_is_rejected_with_a_code_shown_at_the_branch_and_never_jams_it(
    world: World,
) -> None:
    """A branch PC whose clock jumped to 2031 issues a number: central rejects the record with
    ``implausible_time`` (never applies it), the branch shows the code on its Sync page and in
    ``status``, and the walk-ins after it still reach central."""
    if world.server is None or world.server.poll() is not None:
        world.start_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT)
    script = (
        "import datetime as dt\n"
        "from pathlib import Path\n"
        "from branch_agent.cli import _setup_django\n"
        f"_setup_django(Path({str(world.agent_home)!r}))\n"
        "from branch_agent import services\n"
        "wrong = dt.datetime(2031, 1, 6, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))\n"
        "print(services.issue_number('perpustakaan', now=wrong).visit.pk)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wrong_visit = done.stdout.strip().splitlines()[-1]
    visits = walk_in(world, 1)
    wait_until(lambda: world.status()["pending_ops"] == 0, 45, "the outbox to drain")

    rejected = world.status()["rejected_ops"]
    assert [(r["kind"], r["code"]) for r in rejected] == [("visit.created", "implausible_time")]
    assert "issued_at" in rejected[0]["message"]
    front = Browser(f"http://127.0.0.1:{world.web_port}")
    front.login("fo")
    _, page = front.request("/sync/")
    assert "implausible_time" in page and "issued_at" in page
    origins = {row["origin"] for row in world.central_visits()}
    assert wrong_visit not in origins and set(visits) <= origins

"""The chaos workload survives an agent killed in the middle of its answer.

A real HTTP server on loopback plays the agent: its first answer to the kiosk's issue request
announces a body and closes the connection after a part of it (what a SIGKILLed agent leaves the
client with: ``IncompleteRead``), or closes without any answer (``RemoteDisconnected``). The
workload must treat that answer as unconfirmed and send the same idempotent request again (same
``request_id``), not let the exception end the run (``make chaos`` seed 4242, run 7).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.chaos import Branch, Browser, Interrupted, Workload


class FlakyAgent(BaseHTTPRequestHandler):
    """Answers the issue API; the first ``failures`` answers are broken in the chosen way."""

    protocol_version = "HTTP/1.1"
    failures = 1
    mode = "truncate"
    bodies: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # the login page
        self._send(200, b"<form></form>", "text/html")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if self.path == "/login/":
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.loads(raw)
        type(self).bodies.append(body)
        answer = json.dumps({"visit_id": "v-" + body["request_id"]}).encode()
        if len(type(self).bodies) <= type(self).failures:
            if type(self).mode == "truncate":
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer) + 4800))
                self.end_headers()
                self.wfile.write(answer[:5])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(201, answer, "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def agent() -> Iterator[str]:
    FlakyAgent.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyAgent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def issue(browser: Browser, request_id: str) -> str:
    body = json.dumps({"service": "konsultasi", "request_id": request_id}).encode()
    status, text, _ = browser.request(
        "/api/queue/issue", body, {"Content-Type": "application/json"}
    )
    assert status == 201
    return json.loads(text)["visit_id"]


@pytest.mark.parametrize("mode", ["truncate", "close"])
def test_a_cut_off_answer_is_unconfirmed_not_a_crash(agent: str, mode: str) -> None:
    FlakyAgent.mode = mode
    with pytest.raises(Interrupted):
        issue(Browser(agent), "r1s1-1222-1")


@pytest.mark.parametrize("mode", ["truncate", "close"])
def test_the_workload_repeats_the_same_request_until_confirmed(
    agent: str, mode: str, tmp_path: Path
) -> None:
    FlakyAgent.mode = mode
    FlakyAgent.failures = 2
    branch = Branch("1222", tmp_path, int(agent.rsplit(":", 1)[1]), None, tmp_path)  # type: ignore[arg-type]
    branch.base = agent
    branch.running.set()
    stop = threading.Event()
    work = Workload(branch, "r1s1", random.Random(1), stop)
    timer = threading.Timer(20, stop.set)  # a bound: the test fails instead of hanging
    timer.start()
    try:
        visit = work.retry(lambda: issue(work.kiosk, "r1s1-1222-1"))
    finally:
        timer.cancel()
    assert visit == "v-r1s1-1222-1"
    # The same idempotent request three times (two answers lost), and each loss was counted.
    assert [b["request_id"] for b in FlakyAgent.bodies] == ["r1s1-1222-1"] * 3
    assert branch.interrupted == 2

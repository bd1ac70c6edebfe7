"""`make demo` as a newcomer meets it, with the three demo ports changed: every URL and command
the banner prints works as printed; e-mails print one line with their links (on the demo's own
host:port, never example.com) and keep their full text in the file the banner names.

``example_project/run_demo.py`` runs as a real process (its own data folder, branch home and mail
log in a temp dir, ports from ``free_port``), read line by line in a thread; teardown stops its
whole process group and the sync server the test restarted.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_branch_to_central import ROOT, wait_until
from tests.support.processes import free_port

pytestmark = pytest.mark.slow


class Demo:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.central_port, self.agent_port, self.sync_port = free_port(), free_port(), free_port()
        self.mail_log = tmp / "mail" / "demo-mail.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
        env.update(
            PST_DEMO_PORT=str(self.central_port),
            PST_DEMO_AGENT_PORT=str(self.agent_port),
            PST_DEMO_SYNC_PORT=str(self.sync_port),
            PST_DATA_DIR=str(tmp / "central"),
            PST_DEMO_AGENT_HOME=str(tmp / "branch-1222"),
            PST_DEMO_MAIL_LOG=str(self.mail_log),
        )
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "example_project" / "run_demo.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own group: teardown stops everything it started
        )
        self.restarted: subprocess.Popen[str] | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def banner(self) -> str:
        wait_until(lambda: "Press Ctrl-C to stop." in self.output, 180, "the demo's banner")
        text = self.output
        return text[text.index("PST demo is running:") : text.index("Press Ctrl-C to stop.")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything of the demo still running
        self.proc.wait(10)
        if self.restarted is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.restarted.pid, signal.SIGKILL)
            self.restarted.wait(10)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield running
    finally:
        running.stop()


def fetch(url: str, data: dict | None = None, opener=None) -> tuple[int, str, str]:
    opener = opener or urllib.request.build_opener()
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=20) as resp:  # noqa: S310
            return resp.status, resp.geturl(), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, url, exc.read().decode()


#: Printed URLs that another part of issue 13 makes work (the lead flips it after merging).


def printed_urls(banner: str) -> list[str]:
    return sorted(set(re.findall(r"http://[^\s)]+", banner)))


def test_every_printed_url_answers_on_the_changed_ports(demo: Demo) -> None:
    banner = demo.banner()
    urls = printed_urls(banner)
    assert f"http://127.0.0.1:{demo.central_port}/" in urls
    assert f"http://127.0.0.1:{demo.agent_port}/kiosk/" in urls
    assert f"tcp://127.0.0.1:{demo.sync_port}" in banner
    assert ":8000" not in banner and ":8080" not in banner and ":5555" not in banner
    failures = {}
    for url in urls:
        status, final, page = fetch(url)  # staff pages redirect to their login page
        if urllib.parse.urlsplit(url).path.startswith("/api/") and status == 403:
            assert '"detail"' in page  # the API answers, asking for credentials
        elif status != 200:
            failures[url] = (status, final)
    assert failures == {}


def test_the_printed_rating_kiosk_url_answers(demo: Demo) -> None:
    (url,) = [u for u in printed_urls(demo.banner()) if u.endswith("/rating/")]
    assert fetch(url)[0] == 200


def test_an_email_prints_one_line_with_its_link_and_the_full_text_goes_to_the_file(
    demo: Demo,
) -> None:
    banner = demo.banner()
    assert str(demo.mail_log) in banner
    central = f"http://127.0.0.1:{demo.central_port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, _url, _page = fetch(f"{central}/pst/request/", opener=opener)
    assert status == 200
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    opener.addheaders = [("Referer", f"{central}/pst/request/")]
    status, _url, _page = fetch(
        f"{central}/pst/request/",
        {"csrfmiddlewaretoken": csrf, "name": "Siti Aminah", "email": "siti@example.id"},
        opener=opener,
    )
    assert status == 200
    line = wait_until(
        lambda: next((x for x in demo.lines if x.startswith("mail to siti@example.id")), None),
        30,
        "the e-mail's console line",
    )
    links = re.findall(r"http://\S+", line)
    assert links and all(u.startswith(f"{central}/") for u in links), line
    status, _url, page = fetch(links[0], opener=opener)  # the link works as printed
    assert status == 200, page[:500]
    # One line per e-mail on the console; the whole message (headers, body) in the file.
    assert not any(x.startswith(("Content-Type:", "MIME-Version:")) for x in demo.lines)
    text = demo.mail_log.read_text()
    assert "To: siti@example.id" in text and links[0] in text
    # helpdesk builds its own e-mail links from the Sites framework: the demo's host:port there.
    script = "from django.contrib.sites.models import Site; print(Site.objects.get_current())"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env["PST_DATA_DIR"] = str(demo.tmp / "central")
    done = subprocess.run(
        [sys.executable, str(ROOT / "example_project" / "manage.py"), "shell", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip().splitlines()[-1] == f"127.0.0.1:{demo.central_port}"
    assert "example.com" not in text


def test_the_printed_sync_server_command_restarts_it_on_the_demo_port(demo: Demo) -> None:
    banner = demo.banner()
    pid = int(re.search(r"kill (\d+) \(the sync server\)", banner).group(1))
    command = banner.split("start it again with:")[1].strip().splitlines()[0]
    links_up = sum("sync link up" in x for x in demo.lines)
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not _listening(demo.sync_port), 20, "the sync server to stop")
    # Pasted into another shell: no demo environment, another directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    demo.restarted = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd="/",
        start_new_session=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.restarted.stdout is not None
    said = [demo.restarted.stdout.readline() for _ in range(3)]  # its log lines, then this
    assert any(
        x.startswith(f"pst_sync_server listening on tcp://127.0.0.1:{demo.sync_port}") for x in said
    ), said
    # The branch finds central again at the printed address.
    wait_until(
        lambda: sum("sync link up" in x for x in demo.lines) > links_up,
        60,
        "the branch to reconnect",
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False

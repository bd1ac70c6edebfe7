"""The README's "Install into an existing django-helpdesk site", followed literally.

A bare django-helpdesk site is built as helpdesk's documentation shows (``startproject``, helpdesk
in INSTALLED_APPS, its URLs under ``helpdesk/``), in a fresh venv. Then the README's own blocks
are taken from README.md itself: the ``pip install`` line (pointed at the wheel built from this
tree), the settings block appended to settings.py, the urls block appended to urls.py, and every
command of step 4 run as written (its ``<...>`` values filled in). The result must hold: ``check``
clean, ``check --deploy --database default`` without a single plugin warning, pages and API (with
a token) answering, visitors' e-mails carrying the site's domain and the queue's sender, and a
branch agent (its own venv, ``[agent]`` only) enrolled this way syncing a walk-in. Last, the
README's removal steps: the former PST tickets can then be deleted."""

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from tests.install.conftest import ROOT, clean_env, importable, run

DOMAIN = "pst.bps.test"
SENDER = "PST BPS <pst@bps.test>"
PLACEHOLDERS = {
    "<64 random hex characters>": secrets.token_hex(32),
    "<PST sender address>": SENDER,
    "<site address>": f"https://{DOMAIN}",
    "<PST queue address>": "pst-pusat@bps.test",
}
#: What the site's own admin has set for production before installing anything (not the README's).
PRODUCTION = f"""
DEBUG = False
SECRET_KEY = "{secrets.token_hex(40)}"
ALLOWED_HOSTS = ["{DOMAIN}", "127.0.0.1", "localhost", "testserver"]
"""


def readme_install() -> tuple[str, str]:
    """The install steps and the removal steps, as README.md has them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Install into an existing django-helpdesk site")
    end = text.index("\n## ", start + 3)
    section = text[start:end]
    install, removal = section.split("### Removing the plugin")
    return install, removal


def blocks(text: str) -> list[tuple[str, str]]:
    """(info string, code) of each fenced block, unindented."""
    found = re.findall(r"^( *)```([^\n]*)\n(.*?)^\1```", text, flags=re.M | re.S)
    return [(info.strip(), textwrap.dedent(code)) for _indent, info, code in found]


def fill(code: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        code = code.replace(placeholder, value)
    left = re.findall(r"<[A-Za-z0-9 ',-]+>", code)  # an e-mail address <a@b.c> is no placeholder
    assert not left, f"README placeholders the test does not know: {left}"
    return code


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    def __init__(self, base, wheel):
        self.base = base
        self.venv = base / "site-venv"
        self.python = self.venv / "bin" / "python"
        self.dir = base / "site"
        self.wheel = wheel
        self.env = clean_env(DJANGO_SETTINGS_MODULE="bare.settings")
        self.processes = []

    def manage(self, *args, check=True, timeout=300):
        return run([self.python, "manage.py", *args], cwd=self.dir, env=self.env, check=check,
                   timeout=timeout)  # fmt: skip

    def shell_line(self, line: str, check=True):
        """One command line of the README, run as written (``python`` is the site's venv)."""
        words = shlex.split(line)
        assert words[0] == "python", line
        return run([self.python, *words[1:]], cwd=self.dir, env=self.env, check=check)

    def stop(self):
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def build_bare_site(site: Site) -> None:
    """django-helpdesk's documented install: startproject, its apps, SITE_ID, its URLs."""
    site.dir.mkdir()
    run([site.venv / "bin" / "django-admin", "startproject", "bare", site.dir.name],
        cwd=site.base)  # fmt: skip
    settings = site.dir / "bare" / "settings.py"
    text = settings.read_text()
    helpdesk_apps = (
        "django.contrib.sites", "django.contrib.humanize", "rest_framework",
        "django_cleanup.apps.CleanupConfig", "helpdesk",
    )  # fmt: skip
    for quote in "'\"":
        anchor = f"    {quote}django.contrib.staticfiles{quote},\n"
        text = text.replace(anchor, anchor + "".join(f"    '{app}',\n" for app in helpdesk_apps))
    assert "'helpdesk'" in text, "startproject's INSTALLED_APPS changed shape"
    text += "\nSITE_ID = 1\nHELPDESK_TEAMS_MODE_ENABLED = False\n" + PRODUCTION
    settings.write_text(text)
    urls = site.dir / "bare" / "urls.py"
    text = urls.read_text().replace(
        "from django.urls import path", "from django.urls import include, path"
    )
    text = text.replace(
        "    path('admin/', admin.site.urls),\n",
        "    path('admin/', admin.site.urls),\n    path('helpdesk/', include('helpdesk.urls')),\n",
    ).replace(
        '    path("admin/", admin.site.urls),\n',
        '    path("admin/", admin.site.urls),\n    path("helpdesk/", include("helpdesk.urls")),\n',
    )
    assert "helpdesk.urls" in text, "startproject's urls.py changed shape"
    urls.write_text(text)


@pytest.fixture(scope="module")
def site(project_wheel, tmp_path_factory):
    install, _removal = readme_install()
    code = blocks(install)
    site = Site(tmp_path_factory.mktemp("readme"), project_wheel)
    try:
        run([sys.executable, "-m", "venv", site.venv])
        # Step 1, the README's pip line, pointed at this tree's wheel instead of the repository.
        (pip_line,) = [c.strip() for info, c in code if c.strip().startswith("pip install")]
        requirement = shlex.split(pip_line)[2]
        assert requirement.endswith(" @ git+<this repository's URL>"), pip_line
        requirement = requirement.replace("git+<this repository's URL>", project_wheel.as_uri())
        run([site.python, "-m", "pip", "install", "--quiet", requirement], timeout=900)
        build_bare_site(site)
        site.bare_settings = (site.dir / "bare" / "settings.py").read_text()
        site.bare_urls = (site.dir / "bare" / "urls.py").read_text()
        # Steps 2 and 3: append the blocks to the files they name.
        for info, body in code:
            if info.startswith("python "):
                target = site.dir / "bare" / info.split()[1]
                target.write_text(target.read_text() + "\n" + fill(body))
        # Step 4: every command, in order, as written; by a site user whose files are its own
        # (umask 077: else check --deploy rightly names the SQLite file others can read, E305).
        (commands,) = [c for info, c in code if info == "sh" and "manage.py migrate" in c]
        site.outputs = {}
        umask = os.umask(0o077)
        try:
            for line in fill(commands).strip().splitlines():
                result = site.shell_line(line)
                site.outputs[line] = result.stdout + result.stderr
        finally:
            os.umask(umask)
        yield site
    finally:
        site.stop()


def test_check_is_clean(site):
    result = site.manage("check")
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_has_nothing_to_say_about_the_plugin(site):
    (line,) = [line for line in site.outputs if "check --deploy" in line]
    output = site.outputs[line]
    assert "pst_helpdesk_ext." not in output, output
    assert "pst_helpdesk_ext/" not in output, output  # drf-spectacular notes on the plugin's views


PROBE = r"""
import json, re
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.core import mail
from django.test import Client
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

out = {}
staff = User.objects.create_user("pststaff", "staff@bps.test", "pw-long-enough-1", is_staff=True)
token = Token.objects.create(user=staff).key
api = Client()
response = api.get("/api/pst/branches/", HTTP_AUTHORIZATION="Token " + token)
out["api_token"] = [response.status_code, "1222" in response.content.decode()]
response = api.get("/api/pst/branches/", HTTP_AUTHORIZATION="Token wrong")
out["api_bad_token"] = response.status_code
schema = api.get("/api/pst/schema/", {"format": "json"}, HTTP_AUTHORIZATION="Token " + token)
out["schema_title"] = schema.json()["info"]["title"]
visitor = Client(HTTP_HOST="@DOMAIN@")  # a visitor opens the site by its name
for language in ("id", "en"):
    page = visitor.get("/pst/request/", HTTP_ACCEPT_LANGUAGE=language)
    lang = re.search(r'<html lang="([a-z-]+)"', page.content.decode()).group(1)
    out["request_" + language] = [page.status_code, lang]
out["helpdesk_home"] = visitor.get("/helpdesk/").status_code
visitor.post("/pst/request/", {"name": "Siti Aminah", "email": "siti@example.id"})
verification = mail.outbox[-1]
link = re.search(r"https?://\S+", verification.body).group(0)
out["verification"] = [verification.from_email, link]
visitor.get("/" + link.split("://", 1)[1].split("/", 1)[1])
response = visitor.post("/pst/request/ask/", {
    "branch": "1222", "subject": "data", "title": "Kemiskinan per kecamatan",
    "question": "Saya membutuhkan persentase penduduk miskin per kecamatan untuk skripsi.",
    "indicator": "Persentase penduduk miskin", "region": "Kecamatan Kotapinang",
    "period": "2020-2024", "purpose": "Skripsi S1", "institution": "Universitas Sumatera Utara",
})
out["ask"] = response.status_code
out["ticket_mails"] = [[m.from_email, m.to, m.body] for m in mail.outbox[1:]]
print("PROBE " + json.dumps(out))
""".replace("@DOMAIN@", DOMAIN)


def probe(site):
    script = site.dir / "probe.py"
    script.write_text(PROBE)
    result = run([site.python, script], cwd=site.dir, env=site.env)
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    return json.loads(line[6:])


def test_pages_api_and_emails_answer_as_the_readme_promises(site):
    out = probe(site)
    assert out["api_token"] == [200, True], "a valid API token must be accepted"
    assert out["api_bad_token"] in (401, 403)
    assert out["schema_title"] == "PST helpdesk API"
    assert out["request_id"] == [200, "id"] and out["request_en"] == [200, "en"]
    assert out["helpdesk_home"] in (200, 302)
    sender, link = out["verification"]
    assert sender == SENDER
    assert link.startswith(f"http://{DOMAIN}/pst/request/verify/") or link.startswith(
        f"https://{DOMAIN}/pst/request/verify/"
    ), link
    assert out["ask"] == 302
    to_visitor = [m for m in out["ticket_mails"] if m[1] == ["siti@example.id"]]
    assert to_visitor, out["ticket_mails"]
    for sender, _to, body in to_visitor:
        assert sender.endswith("<pst1222@bps.test>") or "pst1222@bps.go.id" in sender, sender
        assert "NO QUEUE EMAIL ADDRESS" not in sender
        assert "example.com" not in body
        for url in re.findall(r"https?://[^\s/]+", body):
            assert url.split("://")[1] == DOMAIN, body


def test_a_branch_agent_enrolled_this_way_syncs_a_walk_in(site, project_wheel, tmp_path):
    agent_venv = tmp_path / "agent-venv"
    run([sys.executable, "-m", "venv", agent_venv])
    agent_python = agent_venv / "bin" / "python"
    requirement = f"pst-helpdesk[agent] @ {project_wheel.as_uri()}"
    run([agent_python, "-m", "pip", "install", "--quiet", requirement], timeout=900)
    assert importable(agent_python) == []
    agent = agent_venv / "bin" / "pst-branch-agent"
    server_key = site.manage("pst_sync_keys", "--show").stdout.strip()
    sync_port, web_port = free_port(), free_port()
    hash_key = PLACEHOLDERS["<64 random hex characters>"]
    data = tmp_path / "agent-data"
    out = run([agent, "init", "--branch", "1222", "--central", f"tcp://127.0.0.1:{sync_port}",
               f"--server-key={server_key}", "--id-hash-key", hash_key,
               "--password", "kopi-susu-pagi-7", "--data-dir", data]).stdout  # fmt: skip
    enrol = re.search(r"python manage.py (pst_branch enrol 1222 --public-key='[^']+')", out)
    site.shell_line("python manage.py " + enrol.group(1))
    server = subprocess.Popen(
        [site.python, "manage.py", "pst_sync_server", "--bind", f"tcp://127.0.0.1:{sync_port}"],
        cwd=site.dir, env=site.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    site.processes.append(server)
    assert server.stdout.readline().startswith("pst_sync_server listening on")
    runner = subprocess.Popen(
        [agent, "run", "--data-dir", data, "--host", "127.0.0.1", "--port", str(web_port)],
        env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    site.processes.append(runner)
    base = f"http://127.0.0.1:{web_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            body = json.dumps({"service": "konsultasi", "request_id": "readme-1"}).encode()
            headers = {"Content-Type": "application/json"}
            request = urllib.request.Request(base + "/api/queue/issue", body, headers)  # noqa: S310
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 201
                visit = json.loads(response.read())["visit_id"]
            break
        except OSError:
            assert runner.poll() is None, "the agent exited"
            assert time.monotonic() < deadline, "the agent did not answer"
            time.sleep(0.5)
    script = (
        "from pst_helpdesk_ext.models import Visit; "
        f"v = Visit.objects.filter(origin_id='{visit}')"
        ".select_related('pst_ticket__ticket__queue').first(); "
        "print('QUEUE', v.pst_ticket.ticket.queue.slug if v else None)"
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        got = site.manage("shell", "-c", script).stdout
        if "QUEUE pst-1222" in got:
            break
        assert time.monotonic() < deadline, f"the visit did not reach central: {got}"
        time.sleep(1)


def test_removing_the_plugin_as_the_readme_says_leaves_tickets_deletable(site):
    """Last (it takes the plugin away): the README's removal steps, then the site deletes its
    former PST tickets without an error."""
    site.stop()
    _install, removal = readme_install()
    (commands,) = [c for info, c in blocks(removal) if info == "sh"]
    tickets = "from helpdesk.models import Ticket; print('TICKETS', Ticket.objects.count())"
    before = site.manage("shell", "-c", tickets).stdout
    assert int(before.split("TICKETS")[1]) >= 1
    for line in commands.strip().splitlines():
        site.shell_line(line)
    (site.dir / "bare" / "settings.py").write_text(site.bare_settings)
    (site.dir / "bare" / "urls.py").write_text(site.bare_urls)
    assert site.manage("check").returncode == 0
    delete = (
        "from helpdesk.models import Ticket; print('DELETED', Ticket.objects.all().delete()[0])"
    )
    assert "DELETED" in site.manage("shell", "-c", delete).stdout

"""`make demo`: the whole system on one machine, printing where to find it.

Central helpdesk (with the plugin), the central sync server, and one enrolled branch agent for
branch 1222 Labuhanbatu Selatan. Runs in the foreground; Ctrl-C stops everything it started.
Stop the sync server alone (its PID is printed) to see the branch keep working offline and catch
up when it is started again with the command the banner prints. Every printed URL and command
uses the demo's ports (PST_DEMO_PORT, PST_DEMO_AGENT_PORT, PST_DEMO_SYNC_PORT) and data folder.
E-mails print one line each (recipient, subject, links); their full text goes to var/demo-mail.log.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
AGENT = str(Path(PY).with_name("pst-branch-agent"))
HOST = os.environ.get("PST_DEMO_HOST", "127.0.0.1")
CENTRAL_PORT = int(os.environ.get("PST_DEMO_PORT", "8000"))
AGENT_PORT = int(os.environ.get("PST_DEMO_AGENT_PORT", "8080"))
SYNC_PORT = int(os.environ.get("PST_DEMO_SYNC_PORT", "5555"))
DATA = Path(os.environ.get("PST_DATA_DIR", HERE))
AGENT_HOME = Path(os.environ.get("PST_DEMO_AGENT_HOME", ROOT / "var" / "branch-1222"))
DEMO_STAFF = [
    ("petugas", "desk_officer", "petugas-demo-1222"),
    ("fo", "front_office", "fo-demo-1222"),
]
AGENT_ADMIN_PASSWORD = "kepala-demo-1222"
MAIL_LOG = Path(os.environ.get("PST_DEMO_MAIL_LOG", ROOT / "var" / "demo-mail.log"))
SYNC_BIND = f"tcp://{HOST}:{SYNC_PORT}"

# Every process the demo starts (and `manage` below) sees these: the sync server's address, the
# address e-mail links name (migrate writes it into the Sites framework), the short mail lines.
os.environ["PST_SYNC_BIND"] = SYNC_BIND
os.environ["PST_PUBLIC_BASE_URL"] = f"http://{HOST}:{CENTRAL_PORT}"
os.environ["PST_DEMO_MAIL_LOG"] = str(MAIL_LOG)
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "example_project.demo_mail.EmailBackend")


#: How often the demo runs pst_sla_tick (production: cron every 5 minutes).
TICK_EVERY_S = 60


def manage(*args: str, capture: bool = False) -> str:
    proc = subprocess.run(
        [PY, str(HERE / "manage.py"), *args],
        check=True,
        text=True,
        capture_output=capture,
    )
    return proc.stdout.strip() if capture else ""


def setting(expression: str) -> str:
    return manage(
        "shell",
        "-c",
        f"from pst_helpdesk_ext.conf import pst_settings; print({expression})",
        capture=True,
    ).splitlines()[-1]


def prepare_central() -> str:
    DATA.mkdir(parents=True, exist_ok=True)
    manage("migrate", "--noinput", "-v0")
    manage("pst_demo_data")
    keys = DATA / "keys" / "server.key_secret"
    if not keys.exists():
        manage("pst_sync_keys", "--create")
    return manage("pst_sync_keys", "--show", capture=True).splitlines()[-1]


def prepare_agent(server_key: str) -> None:
    env = dict(os.environ, PST_AGENT_HOME=str(AGENT_HOME))
    if not (AGENT_HOME / "agent.toml").exists():
        id_hash_key = setting("pst_settings.ID_HASH_KEY.decode()")
        subprocess.run(
            [
                AGENT,
                "init",
                "--branch",
                "1222",
                "--name",
                "Labuhanbatu Selatan",
                "--central",
                f"tcp://{HOST}:{SYNC_PORT}",
                f"--server-key={server_key}",
                "--id-hash-key",
                id_hash_key,
                "--port",
                str(AGENT_PORT),
                "--host",
                HOST,
                "--admin",
                "kepala",
                "--password",
                AGENT_ADMIN_PASSWORD,
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for username, role, password in DEMO_STAFF:
            subprocess.run(
                [AGENT, "createuser", username, "--role", role, "--password", password],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    elif 'allowed_hosts = ["*"]' in (AGENT_HOME / "agent.toml").read_text():
        # A demo directory from before the agent refused "*": this PC's names instead.
        subprocess.run([AGENT, "set-allowed-hosts", "--detect"], env=env, check=True)
    from sync.transport import load_public_key

    public_key = load_public_key(AGENT_HOME / "keys" / "branch.key")
    manage("pst_branch", "enrol", "1222", f"--public-key={public_key}")


#: The example site's secrets, and DEBUG: without these variables it uses public demo values.
DEMO_SECRET_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "PST_ID_HASH_KEY",
    "PST_WHATSAPP_APP_SECRET",
    "PST_WHATSAPP_VERIFY_TOKEN",
)


def demo_secrets_notice(env: dict[str, str]) -> str:
    """The warning printed with the banner while the demo runs on public demo secrets."""
    unset = [name for name in DEMO_SECRET_VARIABLES if not env.get(name)]
    debug = env.get("DJANGO_DEBUG", "1") == "1"
    if not unset and not debug:
        return ""
    lines = [
        "",
        "!" * 78,
        "DEMO SECRETS: this site is for trying out only, never for real visitors.",
    ]
    if unset:
        lines.append(f"  Public demo values in use (not set): {', '.join(unset)}.")
    if debug:
        lines.append("  DEBUG is on (DJANGO_DEBUG=0 turns it off).")
    lines += ["  `python example_project/manage.py check --deploy` lists each fix.", "!" * 78]
    return "\n".join(lines)


def sync_server_command() -> str:
    """The command that starts the sync server again as the demo started it, to paste in a shell
    (any directory): its data folder, address and e-mail settings spelled out."""
    env = {
        name: os.environ[name]
        for name in (
            "PST_DATA_DIR",
            "PST_PUBLIC_BASE_URL",
            "DJANGO_EMAIL_BACKEND",
            "PST_DEMO_MAIL_LOG",
        )
        if name in os.environ
    }
    env.setdefault("PST_DATA_DIR", str(DATA))
    words = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    words += [shlex.quote(PY), shlex.quote(str(HERE / "manage.py")), "pst_sync_server"]
    return " ".join([*words, "--bind", SYNC_BIND])


def wait_for(proc: subprocess.Popen, port: int, timeout: float = 120.0) -> None:
    """Until something answers on HOST:port (the process still running), or SystemExit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on {HOST}:{port}; see the messages above")


def print_banner(procs: dict[str, subprocess.Popen]) -> None:
    """Once the web servers answer: every URL, login and command, each working as printed."""
    central = f"http://{HOST}:{CENTRAL_PORT}"
    branch = f"http://{HOST}:{AGENT_PORT}"
    for name, port in (("central web", CENTRAL_PORT), ("branch agent", AGENT_PORT)):
        wait_for(procs[name], port)  # the banner's URLs answer when it is printed
    staff = "\n".join(f"    {u:<10} {p:<20} ({r})" for u, r, p in DEMO_STAFF)
    print(
        "\nPST demo is running:\n"
        f"  central helpdesk   {central}/  (log in at {central}/login/)\n"
        f"  PST pages          {central}/pst/   PST API {central}/api/pst/\n"
        f"  triage, IKM report {central}/pst/triage/   {central}/pst/reports/ikm/\n"
        f"  online request     {central}/pst/request/  (e-mail links print here, one line each)\n"
        f"  e-mails in full    {MAIL_LOG}\n"
        f"  Django admin       {central}/admin/\n"
        f"  sync server        {SYNC_BIND}  (pid {procs['sync server'].pid})\n"
        f"  branch 1222 kiosk  {branch}/kiosk/\n"
        f"  front office       {branch}/front/\n"
        f"  desk               {branch}/desk/\n"
        f"  display board      {branch}/board/\n"
        f"  rating kiosk       {branch}/rating/\n"
        f"  branch logins:\n    kepala     {AGENT_ADMIN_PASSWORD:<20} (branch_admin)\n{staff}\n"
        f"To see offline work: kill {procs['sync server'].pid} (the sync server), use the branch, "
        f"then start it again with:\n  {sync_server_command()}\n"
        f"Service clocks: pst_sla_tick runs every {TICK_EVERY_S} s here (cron every 5 min in "
        "production).\nPress Ctrl-C to stop.\n",
        flush=True,
    )
    print(demo_secrets_notice(dict(os.environ)), flush=True)


def run_ticks(procs: dict[str, subprocess.Popen]) -> None:
    """The demo's stand-in for the cron job, until central's web or the agent stops."""
    next_tick = time.monotonic()
    while procs["central web"].poll() is None and procs["branch agent"].poll() is None:
        if time.monotonic() >= next_tick:
            try:
                for line in manage("pst_sla_tick", capture=True).splitlines():
                    if line.startswith("mail to "):  # e-mails the tick sent, one line each
                        print(line, flush=True)
            except subprocess.CalledProcessError as exc:
                last = (exc.stderr or "").strip().splitlines()[-1:] or ["no output"]
                print(f"pst_sla_tick failed: {last[0]}", file=sys.stderr, flush=True)
            next_tick = time.monotonic() + TICK_EVERY_S
        time.sleep(0.5)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does: its processes with it


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    server_key = prepare_central()
    prepare_agent(server_key)
    env_agent = dict(os.environ, PST_AGENT_HOME=str(AGENT_HOME))
    procs = {
        "central web": subprocess.Popen(
            [PY, str(HERE / "manage.py"), "runserver", f"{HOST}:{CENTRAL_PORT}", "--noreload"]
        ),
        "sync server": subprocess.Popen(
            [PY, str(HERE / "manage.py"), "pst_sync_server", "--bind", SYNC_BIND]
        ),
        "branch agent": subprocess.Popen([AGENT, "run"], env=env_agent),
    }
    try:
        print_banner(procs)
        run_ticks(procs)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``pst-branch-agent``: set up, run, inspect and back up the branch agent.

Rules:
- The config is loaded and validated before Django starts; any problem a person can fix (missing
  or broken config, unreadable key, store that cannot open) ends with one line on stderr and exit
  code 2, never a traceback.
- ``run`` is one process: the waitress web server for the office LAN and the sync worker thread.
- ``backup`` uses SQLite's online backup API, so it is consistent while ``run`` is serving.

Size: over 500 lines on purpose: one short function per subcommand beside the parser that lists
them all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import secrets
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from branch_agent import config as agent_config
from branch_agent import defaults

PROG = "pst-branch-agent"
EXIT_USAGE = 2
KEY_NAME = "branch"
ONLINE_FRESH_SECONDS = 90  # "online" is only believed if the worker said so this recently


class CommandError(Exception):
    """A problem a person can fix; printed as one line, exit code 2."""


RUN_LOCK = "run.lock"


def _hold_run_lock(home: Path) -> Any:
    """Take DATA_DIR/run.lock for as long as the returned handle lives: one ``run`` per store,
    and no ``restore`` under a running agent. The OS drops the lock if the process dies."""
    handle = open(home / RUN_LOCK, "a+")  # noqa: SIM115 - held open on purpose
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise CommandError(
            f"another `{PROG} run` is using {home}; stop it first (only one agent per data"
            " directory)"
        ) from None
    return handle


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _setup_django(home: Path) -> agent_config.AgentConfig:
    """Validate the config, then start Django on it (settings come from the same data dir)."""
    config = agent_config.load(home)
    os.environ[agent_config.HOME_ENV] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "branch_agent.settings"
    import django

    django.setup()
    return config


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=verbosity)


def _password(args: argparse.Namespace, env: str, prompt_for: str) -> str:
    if getattr(args, "password", None):
        return str(args.password)
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise CommandError(
            f"no password for {prompt_for}: give --password, set {env}, or run in a terminal"
        )
    first = getpass.getpass(f"Password for {prompt_for}: ")
    if first != getpass.getpass("Again: "):
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def _create_user(username: str, role: str, password: str, full_name: str = "") -> None:
    from django.contrib.auth.models import Group, User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from branch_agent.roles import ROLES

    if role not in ROLES:
        raise CommandError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if User.objects.filter(username=username).exists():
        raise CommandError(f"user {username!r} already exists")
    user = User(username=username, first_name=full_name[:150])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError(f"password for {username!r}: {' '.join(exc.messages)}") from None
    with transaction.atomic():
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=role))


# --- init ------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, home: Path) -> int:
    from sync.transport import KeyFileError, generate_keypair, parse_public_key, save_keypair

    if (home / agent_config.CONFIG_NAME).exists():
        raise CommandError(
            f"{home} is already set up ({agent_config.CONFIG_NAME} exists); use another"
            " --data-dir, or remove it if you really mean to start over"
        )
    try:
        server_key = parse_public_key(args.server_key, field_name="--server-key")
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    text = agent_config.render(
        branch_code=args.branch,
        branch_name=args.name or f"BPS {args.branch}",
        timezone=args.timezone,
        desks=args.desks,
        central_endpoint=args.central,
        server_public_key=server_key,
        secret_key=secrets.token_urlsafe(48),
        id_hash_key=args.id_hash_key,
        host=args.host,
        port=args.port,
        language=args.language,
        allowed_hosts=_allowed_hosts(args.allowed_host or []),
    )
    import tomllib

    agent_config.validate(tomllib.loads(text), home)  # refuse bad input before writing anything
    password = _password(args, "PST_AGENT_ADMIN_PASSWORD", f"branch admin {args.admin!r}")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / agent_config.BACKUPS_DIR).mkdir(mode=0o700, exist_ok=True)
    config_path = home / agent_config.CONFIG_NAME
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    keys_dir = home / agent_config.KEYS_DIR
    try:
        keypair = generate_keypair()
        save_keypair(keys_dir, keypair, name=KEY_NAME)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    config = _setup_django(home)
    _migrate()
    _create_user(args.admin, "branch_admin", password, "Branch admin")
    print(f"Branch agent {config.branch_code} set up in {home}")
    print(f"Branch public key: {keypair.public_key}")
    print("Enrol it at central (on the central server, in the site directory):")
    print(
        f"  python manage.py pst_branch enrol {config.branch_code} "
        # `=` form: a Z85 key may start with "-", which argparse would take for an option.
        f"--public-key='{keypair.public_key}'"
    )
    print(f"Then start the agent: {PROG} run --data-dir {home}")
    return 0


# --- run -------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, home: Path) -> int:
    config = _setup_django(home)
    lock = _hold_run_lock(home)
    _migrate()
    from waitress import create_server

    from branch_agent.housekeeping import Housekeeper
    from branch_agent.wsgi import application

    host = args.host or config.listen_host
    port = args.port if args.port is not None else config.listen_port
    housekeeper = Housekeeper(config.store_path)
    housekeeper.start()
    worker = None
    key_problem = ""
    if not args.no_sync:
        from branch_agent.keycheck import key_problem as find_key_problem
        from branch_agent.worker import SyncWorker

        key_problem = find_key_problem(config.keys_dir, data_dir=home)
        if key_problem:  # the run log says it before "ready", and the worker keeps saying it
            print(f"{PROG}: KEY PROBLEM, sync cannot work: {key_problem}", file=sys.stderr)

        worker = SyncWorker.from_settings()
        worker.start()
    try:
        server = create_server(
            application,
            host=host,
            port=port,
            threads=config.threads,
            ident="pst-branch-agent",
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        if worker is not None:
            worker.stop()
        housekeeper.stop()
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    sync = "to " + config.central_endpoint if worker else "off"
    if key_problem:
        sync += " NOT WORKING: key problem (see above; the pages work, records wait here)"
    print(
        f"{PROG} ready: branch {config.branch_code} at {base}/ (kiosk {base}/kiosk/, board"
        f" {base}/board/, desk {base}/desk/, rating {base}/rating/1/); sync {sync}",
        flush=True,
    )
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
        if worker is not None:
            worker.stop()
        housekeeper.stop()
        lock.close()
    return 0


# --- status ----------------------------------------------------------------------------------


def status_data() -> dict[str, Any]:
    from django.utils import timezone

    from branch_agent import services
    from branch_agent.models import Visit

    view = services.sync_view()
    data = view.as_json()
    fresh = bool(
        view.last_attempt_at
        and (timezone.now() - view.last_attempt_at).total_seconds() < ONLINE_FRESH_SECONDS
    )
    data["online"] = bool(view.online and fresh)
    today = services.now_local().date()
    data["visits_today"] = Visit.objects.filter(service_day=today).count()
    data["waiting_now"] = Visit.objects.filter(
        service_day=today, status=Visit.Status.WAITING
    ).count()
    return data


def cmd_status(args: argparse.Namespace, home: Path) -> int:
    from branch_agent.keycheck import key_problem

    config = _setup_django(home)
    data = status_data()
    data["branch"] = config.branch_code
    data["central"] = config.central_endpoint
    data["data_dir"] = str(home)
    data["key_problem"] = key_problem(config.keys_dir, data_dir=home) or None
    if args.json:
        print(json.dumps(data, sort_keys=True))
        return 0
    print(f"Branch {config.branch_code} ({config.branch_name}), data in {home}")
    print(f"Central:        {config.central_endpoint}")
    print(f"Online:         {'yes' if data['online'] else 'no'}")
    if data["key_problem"]:
        print(f"Keys:           PROBLEM, sync cannot work: {data['key_problem']}")
    else:
        print(f"Keys:           ok ({config.keys_dir})")
    print(f"Ops waiting:    {data['pending_ops']}")
    print(f"Last sync:      {data['last_sync_at'] or 'never'}")
    if data["last_error"]:
        print(f"Last problem:   {data['last_error']}")
    lost = data["central_lost"]
    if lost:
        print(
            f"Central lost:   seq {lost['first_seq']}..{lost['last_seq']} (restored from a backup,"
            f" found {lost['at']}): {lost['resent']} sent again,"
            f" {lost['unrecoverable']} to re-enter at central (see the Sync page)"
        )
    print(f"Feed cursor:    {data['feed_cursor']}")
    print(f"Visits today:   {data['visits_today']} ({data['waiting_now']} waiting)")
    if data["rejected_ops"]:
        print(f"Rejected ops:   {len(data['rejected_ops'])} (see the Sync page)")
        for rejected in data["rejected_ops"]:
            print(
                f"  #{rejected['seq']} {rejected['kind']}: {rejected['code']} {rejected['message']}"
            )
    return 0


# --- backup / restore ------------------------------------------------------------------------


def _open_store(path: Path, *, must_exist: bool = True) -> sqlite3.Connection:
    if must_exist and not path.is_file():
        raise CommandError(f"{path} does not exist; nothing to back up (run `{PROG} init`)")
    try:
        return sqlite3.connect(f"file:{path}?mode={'ro' if must_exist else 'rwc'}", uri=True)
    except sqlite3.Error as exc:
        raise CommandError(f"cannot open {path}: {exc}") from None


def _copy_store(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot even while the agent writes."""
    src = _open_store(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=256)
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise CommandError(f"the copy in {target} failed its integrity check: {result}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise CommandError(f"backup to {target} failed: {exc}") from None
    finally:
        src.close()


def cmd_backup(args: argparse.Namespace, home: Path) -> int:
    config = agent_config.load(home)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = (
        Path(args.to).expanduser() if args.to else config.backups_dir / f"agent-{stamp}.sqlite3"
    )
    if target.is_dir():
        target = target / f"agent-{stamp}.sqlite3"
    if target.exists():
        raise CommandError(f"{target} already exists; choose another --to")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _copy_store(config.store_path, target)
    os.chmod(target, 0o600)
    print(f"Backup written: {target} ({target.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace, home: Path) -> int:
    config = agent_config.load(home)
    lock = _hold_run_lock(home)  # refuses while the agent runs
    try:
        return _restore(config, Path(args.backup).expanduser())
    finally:
        lock.close()


def _restore(config: agent_config.AgentConfig, source: Path) -> int:
    if not source.is_file():
        raise CommandError(f"backup {source} does not exist")
    check = _open_store(source)
    try:
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.execute("SELECT next_seq FROM branch_agent_syncstate").fetchone()
    except sqlite3.Error as exc:
        raise CommandError(f"{source} is not a branch-agent store: {exc}") from None
    finally:
        check.close()
    if result != "ok":
        raise CommandError(f"{source} failed its integrity check: {result}")
    if config.store_path.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        keep = config.backups_dir / f"agent-before-restore-{stamp}.sqlite3"
        config.backups_dir.mkdir(mode=0o700, exist_ok=True)
        _copy_store(config.store_path, keep)
        print(f"Current store kept as {keep}")
    src = _open_store(source)
    dst = sqlite3.connect(config.store_path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    print(
        f"Restored {source} into {config.store_path}. Start the agent again; it resends what"
        " central has not seen and skips sequence numbers central already has."
    )
    return 0


# --- keys ------------------------------------------------------------------------------------

RETIRED_DIR = "retired"


def cmd_rotate_key(args: argparse.Namespace, home: Path) -> int:
    """A new branch keypair; the old one moves to keys/retired/ (it is never deleted silently).

    Safe while ``run`` serves: the running agent keeps the key it loaded until it is restarted.
    Nothing in the store changes, so records still queued are sent after the restart, under the
    new key, once central has enrolled it."""
    from sync.transport import KeyFileError, generate_keypair, load_keypair, save_keypair

    config = agent_config.load(home)
    try:
        old_key = load_keypair(config.keys_dir, name=KEY_NAME).public_key
    except KeyFileError as exc:
        if "chmod" in str(exc):  # the key is fine, only its mode is not: keep it
            raise CommandError(f"{exc}; no new key is needed") from None
        # Missing or corrupt: a new key is the fix (what is left is kept in keys/retired/).
        old_key = ""
        print(f"The old key cannot be used ({exc}); making a new one.")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    retired = config.keys_dir / RETIRED_DIR
    retired.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The new key is written beside the old one first, so a failure leaves the old key in place.
    keypair = generate_keypair()
    fresh = save_keypair(config.keys_dir, keypair, name=f"{KEY_NAME}-new-{stamp}")
    for suffix in (".key", ".key_secret"):
        source = config.keys_dir / f"{KEY_NAME}{suffix}"
        if source.exists():
            os.replace(source, retired / f"{KEY_NAME}-{stamp}{suffix}")
    assert fresh.secret is not None
    os.replace(fresh.secret, config.keys_dir / f"{KEY_NAME}.key_secret")
    os.replace(fresh.public, config.keys_dir / f"{KEY_NAME}.key")
    if load_keypair(config.keys_dir, name=KEY_NAME) != keypair:  # pragma: no cover - paranoia
        raise CommandError(f"the new key in {config.keys_dir} does not read back; restore it")
    print(f"New branch public key: {keypair.public_key}")
    if old_key:
        print(f"The old key ({old_key}) is kept in {retired}.")
    print("1. Enrol the new key at central (it replaces the old one there):")
    print(
        f"  python manage.py pst_branch enrol {config.branch_code} "
        f"--public-key='{keypair.public_key}'"
    )
    print(f"2. Restart the agent: {PROG} run --data-dir {home}")
    print("Records waiting to be sent stay queued and go out after the restart.")
    return 0


def _allowed_hosts(extra: Sequence[str]) -> list[str]:
    """This PC's names and addresses (``detect_hosts``) and the ones given, each checked."""
    hosts = agent_config.detect_hosts()
    for value in extra:
        name = value.strip().lower()
        if name == "*" or not agent_config.valid_host(name):
            raise CommandError(
                f"--allowed-host {value!r} is not a host name or address (no port, no scheme,"
                " no '*'; IPv6 in brackets), e.g. --allowed-host pst-kiosk.local"
            )
        if name not in hosts:
            hosts.append(name)
    return hosts


def cmd_set_allowed_hosts(args: argparse.Namespace, home: Path) -> int:
    """Write [web] allowed_hosts in agent.toml: this PC's names and addresses (``--detect``)
    and/or the ones given; every other line stays. Takes effect at the next ``run``."""
    config_path = home / agent_config.CONFIG_NAME
    if not config_path.is_file():
        agent_config.load(home)  # the one-line "missing config" error
    if not args.detect and not args.host:
        raise CommandError("give --detect (this PC's names and addresses) and/or --host NAME")
    text = config_path.read_text(encoding="utf-8")
    import tomllib

    hosts = _allowed_hosts(args.host or [])  # checks every --host
    if not args.detect:  # add to the names written now (a "*" there is dropped)
        try:
            current = tomllib.loads(text).get("web", {}).get("allowed_hosts") or []
        except tomllib.TOMLDecodeError as exc:
            raise CommandError(f"{config_path} is not valid TOML: {exc}; fix that line") from None
        given = [h.strip().lower() for h in args.host]
        hosts = [h for h in current if isinstance(h, str) and h != "*"]
        hosts += [h for h in given if h not in hosts]
    line = "allowed_hosts = [" + ", ".join(_toml_str(h) for h in hosts) + "]"
    text = _set_table_line(text, "web", "allowed_hosts", line, config_path)
    try:
        agent_config.validate(tomllib.loads(text), home)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - the edit keeps TOML valid
        raise CommandError(f"the edited {config_path} would not parse: {exc}") from None
    temporary = config_path.with_suffix(".toml.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, config_path)
    print(f"The agent now answers to: {', '.join(hosts)} (in {config_path}).")
    print(f"Restart the agent to use it: {PROG} run --data-dir {home}")
    return 0


def _set_table_line(text: str, table_name: str, key: str, line: str, path: Path) -> str:
    """``text`` with the ``key = ...`` line of [table_name] replaced by ``line`` (added at the
    end of the table when missing)."""
    lines = text.splitlines(keepends=True)
    table = ""
    pattern = re.compile(rf"^\s*{key}\s*=")
    end = None
    for index, current in enumerate(lines):
        stripped = current.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if table == table_name and end is None:
                end = index
            table = stripped.strip("[]").strip()
            continue
        if table == table_name and pattern.match(current):
            if "]" not in current.split("#", 1)[0] and "[" in current:
                raise CommandError(f"{path}: write {key} on one line, then run this again")
            lines[index] = line + "\n"
            return "".join(lines)
    if table == table_name and end is None:
        end = len(lines)
    if end is None:
        raise CommandError(f"{path}: no [{table_name}] table; add one with {key} by hand")
    lines.insert(end, line + "\n")
    return "".join(lines)


def cmd_set_server_key(args: argparse.Namespace, home: Path) -> int:
    """Point the agent at central's new public key (and, optionally, a new address) in
    agent.toml, leaving every other line and comment as it is; takes effect at the next ``run``.
    """
    from sync.transport import KeyFileError, parse_public_key

    config = agent_config.load(home)  # refuses a broken config before anything is changed
    try:
        key = parse_public_key(args.server_key, field_name="--server-key")
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    text = config.config_path.read_text(encoding="utf-8")
    text = _set_central_value(text, "server_public_key", key, config.config_path)
    if args.central:
        text = _set_central_value(text, "endpoint", args.central, config.config_path)
    import tomllib

    try:
        agent_config.validate(tomllib.loads(text), home)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - the edit keeps TOML valid
        raise CommandError(f"the edited {config.config_path} would not parse: {exc}") from None
    temporary = config.config_path.with_suffix(".toml.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, config.config_path)
    print(f"Central's public key is now {key} in {config.config_path}.")
    if args.central:
        print(f"Central's address is now {args.central}.")
    print(f"Restart the agent to use it: {PROG} run --data-dir {home}")
    return 0


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _set_central_value(text: str, key: str, value: str, path: Path) -> str:
    """``text`` with ``key = "value"`` in its [central] table (the rest of the line kept)."""
    lines = text.splitlines(keepends=True)
    table = ""
    pattern = re.compile(rf'^(\s*{key}\s*=\s*)"[^"]*"(.*)$', re.DOTALL)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            table = stripped.strip("[]").strip()
            continue
        match = pattern.match(line)
        if table == "central" and match:
            lines[index] = f"{match.group(1)}{_toml_str(value)}{match.group(2)}"
            return "".join(lines)
    raise CommandError(
        f'{path}: no {key} = "..." line in the [central] table; add it there by hand'
    )


# --- users and tokens ------------------------------------------------------------------------


def cmd_createuser(args: argparse.Namespace, home: Path) -> int:
    _setup_django(home)
    _migrate()
    password = _password(args, "PST_AGENT_PASSWORD", f"user {args.username!r}")
    _create_user(args.username, args.role, password, args.full_name or "")
    print(f"User {args.username!r} created with role {args.role}")
    return 0


def cmd_createtoken(args: argparse.Namespace, home: Path) -> int:
    _setup_django(home)
    from django.contrib.auth.models import User

    from branch_agent.services import create_api_token

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {args.username!r}; create it with `{PROG} createuser`")
    print(create_api_token(user, args.device))
    return 0


# --- main ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="PST branch agent: the walk-in service of a regency office."
    )
    data_dir_help = (
        f"data directory (default: ${agent_config.HOME_ENV} or {agent_config.DEFAULT_HOME});"
        " accepted before or after the command"
    )
    parser.add_argument("--data-dir", help=data_dir_help)
    # Every command also takes --data-dir after its name (`init ... --data-dir DIR`, as the
    # messages print it). SUPPRESS keeps a value given before the command when none comes after.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_dir_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    init = command("init", help="create the data directory, store, keys and first admin")
    init.add_argument("--branch", required=True, help="4-digit BPS code of this office, e.g. 1222")
    init.add_argument("--name", help="office name shown on the pages")
    init.add_argument("--central", required=True, help="central sync server, tcp://host:5555")
    init.add_argument("--server-key", required=True, help="central's CURVE public key (Z85)")
    init.add_argument("--id-hash-key", required=True, help="central's PST_HELPDESK ID_HASH_KEY")
    init.add_argument("--timezone", default=defaults.TIMEZONE)
    init.add_argument("--desks", type=int, default=defaults.DESKS)
    init.add_argument("--host", default=defaults.WEB_HOST)
    init.add_argument("--port", type=int, default=defaults.WEB_PORT)
    init.add_argument("--language", default=defaults.LANGUAGE, choices=agent_config.LANGUAGES)
    init.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="another name or address browsers use for this PC (repeatable); localhost,"
        " 127.0.0.1, the host name and the LAN addresses are found by themselves",
    )
    init.add_argument("--admin", default="admin", help="user name of the first branch admin")
    init.add_argument("--password", help="its password (or PST_AGENT_ADMIN_PASSWORD, or prompt)")

    run = command("run", help="serve the local web UI and sync with central")
    run.add_argument("--host", help="override [web] host")
    run.add_argument("--port", type=int, help="override [web] port")
    run.add_argument("--no-sync", action="store_true", help="serve only; do not start the worker")

    status = command("status", help="sync state and today's queue")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    backup = command("backup", help="consistent copy of the store (safe while running)")
    backup.add_argument("--to", help="file or directory (default: DATA_DIR/backups/)")

    restore = command("restore", help="put a backup back (stop the agent first)")
    restore.add_argument("backup", help="a file written by `backup`")

    user = command("createuser", help="add a staff login")
    user.add_argument("username")
    user.add_argument(
        "--role",
        required=True,
        choices=["front_office", "desk_officer", "front_and_desk", "branch_admin", "branch_head"],
        help="front_and_desk: one account for a one-person office (guest book and desks);"
        " branch_head: the head of office's page (today's figures)",
    )
    user.add_argument("--full-name")
    user.add_argument("--password", help="or PST_AGENT_PASSWORD, or prompt")

    command(
        "rotate-key",
        help="new branch keypair (the old one kept in keys/retired/); enrol it at central, restart",
    )
    server_key = command(
        "set-server-key",
        help="central has a new public key (or address): write it to agent.toml, then restart",
    )
    server_key.add_argument(
        "--server-key",
        required=True,
        help="central's new CURVE public key (Z85): --server-key='KEY'",
    )
    server_key.add_argument("--central", help="central's new address too, tcp://host:5555")

    hosts = command(
        "set-allowed-hosts",
        help="the host names and addresses the agent answers to (others get 400); then restart",
    )
    hosts.add_argument(
        "--detect",
        action="store_true",
        help="localhost, 127.0.0.1, this PC's host name and its LAN addresses, found now",
    )
    hosts.add_argument("--host", action="append", metavar="NAME", help="a name to add (repeatable)")

    token = command("createtoken", help="a device token for the hardware API")
    token.add_argument("username", help="the staff account the device acts as")
    token.add_argument("--device", required=True, help="a name for the device, e.g. button-desk-1")
    return parser


COMMANDS = {
    "init": cmd_init,
    "run": cmd_run,
    "status": cmd_status,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "createuser": cmd_createuser,
    "createtoken": cmd_createtoken,
    "rotate-key": cmd_rotate_key,
    "set-server-key": cmd_set_server_key,
    "set-allowed-hosts": cmd_set_allowed_hosts,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # the store, backups and keys hold personal data and secrets: owner only
    home = agent_config.data_dir(args.data_dir)
    from django.db import DatabaseError

    from sync.transport import KeyFileError, TransportError

    try:
        return COMMANDS[args.command](args, home)
    except agent_config.ConfigError as exc:
        _fail(str(exc))
    except CommandError as exc:
        _fail(str(exc))
    except (KeyFileError, TransportError) as exc:
        _fail(f"sync keys: {exc}")
    except DatabaseError as exc:
        _fail(f"the store {home / agent_config.STORE_NAME} cannot be used: {exc}")
    except PermissionError as exc:
        _fail(f"permission denied: {exc.filename or exc}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The agent's data directory and its config file: where things live and what they must look like.

Rules:
- One data directory holds everything of one branch: ``agent.toml`` (this config), ``agent.sqlite3``
  (the store), ``keys/`` (the branch CURVE keypair) and ``backups/``. It is found from
  ``--data-dir``, else ``PST_AGENT_HOME``, else ``~/.pst-branch-agent``.
- The config is validated completely at start. Every problem names the file, the table and key,
  the value, and what to write instead; nothing here reads Django settings (this module runs
  before Django is set up).
- No Django import: the CLI loads and checks the config, then builds the settings from it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from branch_agent import defaults
from sync.codec import MAX_BATCH_OPS

CONFIG_NAME = "agent.toml"
STORE_NAME = "agent.sqlite3"
KEYS_DIR = "keys"
BACKUPS_DIR = "backups"
DEFAULT_HOME = "~/.pst-branch-agent"
HOME_ENV = "PST_AGENT_HOME"

Z85_KEY_RE = re.compile(r"^[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
ENDPOINT_RE = re.compile(r"^tcp://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
BRANCH_CODE_RE = re.compile(r"^\d{4}$")
LANGUAGES = ("id", "en")
# A host name (RFC 1123 labels, optionally ".example.id" for a domain and its subdomains), an
# IPv4 address, or an IPv6 address in brackets; never "*" and never a port.
HOST_NAME_RE = re.compile(
    r"^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class ConfigError(Exception):
    """A config problem a person can fix; ``str()`` is one line saying what and how."""


def _host_entry(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def detect_hosts() -> list[str]:
    """The names and addresses this PC answers to on the office LAN: localhost, 127.0.0.1, its
    host name and every address the host name or the default route resolves to. Works offline
    (the UDP "connect" below sends no packet)."""
    found: list[str] = list(LOCAL_HOSTS)

    def add(value: str) -> None:
        value = value.strip().lower()
        if value and value not in found and valid_host(value):
            found.append(value)

    name = socket.gethostname()
    add(name)
    try:
        for *_, sockaddr in socket.getaddrinfo(name, None):
            address = str(sockaddr[0]).split("%", 1)[0]
            if not ipaddress.ip_address(address).is_loopback:
                add(_host_entry(address))
    except (OSError, ValueError):
        pass
    for family, target in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address = str(probe.getsockname()[0]).split("%", 1)[0]
        except OSError:
            continue
        if not ipaddress.ip_address(address).is_loopback and address not in ("0.0.0.0", "::"):
            add(_host_entry(address))
    return found


def valid_host(value: str) -> bool:
    if value.startswith("[") and value.endswith("]"):
        try:
            return ipaddress.ip_address(value[1:-1]).version == 6
        except ValueError:
            return False
    return bool(HOST_NAME_RE.match(value))


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    raw = explicit or os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


@dataclass(frozen=True)
class AgentConfig:
    home: Path
    branch_code: str
    branch_name: str
    timezone: str
    desks: int
    wait_target_minutes: int
    central_endpoint: str
    server_public_key: str
    listen_host: str
    listen_port: int
    secret_key: str
    allowed_hosts: tuple[str, ...]
    language: str
    threads: int
    id_hash_key: str
    local_retention_days: int = defaults.LOCAL_RETENTION_DAYS
    issue_per_device_per_minute: int = defaults.ISSUE_PER_DEVICE_PER_MINUTE
    issue_per_minute: int = defaults.ISSUE_PER_MINUTE
    login_failures_per_account: int = defaults.LOGIN_FAILURES_PER_ACCOUNT
    login_failures_per_address: int = defaults.LOGIN_FAILURES_PER_ADDRESS
    login_lockout_minutes: int = defaults.LOGIN_LOCKOUT_MINUTES
    sync_batch_size: int = defaults.SYNC_BATCH_SIZE
    sync_retry_max_seconds: float = defaults.SYNC_RETRY_MAX_SECONDS
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.home / STORE_NAME

    @property
    def keys_dir(self) -> Path:
        return self.home / KEYS_DIR

    @property
    def backups_dir(self) -> Path:
        return self.home / BACKUPS_DIR

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_NAME


# (table, key) -> (type, required, default); the defaults are ``branch_agent.defaults``.
_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool, Any]]] = {
    "branch": {
        "code": (str, True, None),
        "name": (str, False, ""),
        "timezone": (str, False, defaults.TIMEZONE),
        "desks": (int, False, defaults.DESKS),
        "wait_target_minutes": (int, False, defaults.WAIT_TARGET_MINUTES),
    },
    "central": {
        "endpoint": (str, True, None),
        "server_public_key": (str, True, None),
    },
    "web": {
        "host": (str, False, defaults.WEB_HOST),
        "port": (int, False, defaults.WEB_PORT),
        "secret_key": (str, True, None),
        "allowed_hosts": (list, False, None),  # None: detect_hosts() at every start
        "language": (str, False, defaults.LANGUAGE),
        "threads": (int, False, defaults.THREADS),
    },
    "privacy": {
        "id_hash_key": (str, True, None),
        "local_retention_days": (int, False, defaults.LOCAL_RETENTION_DAYS),
    },
    "sync": {
        "batch_size": (int, False, defaults.SYNC_BATCH_SIZE),
        "retry_max_seconds": ((int, float), False, defaults.SYNC_RETRY_MAX_SECONDS),
    },
    "limits": {
        "issue_per_device_per_minute": (int, False, defaults.ISSUE_PER_DEVICE_PER_MINUTE),
        "issue_per_minute": (int, False, defaults.ISSUE_PER_MINUTE),
        "login_failures_per_account": (int, False, defaults.LOGIN_FAILURES_PER_ACCOUNT),
        "login_failures_per_address": (int, False, defaults.LOGIN_FAILURES_PER_ADDRESS),
        "login_lockout_minutes": (int, False, defaults.LOGIN_LOCKOUT_MINUTES),
    },
}


def _where(path: Path, table: str, key: str | None = None) -> str:
    return f"{path}: [{table}]" + (f" {key}" if key else "")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(choices)})"


def load(home: Path) -> AgentConfig:
    """Read and validate ``home/agent.toml``. Raises ConfigError with a one-line fix."""
    path = home / CONFIG_NAME
    if not home.is_dir():
        raise ConfigError(
            f"data directory {home} does not exist; run `pst-branch-agent init --data-dir {home}"
            " --branch CODE ...` first, or point PST_AGENT_HOME / --data-dir at the right one"
        )
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing; run `pst-branch-agent init` to create it"
            " (or restore it from a backup)"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix that line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}") from None
    return validate(raw, home)


def validate(raw: dict[str, Any], home: Path) -> AgentConfig:
    path = home / CONFIG_NAME
    values: dict[tuple[str, str], Any] = {}
    for table in raw:
        if table not in _SCHEMA:
            raise ConfigError(f"{path}: unknown table [{table}]" + _suggest(table, list(_SCHEMA)))
    for table, keys in _SCHEMA.items():
        section = raw.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: {table} must be a table, written [{table}]")
        for key in section:
            if key not in keys:
                raise ConfigError(
                    f"{_where(path, table)}: unknown key {key!r}" + _suggest(key, list(keys))
                )
        for key, (kind, required, default) in keys.items():
            if key not in section:
                if required:
                    raise ConfigError(
                        f"{_where(path, table, key)} is missing; add `{key} = ...` under"
                        f" [{table}] (see docs/branch-agent.md)"
                    )
                values[(table, key)] = default
                continue
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                names = kind.__name__ if isinstance(kind, type) else "number"
                names = {"str": "a quoted string", "int": "a whole number", "list": "a list"}.get(
                    names, names
                )
                raise ConfigError(f"{_where(path, table, key)} = {value!r} must be {names}")
            values[(table, key)] = value

    def bad(table: str, key: str, why: str) -> ConfigError:
        return ConfigError(f"{_where(path, table, key)} = {values[(table, key)]!r}: {why}")

    code = values[("branch", "code")]
    if not BRANCH_CODE_RE.match(code):
        raise bad("branch", "code", 'must be the 4-digit BPS code of the office, e.g. "1222"')
    try:
        zoneinfo.ZoneInfo(values[("branch", "timezone")])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise bad(
            "branch",
            "timezone",
            "is not a known timezone; use Asia/Jakarta (WIB),"
            " Asia/Makassar (WITA) or Asia/Jayapura (WIT)",
        ) from None
    if not 1 <= values[("branch", "desks")] <= 20:
        raise bad("branch", "desks", "must be between 1 and 20")
    if not 1 <= values[("branch", "wait_target_minutes")] <= 120:
        raise bad("branch", "wait_target_minutes", "must be between 1 and 120")
    match = ENDPOINT_RE.match(values[("central", "endpoint")])
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise bad("central", "endpoint", 'must look like "tcp://pst.example.go.id:5555"')
    if not Z85_KEY_RE.match(values[("central", "server_public_key")]):
        raise bad(
            "central",
            "server_public_key",
            "must be central's CURVE public key: 40 characters of Z85 text, as printed by the"
            " central sync server",
        )
    host = values[("web", "host")]
    if host not in ("localhost",):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise bad(
                "web",
                "host",
                'must be an IP address such as "0.0.0.0" (whole LAN) or "127.0.0.1" (this PC only)',
            ) from None
    if not 1 <= values[("web", "port")] <= 65535:
        raise bad("web", "port", "must be a port number between 1 and 65535")
    if len(values[("web", "secret_key")]) < 32:
        raise bad("web", "secret_key", "must be at least 32 random characters")
    hosts = values[("web", "allowed_hosts")]
    if hosts is None:
        hosts = detect_hosts()

    def example() -> str:  # only on an error: detecting asks the resolver
        return ", ".join(f'"{h}"' for h in detect_hosts())

    if "*" in hosts:
        raise bad(
            "web",
            "allowed_hosts",
            "answers to any host name, so any web page a staff browser opens could reach the"
            f" agent (DNS rebinding); list this PC's names and addresses, e.g. [{example()}], or"
            " run `pst-branch-agent set-allowed-hosts --detect`",
        )
    wrong = [h for h in hosts if not isinstance(h, str) or not valid_host(h)]
    if not hosts or wrong:
        raise bad(
            "web",
            "allowed_hosts",
            f"{', '.join(repr(h) for h in wrong) or 'an empty list'} is not a host name or"
            " address (no port, no scheme; IPv6 in brackets); list this PC's names and"
            f" addresses, e.g. [{example()}]",
        )
    if values[("web", "language")] not in LANGUAGES:
        raise bad("web", "language", 'must be "id" (Indonesian) or "en" (English)')
    if not 1 <= values[("web", "threads")] <= 64:
        raise bad("web", "threads", "must be between 1 and 64")
    if len(values[("privacy", "id_hash_key")]) < 16:
        raise bad(
            "privacy",
            "id_hash_key",
            "must be central's ID_HASH_KEY (at least 16 characters), so returning visitors are"
            " recognised the same way everywhere",
        )
    if not 1 <= values[("privacy", "local_retention_days")] <= 3650:
        raise bad(
            "privacy",
            "local_retention_days",
            "must be between 1 and 3650 days (central keeps its own copy)",
        )
    if not 1 <= values[("sync", "batch_size")] <= MAX_BATCH_OPS:
        raise bad(
            "sync", "batch_size", f"must be between 1 and {MAX_BATCH_OPS} (central refuses more)"
        )
    if not 1 <= values[("sync", "retry_max_seconds")] <= 600:
        raise bad("sync", "retry_max_seconds", "must be between 1 and 600")
    limits = {
        "issue_per_device_per_minute": (1, 10_000),
        "issue_per_minute": (1, 100_000),
        "login_failures_per_account": (1, 1000),
        "login_failures_per_address": (1, 10_000),
        "login_lockout_minutes": (1, 24 * 60),
    }
    for key, (low, high) in limits.items():
        if not low <= values[("limits", key)] <= high:
            raise bad("limits", key, f"must be between {low} and {high}")
    return AgentConfig(
        home=home,
        branch_code=code,
        branch_name=values[("branch", "name")] or f"BPS {code}",
        timezone=values[("branch", "timezone")],
        desks=values[("branch", "desks")],
        wait_target_minutes=values[("branch", "wait_target_minutes")],
        central_endpoint=values[("central", "endpoint")],
        server_public_key=values[("central", "server_public_key")],
        listen_host=host,
        listen_port=values[("web", "port")],
        secret_key=values[("web", "secret_key")],
        allowed_hosts=tuple(h.lower() for h in hosts),
        language=values[("web", "language")],
        threads=values[("web", "threads")],
        id_hash_key=values[("privacy", "id_hash_key")],
        local_retention_days=values[("privacy", "local_retention_days")],
        sync_batch_size=values[("sync", "batch_size")],
        sync_retry_max_seconds=float(values[("sync", "retry_max_seconds")]),
        issue_per_device_per_minute=values[("limits", "issue_per_device_per_minute")],
        issue_per_minute=values[("limits", "issue_per_minute")],
        login_failures_per_account=values[("limits", "login_failures_per_account")],
        login_failures_per_address=values[("limits", "login_failures_per_address")],
        login_lockout_minutes=values[("limits", "login_lockout_minutes")],
    )


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    *,
    branch_code: str,
    branch_name: str,
    timezone: str,
    desks: int,
    central_endpoint: str,
    server_public_key: str,
    secret_key: str,
    id_hash_key: str,
    host: str = defaults.WEB_HOST,
    port: int = defaults.WEB_PORT,
    language: str = defaults.LANGUAGE,
    allowed_hosts: list[str] | None = None,
) -> str:
    """The config file ``init`` writes: every key present and commented, so staff can edit it."""
    s = _toml_str
    hosts = ", ".join(s(h) for h in (allowed_hosts or detect_hosts()))
    return f"""\
# pst-branch-agent configuration. Edit, then restart `pst-branch-agent run`.
# Every key is explained in docs/branch-agent.md.

[branch]
code = {s(branch_code)}              # 4-digit BPS code of this office
name = {s(branch_name)}
timezone = {s(timezone)}   # Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)
desks = {desks}                      # consultation desks (meja) in the PST room
wait_target_minutes = {defaults.WAIT_TARGET_MINUTES}       # service standard: called within this many minutes

[central]
endpoint = {s(central_endpoint)}
server_public_key = {s(server_public_key)}   # central's CURVE public key (Z85)

[web]
host = {s(host)}                 # 0.0.0.0 = reachable from the office LAN
port = {port}
secret_key = {s(secret_key)}
# The names and addresses browsers use to open the agent (found by `init`); a request for any
# other host name gets 400. After a new LAN address: `pst-branch-agent set-allowed-hosts --detect`.
allowed_hosts = [{hosts}]
language = {s(language)}                   # default language of the pages: id or en
threads = {defaults.THREADS}

[privacy]
id_hash_key = {s(id_hash_key)}   # must equal central's PST_HELPDESK ID_HASH_KEY
local_retention_days = {defaults.LOCAL_RETENTION_DAYS}   # guest-book personal data kept on this PC (once sent to central)

[sync]
batch_size = {defaults.SYNC_BATCH_SIZE}
retry_max_seconds = {defaults.SYNC_RETRY_MAX_SECONDS:g}

[limits]
issue_per_device_per_minute = {defaults.ISSUE_PER_DEVICE_PER_MINUTE}   # queue numbers one kiosk / dispenser may take in a minute
issue_per_minute = {defaults.ISSUE_PER_MINUTE}              # queue numbers all kiosks together may take in a minute
login_failures_per_account = {defaults.LOGIN_FAILURES_PER_ACCOUNT}     # wrong passwords before an account waits ...
login_failures_per_address = {defaults.LOGIN_FAILURES_PER_ADDRESS}    # ... or a PC on the LAN waits ...
login_lockout_minutes = {defaults.LOGIN_LOCKOUT_MINUTES}         # ... this long
"""  # noqa: E501 (the file init writes, its comments aligned)

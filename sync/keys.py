"""CURVE keys of PST sync: generation, Z85 checks, and the certificate files that hold them.

This module owns every key of the sync protocol and nothing of the sockets (``sync.transport``
uses the keys; it re-exports these names so callers may import either module).

Rules:
- A key is Z85 text, 40 characters (32 bytes); ``parse_public_key`` checks one pasted into the
  admin or a command line and names the field and the value (never a secret's value).
- Key files use the ZeroMQ certificate format (``NAME.key``, ``NAME.key_secret``) so czmq and
  pyzmq tools read them; secret files are created 0600 and refused when others can read them
  (like ssh), and an existing key is never replaced unless asked (a new key silently breaks an
  enrolment).
- Besides ``sync.transport`` this is the only module in ``sync`` that imports zmq (for libsodium's
  CURVE key functions and Z85).
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from zmq.utils import z85


# Defined here because a key file that cannot be used is a transport error; ``sync.transport``
# re-exports it as the error of everything it does.
class TransportError(Exception):
    """The transport could not do what was asked (bind, connect, bad key file...)."""


class KeyFileError(TransportError, ValueError):
    """A key or key file that cannot be used; ``path`` (if any) names the file."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


_Z85_KEY_RE = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY_LINE_RE = re.compile(r'^\s*(public-key|secret-key)\s*=\s*"([^"]*)"\s*$')


@dataclass(frozen=True)
class CurveKeyPair:
    """A CURVE keypair as Z85 text (40 characters each). The secret never appears in repr."""

    public_key: str
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        parse_public_key(self.public_key, field_name="public_key")
        secret = parse_public_key(self.secret_key, field_name="secret_key", show_value=False)
        if zmq.curve_public(secret.encode()).decode() != self.public_key:
            raise KeyFileError("secret_key does not belong to public_key")


def generate_keypair() -> CurveKeyPair:
    public, secret = zmq.curve_keypair()
    return CurveKeyPair(public.decode(), secret.decode())


def parse_public_key(value: str, *, field_name: str = "public_key", show_value: bool = True) -> str:
    """A CURVE key in Z85 (40 characters, 32 bytes), surrounding whitespace removed.

    Use it to validate a branch key pasted into the admin or a command line: the error names the
    field and the value so the person can see what was wrong.
    """
    shown = repr(value) if show_value else "(hidden)"
    if not isinstance(value, str):
        raise KeyFileError(f"{field_name} must be text, got {type(value).__name__}")
    text = value.strip()
    if not _Z85_KEY_RE.match(text):
        raise KeyFileError(
            f"{field_name} must be a 40-character Z85 CURVE key, got {shown} ({len(text)} chars)"
        )
    try:
        raw = z85.decode(text)
    except (ValueError, KeyError):
        raise KeyFileError(f"{field_name} is not valid Z85: {shown}") from None
    if len(raw) != 32:  # pragma: no cover - 40 Z85 chars always decode to 32 bytes
        raise KeyFileError(f"{field_name} must decode to 32 bytes, got {len(raw)}")
    return text


@dataclass(frozen=True)
class KeyFiles:
    public: Path
    secret: Path | None


def key_paths(directory: Path | str, name: str) -> KeyFiles:
    if not _KEY_NAME_RE.match(name):
        raise KeyFileError(f"key name must be letters, digits, '_', '.', '-', got {name!r}")
    base = Path(directory)
    return KeyFiles(public=base / f"{name}.key", secret=base / f"{name}.key_secret")


def _certificate(public_key: str, secret_key: str | None) -> str:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    kind = "**Secret**" if secret_key else "Public"
    lines = [
        f"#   ****  Generated on {now} by pst-helpdesk  ****",
        f"#   ZeroMQ CURVE {kind} Certificate",
        (
            "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
            if secret_key
            else "#   Give this file to the other end (central enrols branch keys by it)."
        ),
        "",
        "metadata",
        "curve",
        f'    public-key = "{public_key}"',
    ]
    if secret_key:
        lines.append(f'    secret-key = "{secret_key}"')
    return "\n".join(lines) + "\n"


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise KeyFileError(
            f"{path} already exists; refusing to replace a key (enrolled keys would stop "
            "working). Remove it first if you really mean to rotate the key.",
            path,
        )


def _write_file(path: Path, text: str, mode: int, overwrite: bool) -> None:
    """Write via a temporary file created with ``mode`` (never wider, whatever the umask)."""
    _refuse_existing(path, overwrite)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_keypair(
    directory: Path | str, keypair: CurveKeyPair, *, name: str, overwrite: bool = False
) -> KeyFiles:
    """Write ``NAME.key`` (public, 0644) and ``NAME.key_secret`` (0600) into ``directory``.

    The directory is created 0700 if missing. An existing key is never replaced unless
    ``overwrite``: a new key silently breaks an enrolment.
    """
    paths = key_paths(directory, name)
    assert paths.secret is not None
    for path in (paths.secret, paths.public):
        _refuse_existing(path, overwrite)
    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_file(
        paths.secret, _certificate(keypair.public_key, keypair.secret_key), 0o600, overwrite
    )
    _write_file(paths.public, _certificate(keypair.public_key, None), 0o644, overwrite)
    return paths


def save_public_key(
    directory: Path | str, public_key: str, *, name: str, overwrite: bool = False
) -> Path:
    """Write only ``NAME.key``: e.g. central's public key installed at a branch."""
    path = key_paths(directory, name).public
    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_file(path, _certificate(parse_public_key(public_key), None), 0o644, overwrite)
    return path


def _read_certificate(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}", path) from None
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _KEY_LINE_RE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def load_public_key(path: Path | str) -> str:
    """The public key in a certificate file (``NAME.key`` or ``NAME.key_secret``)."""
    path = Path(path)
    found = _read_certificate(path)
    if "public-key" not in found:
        raise KeyFileError(f'{path} has no line public-key = "..."', path)
    try:
        return parse_public_key(found["public-key"], field_name=f"public-key in {path}")
    except KeyFileError as exc:
        raise KeyFileError(str(exc), path) from None


def load_keypair(directory: Path | str, *, name: str) -> CurveKeyPair:
    """Read ``NAME.key_secret``; refuse it if group or others may read it (like ssh does)."""
    path = key_paths(directory, name).secret
    assert path is not None
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(
            f"secret key file {path} does not exist; create the keys first", path
        ) from None
    if mode & 0o077:
        raise KeyFileError(
            f"secret key file {path} is readable by others (mode {mode & 0o777:o}); "
            f"run: chmod 600 {path}",
            path,
        )
    found = _read_certificate(path)
    if "secret-key" not in found or "public-key" not in found:
        raise KeyFileError(f"{path} must hold both public-key and secret-key lines", path)
    try:
        return CurveKeyPair(found["public-key"], found["secret-key"])
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}", path) from None

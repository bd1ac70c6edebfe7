"""What is wrong with the branch's CURVE keys, in one line naming the file and the fix.

Used by ``run`` (said in the run log at start), by the sync worker (said again every time it
gives up on a connection because of a key) and by ``status``. No Django import: ``status`` and
``run`` call it with the config's paths.
"""

from __future__ import annotations

from pathlib import Path

from sync.transport import KeyFileError, load_keypair

KEY_NAME = "branch"
PROG = "pst-branch-agent"


def key_problem(keys_dir: Path, *, data_dir: Path | None = None) -> str:
    """ "" when ``keys_dir/branch.key_secret`` is a usable key pair, else what is wrong and how
    to fix it."""
    home = data_dir or keys_dir.parent
    new_key = (
        f"restore {keys_dir} from a backup of the data directory, or make a new key pair with"
        f" `{PROG} rotate-key --data-dir {home}` and enrol its public key at central"
        " (`pst_branch enrol`)"
    )
    if not keys_dir.is_dir():
        return f"the keys directory {keys_dir} is missing; {new_key}"
    try:
        load_keypair(keys_dir, name=KEY_NAME)
    except KeyFileError as exc:
        text = str(exc)
        if "chmod" in text:  # readable by others: the key is fine, its mode is not
            return f"{text} (a running agent picks the key up within 30 s)"
        return f"{text}; {new_key}"
    except OSError as exc:  # pragma: no cover - e.g. the directory is not readable
        return f"cannot read {keys_dir}: {exc}; {new_key}"
    return ""


def wrong_server_key(config_path: Path, endpoint: str) -> str:
    return (
        f"the secure handshake with central at {endpoint} failed: [central] server_public_key in"
        f" {config_path} is not central's key (or the address is not a PST sync server); get"
        " central's key (`manage.py pst_sync_keys --show` at central) and run"
        f" `{PROG} set-server-key --server-key='KEY'`, then restart the agent"
    )


def not_enrolled(public_key_file: Path, branch_code: str) -> str:
    return (
        f"central refused this branch's key ({public_key_file}): it is not enrolled, or was"
        " revoked; ask the central admin to run `python manage.py pst_branch enrol"
        f" {branch_code} --public-key='<the key in {public_key_file.name}>'`"
    )

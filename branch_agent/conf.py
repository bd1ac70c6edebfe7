"""Typed, lazy access to the agent's settings (``settings.PST_AGENT``), read on every access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from branch_agent import defaults


def _get(key: str, default: Any = None) -> Any:
    return getattr(settings, "PST_AGENT", {}).get(key, default)


class AgentSettings:
    @property
    def home(self) -> Path:
        return Path(_get("HOME", "."))

    @property
    def branch_code(self) -> str:
        return str(_get("BRANCH_CODE", "0000"))

    @property
    def branch_name(self) -> str:
        return str(_get("BRANCH_NAME", ""))

    @property
    def desks(self) -> int:
        return int(_get("DESKS", defaults.DESKS))

    @property
    def wait_target_seconds(self) -> int:
        return int(_get("WAIT_TARGET_MINUTES", defaults.WAIT_TARGET_MINUTES)) * 60

    @property
    def central_endpoint(self) -> str:
        return str(_get("CENTRAL_ENDPOINT", ""))

    @property
    def server_public_key(self) -> str:
        return str(_get("SERVER_PUBLIC_KEY", ""))

    @property
    def keys_dir(self) -> Path:
        return Path(_get("KEYS_DIR", "keys"))

    @property
    def id_hash_key(self) -> str:
        return str(_get("ID_HASH_KEY", ""))

    @property
    def local_retention_days(self) -> int:
        return int(_get("LOCAL_RETENTION_DAYS", defaults.LOCAL_RETENTION_DAYS))

    @property
    def sync_batch_size(self) -> int:
        return int(_get("SYNC_BATCH_SIZE", defaults.SYNC_BATCH_SIZE))

    @property
    def sync_retry_max_seconds(self) -> float:
        return float(_get("SYNC_RETRY_MAX_SECONDS", defaults.SYNC_RETRY_MAX_SECONDS))

    @property
    def issue_per_device_per_minute(self) -> int:
        return int(_get("ISSUE_PER_DEVICE_PER_MINUTE", defaults.ISSUE_PER_DEVICE_PER_MINUTE))

    @property
    def issue_per_minute(self) -> int:
        return int(_get("ISSUE_PER_MINUTE", defaults.ISSUE_PER_MINUTE))

    @property
    def login_failures_per_account(self) -> int:
        return int(_get("LOGIN_FAILURES_PER_ACCOUNT", defaults.LOGIN_FAILURES_PER_ACCOUNT))

    @property
    def login_failures_per_address(self) -> int:
        return int(_get("LOGIN_FAILURES_PER_ADDRESS", defaults.LOGIN_FAILURES_PER_ADDRESS))

    @property
    def login_lockout_seconds(self) -> int:
        return int(_get("LOGIN_LOCKOUT_MINUTES", defaults.LOGIN_LOCKOUT_MINUTES)) * 60


agent_settings = AgentSettings()

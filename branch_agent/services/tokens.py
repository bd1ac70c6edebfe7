"""Device tokens for the API: only the hash is stored, the raw token is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from branch_agent import outbox
from branch_agent.models import ApiToken


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user: Any, name: str) -> str:
    """A new device token for ``user``; only its hash is stored, the raw token is shown once."""
    raw = "pst_" + secrets.token_urlsafe(30)
    with outbox.write():
        ApiToken.objects.create(key_hash=token_hash(raw), name=name[:100], user=user)
    return raw

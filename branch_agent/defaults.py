"""The agent's defaults, said once: what a regency office gets when ``agent.toml`` (or ``init``)
leaves a value out.

Read by the config schema and the file ``init`` writes (``branch_agent.config``), by ``init``'s
options (``branch_agent.cli``) and by the lazy settings' fallbacks (``branch_agent.conf``). Plain
values, no Django import: the CLI reads them before Django is set up.
"""

from __future__ import annotations

from typing import Final

# [branch]
TIMEZONE: Final = "Asia/Jakarta"
DESKS: Final = 2
WAIT_TARGET_MINUTES: Final = 10  # service standard: called within this many minutes

# [web]
WEB_HOST: Final = "0.0.0.0"  # the whole office LAN
WEB_PORT: Final = 8080
LANGUAGE: Final = "id"
THREADS: Final = 8

# [privacy]
LOCAL_RETENTION_DAYS: Final = 30  # guest-book personal data kept on the PC once central has it

# [sync]
SYNC_BATCH_SIZE: Final = 500
SYNC_RETRY_MAX_SECONDS: Final = 30.0

# [limits]
ISSUE_PER_DEVICE_PER_MINUTE: Final = 10
ISSUE_PER_MINUTE: Final = 60
LOGIN_FAILURES_PER_ACCOUNT: Final = 5
LOGIN_FAILURES_PER_ADDRESS: Final = 20
LOGIN_LOCKOUT_MINUTES: Final = 15

"""Settings for the branch-agent suite: the agent's own settings, built from a test config."""

import atexit
import shutil
import tempfile
from pathlib import Path

from branch_agent.config import AgentConfig
from branch_agent.djsettings import build

_HOME = Path(tempfile.mkdtemp(prefix="pst-agent-test-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

CONFIG = AgentConfig(
    home=_HOME,
    branch_code="1222",
    branch_name="BPS Kabupaten Labuhanbatu Selatan",
    timezone="Asia/Jakarta",
    desks=2,
    wait_target_minutes=10,
    central_endpoint="tcp://127.0.0.1:9",
    server_public_key="rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    listen_host="127.0.0.1",
    listen_port=8080,
    secret_key="test-secret-key-for-the-branch-agent-suite-0123456789",
    allowed_hosts=("testserver", "localhost", "127.0.0.1"),
    language="id",
    threads=4,
    id_hash_key="test-id-hash-key-0123456789abcdef0123456789",
    # Many tests issue numbers and try logins from the same client within a minute; the
    # limits themselves are tested with their defaults (tests/agent/test_limits.py).
    issue_per_device_per_minute=10_000,
    issue_per_minute=100_000,
    login_failures_per_account=1000,
    login_failures_per_address=10_000,
)

globals().update(build(CONFIG))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A real file (not shared-cache memory): WAL, busy timeouts and table locking behave as on the
# office PC when the sync worker thread and requests write at the same time.
DATABASES["default"]["TEST"] = {"NAME": str(_HOME / "test-agent.sqlite3")}  # noqa: F821

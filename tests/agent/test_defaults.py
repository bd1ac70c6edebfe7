"""The agent's defaults are said once (``branch_agent.defaults``): a config file that leaves every
optional key out, the file ``init`` writes, ``init``'s options and the lazy settings' fallbacks
all come out at those values."""

import tomllib

from django.test import override_settings

from branch_agent import cli, config, defaults
from branch_agent.conf import agent_settings

REQUIRED = {
    "branch": {"code": "1222"},
    "central": {
        "endpoint": "tcp://127.0.0.1:5555",
        "server_public_key": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    },
    "web": {
        "secret_key": "a-secret-key-of-at-least-32-characters-0123",
        "allowed_hosts": ["localhost"],
    },
    "privacy": {"id_hash_key": "an-id-hash-key-0123456789"},
}

EXPECTED = {
    "timezone": defaults.TIMEZONE,
    "desks": defaults.DESKS,
    "wait_target_minutes": defaults.WAIT_TARGET_MINUTES,
    "listen_host": defaults.WEB_HOST,
    "listen_port": defaults.WEB_PORT,
    "language": defaults.LANGUAGE,
    "threads": defaults.THREADS,
    "local_retention_days": defaults.LOCAL_RETENTION_DAYS,
    "sync_batch_size": defaults.SYNC_BATCH_SIZE,
    "sync_retry_max_seconds": defaults.SYNC_RETRY_MAX_SECONDS,
    "issue_per_device_per_minute": defaults.ISSUE_PER_DEVICE_PER_MINUTE,
    "issue_per_minute": defaults.ISSUE_PER_MINUTE,
    "login_failures_per_account": defaults.LOGIN_FAILURES_PER_ACCOUNT,
    "login_failures_per_address": defaults.LOGIN_FAILURES_PER_ADDRESS,
    "login_lockout_minutes": defaults.LOGIN_LOCKOUT_MINUTES,
}


def values_of(loaded: config.AgentConfig) -> dict:
    return {name: getattr(loaded, name) for name in EXPECTED}


def test_a_config_with_only_the_required_keys_gets_the_defaults(tmp_path):
    assert values_of(config.validate(REQUIRED, tmp_path)) == EXPECTED


def test_the_file_init_writes_states_the_defaults(tmp_path):
    text = config.render(
        branch_code="1222",
        branch_name="BPS 1222",
        timezone=defaults.TIMEZONE,
        desks=defaults.DESKS,
        central_endpoint=REQUIRED["central"]["endpoint"],
        server_public_key=REQUIRED["central"]["server_public_key"],
        secret_key=REQUIRED["web"]["secret_key"],
        id_hash_key=REQUIRED["privacy"]["id_hash_key"],
        allowed_hosts=["localhost"],
    )
    written = tomllib.loads(text)
    for table, keys in REQUIRED.items():  # the file also names every optional key
        assert set(keys) <= set(written[table])
    assert values_of(config.validate(written, tmp_path)) == EXPECTED


def test_init_options_default_to_the_same_values():
    parsed = cli.build_parser().parse_args(
        [
            "init",
            "--branch",
            "1222",
            "--central",
            REQUIRED["central"]["endpoint"],
            "--server-key",
            REQUIRED["central"]["server_public_key"],
            "--id-hash-key",
            REQUIRED["privacy"]["id_hash_key"],
        ]
    )
    assert (parsed.timezone, parsed.desks, parsed.host, parsed.port, parsed.language) == (
        defaults.TIMEZONE,
        defaults.DESKS,
        defaults.WEB_HOST,
        defaults.WEB_PORT,
        defaults.LANGUAGE,
    )


@override_settings(PST_AGENT={})
def test_the_lazy_settings_fall_back_to_the_same_values():
    assert {
        "desks": agent_settings.desks,
        "wait_target_seconds": agent_settings.wait_target_seconds,
        "local_retention_days": agent_settings.local_retention_days,
        "sync_batch_size": agent_settings.sync_batch_size,
        "sync_retry_max_seconds": agent_settings.sync_retry_max_seconds,
        "issue_per_device_per_minute": agent_settings.issue_per_device_per_minute,
        "issue_per_minute": agent_settings.issue_per_minute,
        "login_failures_per_account": agent_settings.login_failures_per_account,
        "login_failures_per_address": agent_settings.login_failures_per_address,
        "login_lockout_seconds": agent_settings.login_lockout_seconds,
    } == {
        "desks": defaults.DESKS,
        "wait_target_seconds": defaults.WAIT_TARGET_MINUTES * 60,
        "local_retention_days": defaults.LOCAL_RETENTION_DAYS,
        "sync_batch_size": defaults.SYNC_BATCH_SIZE,
        "sync_retry_max_seconds": defaults.SYNC_RETRY_MAX_SECONDS,
        "issue_per_device_per_minute": defaults.ISSUE_PER_DEVICE_PER_MINUTE,
        "issue_per_minute": defaults.ISSUE_PER_MINUTE,
        "login_failures_per_account": defaults.LOGIN_FAILURES_PER_ACCOUNT,
        "login_failures_per_address": defaults.LOGIN_FAILURES_PER_ADDRESS,
        "login_lockout_seconds": defaults.LOGIN_LOCKOUT_MINUTES * 60,
    }

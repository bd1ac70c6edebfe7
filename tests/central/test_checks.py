from django.core.management import call_command
from django.test import override_settings

from pst_helpdesk_ext.checks import check_settings
from pst_helpdesk_ext.conf import pst_settings


def ids(**overrides):
    with override_settings(**overrides):
        return [e.id for e in check_settings()]


def test_example_site_passes_all_checks():
    assert ids() == []
    call_command("check", fail_level="WARNING")


def test_not_a_dict():
    assert ids(PST_HELPDESK=[1]) == ["pst_helpdesk_ext.E001"]


def test_unknown_key_is_named():
    with override_settings(PST_HELPDESK={"RETENTION": 3}):
        (error,) = check_settings()
    assert error.id == "pst_helpdesk_ext.E002"
    assert "RETENTION" in error.msg and "PERSONAL_DATA_RETENTION_DAYS" in error.hint


def test_retention_must_be_positive_days():
    assert ids(PST_HELPDESK={"PERSONAL_DATA_RETENTION_DAYS": 0}) == ["pst_helpdesk_ext.E003"]
    assert ids(PST_HELPDESK={"PERSONAL_DATA_RETENTION_DAYS": "30"}) == ["pst_helpdesk_ext.E003"]


def test_timezone_must_exist():
    assert ids(PST_HELPDESK={"DEFAULT_TIMEZONE": "Asia/Atlantis"}) == ["pst_helpdesk_ext.E004"]


def test_id_hash_key_length():
    assert ids(PST_HELPDESK={"ID_HASH_KEY": "short"}) == ["pst_helpdesk_ext.E005"]


def test_curve_key_shape():
    assert ids(PST_HELPDESK={"SYNC_SERVER_PUBLIC_KEY": "abc"}) == ["pst_helpdesk_ext.E006"]


def test_positive_ints():
    assert ids(PST_HELPDESK={"SYNC_MAX_BATCH_OPS": 0}) == ["pst_helpdesk_ext.E007"]


def test_teams_mode_without_pinax():
    assert ids(HELPDESK_TEAMS_MODE_ENABLED=True) == ["pst_helpdesk_ext.E008"]
    assert ids(HELPDESK_TEAMS_MODE_ENABLED=True, HELPDESK_TEAMS_MODEL="pinax_teams.Team") == [
        "pst_helpdesk_ext.E008"
    ]


def test_teams_mode_with_another_team_model_is_supported():
    """helpdesk's teams mode with the site's own team model needs no pinax-teams."""
    assert ids(HELPDESK_TEAMS_MODE_ENABLED=True, HELPDESK_TEAMS_MODEL="auth.Group") == []


def test_helpdesk_missing_and_order(settings):
    apps = [a for a in settings.INSTALLED_APPS if a != "helpdesk"]
    assert "pst_helpdesk_ext.E009" in ids(INSTALLED_APPS=apps)
    after = [a for a in settings.INSTALLED_APPS if a != "pst_helpdesk_ext"] + ["pst_helpdesk_ext"]
    assert "pst_helpdesk_ext.W001" in ids(INSTALLED_APPS=after)


def test_settings_are_read_lazily():
    with override_settings(PST_HELPDESK={"PERSONAL_DATA_RETENTION_DAYS": 7}):
        assert pst_settings.PERSONAL_DATA_RETENTION_DAYS == 7
    assert pst_settings.PERSONAL_DATA_RETENTION_DAYS == 730

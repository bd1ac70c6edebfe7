"""Issue 16: every setting the README's install block sets has a system check that names it, why
it matters and how to fix it (W310-W315, W317, W318); ``pst_branch`` takes the queue's sender
address; the plugin's schema is titled without the site's SPECTACULAR_SETTINGS."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from pst_helpdesk_ext.checks import (
    check_deploy,
    check_install_database,
    check_settings,
)

#: The command's message, in the site's language (the example site's LANGUAGE_CODE is "id").
NOT_AN_ADDRESS = r"(is not an e-mail address|bukan alamat e-mail)"
SHARED_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "c"}
SOUND_DEPLOY = {
    "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a39281706f5e4d3c2b1a0" + "x" * 10,
    "DEBUG": False,
    "CACHES": {"default": SHARED_CACHE},
    "DEFAULT_FROM_EMAIL": "PST BPS <pst@bps.go.id>",
}


def found(check=check_settings, **overrides):
    with override_settings(**overrides):
        return {e.id: e for e in check()}


def test_the_example_site_sets_everything():
    assert [i for i in found() if i.startswith("pst_helpdesk_ext.W31")] == []


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_atomic_requests_missing_is_named(settings):
    databases = {
        alias: {**db, "ATOMIC_REQUESTS": False} for alias, db in settings.DATABASES.items()
    }
    warning = found(DATABASES=databases)["pst_helpdesk_ext.W310"]
    assert "ATOMIC_REQUESTS" in warning.msg and "['ATOMIC_REQUESTS'] = True" in warning.hint


def test_locale_middleware_missing_is_named(settings):
    middleware = [m for m in settings.MIDDLEWARE if "LocaleMiddleware" not in m]
    warning = found(MIDDLEWARE=middleware)["pst_helpdesk_ext.W311"]
    assert "Accept-Language" in warning.msg and "SessionMiddleware" in warning.hint


def test_token_auth_missing_is_named(settings):
    rest = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    }
    warning = found(REST_FRAMEWORK=rest)["pst_helpdesk_ext.W312"]
    assert "403" in warning.msg and "TokenAuthentication" in warning.hint
    unset = {k: v for k, v in rest.items() if k != "DEFAULT_AUTHENTICATION_CLASSES"}
    assert "pst_helpdesk_ext.W312" in found(REST_FRAMEWORK=unset)


def test_no_pst_logger_is_named():
    warning = found(LOGGING={})["pst_helpdesk_ext.W313"]
    assert "'pst' logger" in warning.hint
    assert "pst_helpdesk_ext.W313" not in found(
        LOGGING={"version": 1, "handlers": {"c": {"class": "logging.StreamHandler"}},
                 "loggers": {"pst": {"handlers": ["c"], "level": "INFO"}}}
    )  # fmt: skip


def test_deploy_names_missing_sync_keys_and_sender(tmp_path):
    pst = {"ID_HASH_KEY": "5f0c3a1e9b7d2c4e6a8b0d1f3e5c7a9b"}
    sound = {**SOUND_DEPLOY, "PST_HELPDESK": {**pst, "SYNC_KEY_DIR": str(tmp_path / "keys")}}
    assert found(check_deploy, **sound) == {}
    no_keys = found(check_deploy, **{**sound, "PST_HELPDESK": pst})
    assert "pst_sync_keys --create" in no_keys["pst_helpdesk_ext.W314"].msg
    nowhere = {**pst, "SYNC_KEY_DIR": str(tmp_path / "no" / "such" / "keys")}
    assert "pst_helpdesk_ext.W315" in found(check_deploy, **{**sound, "PST_HELPDESK": nowhere})
    inline = {**pst, "SYNC_SERVER_SECRET_KEY": "s" * 40, "SYNC_SERVER_PUBLIC_KEY": "p" * 40}
    assert found(check_deploy, **{**sound, "PST_HELPDESK": inline}) == {}
    default_from = found(check_deploy, **{**sound, "DEFAULT_FROM_EMAIL": "webmaster@localhost"})
    assert "NO QUEUE EMAIL ADDRESS DEFINED" in default_from["pst_helpdesk_ext.W318"].msg


@pytest.mark.django_db
def test_database_checks_name_the_queues_without_a_sender():
    from pst_helpdesk_ext.services.branches import create_branch

    create_branch("1222", "Labuhanbatu Selatan")
    create_branch("1201", "Nias", email="pst1201@bps.go.id")
    warnings = {e.id: e for e in check_install_database(databases=["default"])}
    assert "pst-1222" in warnings["pst_helpdesk_ext.W317"].msg
    assert "pst-1201" not in warnings["pst_helpdesk_ext.W317"].msg

    call_command("pst_branch", "set-email", "1222", "pst1222@bps.go.id")
    from helpdesk.models import Queue

    Queue.objects.filter(email_address__isnull=True).update(email_address="pst@bps.go.id")
    assert check_install_database(databases=["default"]) == []


@pytest.mark.django_db
def test_pst_branch_refuses_a_bad_queue_address_and_adds_nothing():
    from pst_helpdesk_ext.models import Branch

    with pytest.raises(CommandError, match=r"email: pst-at-bps " + NOT_AN_ADDRESS):
        call_command("pst_branch", "add", "1222", "Labuhanbatu Selatan", "--email", "pst-at-bps")
    assert not Branch.objects.filter(code="1222").exists()
    call_command("pst_branch", "add", "1222", "Labuhanbatu Selatan", "--email", "pst@bps.go.id")
    assert Branch.objects.get(code="1222").queue.email_address == "pst@bps.go.id"
    with pytest.raises(CommandError, match=r"email: nope " + NOT_AN_ADDRESS):
        call_command("pst_branch", "set-email", "1222", "nope")
    assert Branch.objects.get(code="1222").queue.email_address == "pst@bps.go.id"


@pytest.mark.django_db
def test_the_schema_is_titled_without_spectacular_settings(client, settings):
    from django.contrib.auth.models import User

    del settings.SPECTACULAR_SETTINGS
    client.force_login(User.objects.create_user("s", password="x", is_staff=True))
    schema = client.get("/api/pst/schema/", {"format": "json"}).json()
    assert schema["info"]["title"] == "PST helpdesk API"
    assert schema["info"]["version"] == "1"


@pytest.mark.django_db
def test_drf_spectacular_deploy_check_has_nothing_to_say_about_the_plugin():
    from drf_spectacular.checks import schema_check

    assert [w.msg for w in schema_check(None) if "pst_helpdesk_ext" in w.msg] == []

import os

import pytest


def pytest_report_header(config):
    url = os.environ.get("PST_TEST_DATABASE_URL")
    return f"PST database: {'PostgreSQL ' + url if url else 'SQLite (in memory)'}"


@pytest.fixture(autouse=True, scope="session")
def _database_is_what_was_asked(django_db_setup, django_db_blocker):
    """Fail loudly, never skip, when PST_TEST_DATABASE_URL names a database we did not get."""
    if not os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres"):
        return
    from django.db import connection

    assert connection.vendor == "postgresql", "PST_TEST_DATABASE_URL asked for PostgreSQL"


def _central() -> bool:
    from django.conf import settings

    return "helpdesk" in settings.INSTALLED_APPS


def pytest_collection_modifyitems(config, items):
    """Central suite: every transactional test restores the migrations' seeded rows (helpdesk's
    e-mail templates, channels, service categories and standards), i.e. runs with
    ``serialized_rollback``. Mixing the two kinds breaks the next serialized test: a plain
    transactional flush re-runs ``post_migrate``, and the restore then collides with the content
    types it made."""
    if not _central():
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker is not None
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            serialized = pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True})
            item.add_marker(serialized, append=False)


@pytest.fixture(autouse=True, scope="session")
def _serialized_rows_on_every_connection(django_db_setup, django_db_blocker):
    """The serialized seeded rows, visible from every connection object of the default alias.

    Playwright's sync API runs test code in another context, where ``connections["default"]`` is
    another object (same in-memory database) without ``_test_serialized_contents``: Django's
    restore would then silently do nothing and its flush would re-run ``post_migrate``. Set on the
    wrapper class, every object has the rows."""
    if not _central():
        return
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    rows = getattr(connection, "_test_serialized_contents", None)
    if rows is not None:
        type(connection)._test_serialized_contents = rows


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: the public rate limits count in it."""
    from django.core.cache import cache

    cache.clear()
    yield

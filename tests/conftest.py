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

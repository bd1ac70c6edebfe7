"""Shared fixtures of the central suite."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections


@pytest.fixture(scope="session", autouse=True)
def migrated_rows(django_db_setup: Any, django_db_blocker: Any) -> str | None:
    """The rows the migrations seeded (helpdesk's e-mail templates, channels, service categories,
    service standards), as pytest-django serialized them for ``serialized_rollback``, taken once,
    before any test (and any Chromium) starts.

    Once Playwright's sync API runs, test code gets another ``connections["default"]`` object (the
    same in-memory database) without the serialized rows, so Django's own restore silently does
    nothing, and a transactional test that ran before (its flush) would leave no e-mail templates
    or channels behind: helpdesk would send no mail, walk-ins would find no channel.
    """
    return getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)


@pytest.fixture(autouse=True)
def restore_migrated_rows(request: pytest.FixtureRequest) -> None:
    """Django's ``serialized_rollback`` restore, done on the connection the test really uses, for
    every transactional test (``django_db(transaction=True)``, e.g. the browser tests against
    ``live_server``) whose tables an earlier transactional test's flush emptied. The flush re-ran
    ``post_migrate``, which made content types and permissions under new ids: they give way to
    the serialized ones, as Django's own restore (which inhibits that ``post_migrate``) would
    have it."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (
        marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback")
    ):
        return
    rows = request.getfixturevalue("migrated_rows")
    request.getfixturevalue("transactional_db")
    from django.contrib.contenttypes.models import ContentType
    from helpdesk.models import EmailTemplate

    if not rows or EmailTemplate.objects.exists():
        return
    ContentType.objects.all().delete()
    connection.creation.deserialize_db_from_string(rows)
    ContentType.objects.clear_cache()

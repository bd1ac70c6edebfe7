"""docs/operations.md, section 1, on PostgreSQL: ``pg_dump --format=custom`` of the live central
database and ``pg_restore --no-owner`` into a new database give back every visit, ticket and sync
mark. Runs under ``make test-postgres`` (PST_TEST_DATABASE_URL), with the real client tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from helpdesk.models import Ticket

from pst_helpdesk_ext.models import BranchSyncState, Visit
from pst_helpdesk_ext.services.branches import create_branch
from tests.security.test_web_security import NIK_A, NIK_B, walk_in

ON_POSTGRES = os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres")


def pg_env() -> dict[str, str]:
    settings = connection.settings_dict
    env = dict(os.environ)
    env.update(
        PGHOST=str(settings.get("HOST") or "127.0.0.1"),
        PGPORT=str(settings.get("PORT") or 5432),
        PGUSER=str(settings.get("USER") or "postgres"),
    )
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    return env


def run(*command: str) -> str:
    done = subprocess.run(command, env=pg_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]}: {done.stderr[-2000:]}"
    return done.stdout


def column(database: str, model: type, expression: str) -> list[str]:
    """``expression`` for every row of ``model``'s table in ``database``, sorted, via psql."""
    sql = f"SELECT {expression} FROM {model._meta.db_table} ORDER BY 1"  # noqa: S608 - our names
    return run("psql", "-X", "-q", "-t", "-A", "-d", database, "-c", sql).split()


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump/pg_restore: PostgreSQL (make test-postgres)")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pg_dump_and_pg_restore_give_back_every_visit(tmp_path: Path):
    walk_in(create_branch("1222", "Labuhanbatu Selatan"), NIK_A, seed=71)
    walk_in(create_branch("1201", "Nias"), NIK_B, seed=72)
    BranchSyncState.objects.filter(branch__code="1222").update(hwm_seq=6)
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "pst.dump"
    run("pg_dump", "--format=custom", f"--file={dump}", "-d", source)  # while connected

    scratch = f"pst_restore_check_{os.getpid()}"
    run("createdb", scratch)
    try:
        run("pg_restore", "--no-owner", f"--dbname={scratch}", str(dump))
        assert column(scratch, Visit, "origin_id") == sorted(
            Visit.objects.values_list("origin_id", flat=True)
        )
        assert column(scratch, Ticket, "count(*)") == [str(Ticket.objects.count())]
        assert "6" in column(scratch, BranchSyncState, "hwm_seq")
        # The restored database holds no full ID number either.
        dumped = run("pg_dump", "--data-only", "-d", scratch)
        assert NIK_A[:-4] not in dumped and NIK_B[:-4] not in dumped
    finally:
        run("dropdb", "--if-exists", scratch)

"""Shared pieces of the benchmarks: a throwaway central site on disk, result lines.

Every benchmark script prints its figures as one JSON object on its last line; bench/run.py
collects them into bench/results.json and prints a table. Process helpers (ports, agents, a
central site's environment) belong to the tests (``tests/support/processes.py``); the benchmarks
import them from there, and tests never import ``bench``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import (  # noqa: F401 - re-exported for the benchmark scripts
    MANAGE,
    ROOT,
    agent_env,
    allow_fast_kiosk,
    central_env,
    free_port,
    kiosk_answers,
    start_agent,
    temp_dir,
    wait_for_port,
    wait_until_answers,
)

_scratch = itertools.count(1)


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[str | None]:
    """A new, empty PostgreSQL database for one measurement when PST_BENCH_DATABASE_URL names a
    server (dropped afterwards), else None (the site uses its own fresh SQLite file). Never a
    database used before: a flushed one has lost the rows the migrations seed."""
    url = os.environ.get("PST_BENCH_DATABASE_URL")
    if not url:
        yield None
        return
    from tests.support.chaos import Postgres

    pg = Postgres(url)
    name = f"{prefix}_{os.getpid()}_{next(_scratch)}"
    try:
        yield pg.create(name)
    finally:
        try:
            pg.drop(name)
        except Exception as exc:  # cleanup must not hide the result
            print(f"could not drop database {name}: {exc}", file=sys.stderr)


def prepare_central(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """Migrate a fresh central site and load the demo data; returns its environment. Its
    database: ``database_url`` (a scratch_database()), else SQLite in data_dir."""
    env = central_env(data_dir)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [sys.executable, str(MANAGE), "pst_demo_data", "--quiet-logins", "--without-day"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def emit(figures: dict[str, float]) -> None:
    """The last line of every benchmark: its figures as JSON."""
    print(json.dumps(figures), flush=True)


def database_label(url: str | None) -> str:
    return "PostgreSQL" if url else "SQLite"


def count_rows(url: str | None, sqlite_path: Path | None = None) -> int:
    """Rows in every table of the central database: what a run wrote is the difference."""
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            return sum(
                conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
                for name in tables
            )
    assert sqlite_path is not None
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return sum(
            conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in tables
        )
    finally:
        conn.close()


# One row of the bare table: about the width of the rows the intake writes (ids, a time, text).
_CEILING_COLUMNS = "id bigint, ref uuid, at timestamptz, kind text, body text"


def max_ids(url: str) -> dict[str, int]:
    """PostgreSQL: each public table with an integer ``id`` column and its largest id (0 if
    empty). Rows a run inserts have larger ids (they come from the tables' sequences)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND column_name = 'id' AND data_type IN ('integer', 'bigint')"
            ).fetchall()
        ]
        return {
            name: conn.execute(f'SELECT coalesce(max(id), 0) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in tables
        }


def schema_ceiling_seconds(url: str, before: dict[str, int]) -> tuple[float, int]:
    """PostgreSQL: the rows a run inserted (ids above ``before``, from ``max_ids``) written again,
    each table's by one binary COPY into a copy of that table with its indexes, defaults and
    checks (``LIKE ... INCLUDING ALL``; not its foreign keys), all in one transaction: seconds
    and rows. The database's own cost for exactly these rows in this schema, below which no
    intake can go; the bare-table ceiling leaves out the indexes too."""
    import psycopg

    data: dict[str, bytes] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, last in before.items():
            buffer = bytearray()
            query = f'COPY (SELECT * FROM "{table}" WHERE id > {int(last)} ORDER BY id) TO STDOUT (FORMAT BINARY)'  # noqa: S608, E501
            with conn.cursor() as cur, cur.copy(query) as copy:
                for chunk in copy:
                    buffer += chunk
            if len(buffer) > 21:  # the binary header and trailer alone: no rows
                data[table] = bytes(buffer)
        rows = sum(
            conn.execute(f'SELECT count(*) FROM "{t}" WHERE id > {int(before[t])}').fetchone()[0]  # noqa: S608
            for t in data
        )
    clones = {table: f"bench_schema_{n}" for n, table in enumerate(data)}
    with psycopg.connect(url) as conn:
        for table, clone in clones.items():
            conn.execute(f'DROP TABLE IF EXISTS "{clone}"')  # left by a run that was killed
            conn.execute(f'CREATE TABLE "{clone}" (LIKE "{table}" INCLUDING ALL)')
        conn.commit()
        try:
            started = time.perf_counter()
            for table, clone in clones.items():
                with (
                    conn.cursor() as cur,
                    cur.copy(f'COPY "{clone}" FROM STDIN (FORMAT BINARY)') as copy,
                ):
                    copy.write(data[table])
            conn.commit()
            seconds = time.perf_counter() - started
        finally:
            conn.rollback()
            for clone in clones.values():
                conn.execute(f'DROP TABLE IF EXISTS "{clone}"')
            conn.commit()
    return seconds, rows


def ceiling_seconds(url: str | None, rows: int, sqlite_path: Path | None = None) -> float:
    """The database's own limit on this machine: seconds to write ``rows`` rows into a bare
    table (no index, no constraint) in one transaction: PostgreSQL's COPY, or on SQLite one
    executemany. The table is dropped afterwards."""
    rows = max(rows, 1)
    body = "Data kemiskinan per kecamatan, tabel diberikan kepada pengunjung."
    stamp = "2026-03-17 08:00:00+07"
    if url:
        import psycopg

        buffer = io.StringIO()
        for n in range(rows):
            buffer.write(f"{n}\t{uuid.uuid4()}\t{stamp}\tvisit.created\t{body}\n")
        data = buffer.getvalue()
        with psycopg.connect(url) as conn:
            conn.execute(f"CREATE TABLE bench_ceiling ({_CEILING_COLUMNS})")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY bench_ceiling FROM STDIN") as copy:
                copy.write(data)
            conn.commit()
            seconds = time.perf_counter() - started
            conn.execute("DROP TABLE bench_ceiling")
            conn.commit()
        return seconds
    assert sqlite_path is not None
    values = [(n, str(uuid.uuid4()), stamp, "visit.created", body) for n in range(rows)]
    conn = sqlite3.connect(sqlite_path, timeout=30)
    try:
        conn.execute("CREATE TABLE bench_ceiling (id, ref, at, kind, body)")
        conn.commit()
        started = time.perf_counter()
        conn.executemany("INSERT INTO bench_ceiling VALUES (?, ?, ?, ?, ?)", values)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_ceiling")
        conn.commit()
        return seconds
    finally:
        conn.close()

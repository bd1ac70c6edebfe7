"""PostgreSQL's side of the bulk insert engine (``bulk_insert``): what one intake batch writes
together, in few round trips.

What it owns:
- ``insert_together(counts)``: inside it, the new rows of the models counted take ids reserved
  up front (one statement; each table's id sequence looked up once per process) and are written
  at the end, each table's by one binary ``COPY`` (``copy_rows``), the loaded rows' updates
  (``update_from_arrays``) in one more statement. ``TOGETHER`` holds the block's ``Together``.
- ``binary_cursor``: a Django-wrapped psycopg 3 cursor that binds on the server, in binary.
- ``copy_rows``/``copyable``: one table's rows by binary ``COPY`` (also ``RowInserter``'s path
  for rows whose ids nobody reads, outside ``insert_together``: the ledger, the down-feed).

Rules: only identifiers from the models' meta are written into SQL (quoted); every value is a
bound parameter or COPY data; errors are Django's (the sync store tells transient faults from
poison ops by them); on SQLite, or nested, ``insert_together`` changes nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DataError, connections, router


@contextmanager
def binary_cursor(connection: Any, sql: str) -> Iterator[Any]:
    """A cursor that binds its parameters on the server, in binary (PostgreSQL, psycopg 3).

    Django's own cursor binds on the client: it turns each array of a batch into SQL text in
    Python, escaping every element with a regular expression, which cost more of the intake's
    CPU than building the rows. Binary arrays are packed without escaping. Nothing is prepared
    (Django's connections have no ``prepare_threshold``; preparing the intake's statements was
    measured and saved nothing: planning is not their cost). Wrapped as Django wraps its
    cursors: errors are ``django.db`` errors and execute wrappers run; with query logging on
    (``DEBUG``, ``CaptureQueriesContext``) the statement is logged as Django logs its own,
    without its parameters.
    """
    import psycopg

    connection.ensure_connection()
    cursor = connection.make_cursor(psycopg.Cursor(connection.connection))
    started = time.monotonic()
    try:
        with cursor:
            yield cursor
    finally:
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


class Together:
    """Inserts queued inside ``insert_together`` (PostgreSQL): their ids reserved up front, the
    rows written at the end, each table's by one ``COPY ... FROM STDIN (FORMAT BINARY)`` and the
    loaded rows' updates in one statement."""

    def __init__(self, connection: Any, reserved: dict[type[Any], list[int]]) -> None:
        self.connection = connection
        self.reserved = reserved
        # (table, columns, their database types, one list of values per column)
        self.copies: list[tuple[str, list[str], list[str], list[list[Any]]]] = []
        self.parts: list[str] = []
        self.params: list[Any] = []

    def take(self, model: type[Any], count: int) -> list[int] | None:
        """The ids reserved for ``count`` new rows of ``model``; None if not reserved so."""
        ids = self.reserved.get(model)
        if ids is None or len(ids) != count:
            return None
        del self.reserved[model]
        return ids

    def queue_rows(
        self, table: str, columns: list[str], types: list[str], arrays: list[list[Any]]
    ) -> None:
        if all(copyable(db_type) for db_type in types):
            self.copies.append((table, columns, types, arrays))
            return
        # A column type psycopg cannot write in binary: an INSERT of arrays, as before.
        quote = self.connection.ops.quote_name
        names = ", ".join(quote(c) for c in columns)
        unnest = ", ".join(f"(%b)::{db_type}[]" for db_type in types)
        # Only identifiers from the model's meta, quoted; every value is a bound parameter.
        sql = f"INSERT INTO {quote(table)} ({names}) SELECT * FROM UNNEST({unnest})"  # noqa: S608
        self.queue(sql, arrays)

    def queue(self, sql: str, params: list[Any]) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def flush(self) -> None:
        """Write what is queued: each table's new rows by a binary ``COPY`` (the database's own
        bulk path: no statement to plan, no array to unpack, and values packed by psycopg's C
        code), then the rest (the loaded rows' updates) in one statement, each part but the last
        in a WITH clause (PostgreSQL runs every data-modifying WITH clause once, whether read or
        not). Rows point at each other by the reserved ids; Django's foreign keys are checked at
        commit (DEFERRABLE INITIALLY DEFERRED), so the order of the writes does not matter."""
        copies, self.copies = self.copies, []
        for table, columns, types, arrays in copies:
            copy_rows(self.connection, table, columns, types, arrays)
        if not self.parts:
            return
        *first, last = self.parts
        sql = ", ".join(f"w{index} AS ({part})" for index, part in enumerate(first))
        sql = f"WITH {sql} {last}" if first else last
        params, self.parts, self.params = self.params, [], []
        with binary_cursor(self.connection, sql) as cursor:
            cursor.execute(sql, params)


@functools.cache
def copyable(db_type: str) -> bool:
    """Whether psycopg knows ``db_type`` (a column's type as Django declares it) by name."""
    import psycopg.postgres

    return psycopg.postgres.types.get(db_type) is not None


# Binary COPY packs these in their width without a check: the bounds are checked first.
_INT_BOUNDS = {"smallint": 2**15, "int2": 2**15, "integer": 2**31, "int4": 2**31}


def copy_rows(
    connection: Any, table: str, columns: list[str], types: list[str], arrays: list[list[Any]]
) -> None:
    """``COPY table (columns) FROM STDIN (FORMAT BINARY)`` of the rows (values by column),
    through Django's cursor: its error wrapping (a lost connection is an OperationalError, as
    the sync store expects) and execute wrappers (counted and logged as a statement)."""
    for column, db_type, values in zip(columns, types, arrays, strict=True):
        bound = _INT_BOUNDS.get(db_type)
        numbers = [value for value in values if value is not None] if bound else ()
        if numbers and not -bound <= min(numbers) <= max(numbers) < bound:
            # A cast refuses these; binary COPY would wrap them around (2**31 -> -2**31).
            raise DataError(f"{table}.{column}: a value is out of range for {db_type}")
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    # Only identifiers from the model's meta, quoted; the values travel as COPY data.
    sql = f"COPY {quote(table)} ({names}) FROM STDIN (FORMAT BINARY)"
    rows = list(zip(*arrays, strict=True))

    def copy(sql: str, params: Any, many: bool, context: Any) -> None:
        with context["cursor"].cursor.copy(sql) as stream:
            stream.set_types(types)
            write = stream.write_row
            for row in rows:
                write(row)

    with binary_cursor(connection, sql) as cursor, connection.wrap_database_errors:
        cursor._execute_with_wrappers(sql, None, False, copy)


TOGETHER: ContextVar[Together | None] = ContextVar("pst_insert_together", default=None)


# (database alias, table, id column) -> the id's sequence (schema-qualified name), or None.
_SEQUENCES: dict[tuple[str, str, str], str | None] = {}


def _sequences(connection: Any, models: list[type[Any]]) -> dict[type[Any], str | None]:
    """Each model's id sequence, looked up once per process (one statement for those not known
    yet). Looked up again in the statement that reserves, ``pg_get_serial_sequence`` reads the
    catalogs once per id: 26 ms for 4,000 ids instead of 3."""
    key = {m: (connection.alias, m._meta.db_table, m._meta.pk.column) for m in models}
    unknown = [m for m in models if key[m] not in _SEQUENCES]
    if unknown:
        quote = connection.ops.quote_name
        sql = "SELECT " + ", ".join(["pg_get_serial_sequence(%b, %b)"] * len(unknown))
        params: list[Any] = []
        for model in unknown:
            params += [quote(model._meta.db_table), model._meta.pk.column]
        with binary_cursor(connection, sql) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        for model, name in zip(unknown, row, strict=True):
            _SEQUENCES[key[model]] = name
    return {m: _SEQUENCES[key[m]] for m in models}


def _reserve_ids(connection: Any, counts: dict[type[Any], int]) -> dict[type[Any], list[int]]:
    """``count`` ids from each model's id sequence, in one statement; a model whose id has no
    sequence is left out (its rows are then inserted as usual, taking ids on insert)."""
    named = {m: n for m, n in _sequences(connection, list(counts)).items() if n is not None}
    if not named:
        return {}
    arrays = ", ".join(
        ["ARRAY(SELECT nextval(%b::regclass) FROM generate_series(1, %b))"] * len(named)
    )
    params: list[Any] = []
    for model, name in named.items():
        params += [name, counts[model]]
    sql = f"SELECT {arrays}"
    with binary_cursor(connection, sql) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {
        model: sorted(ids) for model, ids in zip(named, row, strict=True) if ids and None not in ids
    }


@contextmanager
def insert_together(counts: dict[type[Any], int]) -> Iterator[None]:
    """Inside, on PostgreSQL, the bulk inserts of new rows of the models in ``counts`` (model ->
    how many rows it will insert inside) take ids reserved up front, in one statement, and are
    written together in one statement when the block ends: two round trips for every table of
    an intake batch instead of one per table. Ids are set on the rows as before, so children
    read their parents' ids as they did. An insert that was not reserved so (another count, ON
    CONFLICT, another database) is written at once, after what was queued. On SQLite (no round
    trips to save) and when nested, each insert is written at once, as outside."""
    counts = {model: count for model, count in counts.items() if count}
    connection = connections[router.db_for_write(next(iter(counts)))] if counts else None
    if connection is None or connection.vendor != "postgresql" or TOGETHER.get() is not None:
        yield
        return
    together = Together(connection, _reserve_ids(connection, counts))
    token = TOGETHER.set(together)
    try:
        yield
        together.flush()
    finally:
        TOGETHER.reset(token)


def update_from_arrays(
    model: type[Any], connection: Any, changed: list[tuple[Any, set[str]]], fields: list[str]
) -> tuple[str, list[Any]]:
    """``UPDATE ... FROM UNNEST(...)`` (PostgreSQL): the changed rows' values as one array per
    field, each value through its field's ``get_db_prep_save`` as ``bulk_update`` does."""
    meta = model._meta
    quote = connection.ops.quote_name
    targets = [meta.get_field(name) for name in fields]
    arrays: list[list[Any]] = [[obj.pk for obj, _f in changed]]
    for f in targets:
        prep = f.get_db_prep_save
        arrays.append([prep(getattr(obj, f.attname), connection) for obj, _f in changed])
    types = [f.db_type(connection).split("(")[0] for f in [meta.pk, *targets]]
    unnest = ", ".join(f"(%b)::{db_type}[]" for db_type in types)
    names = ", ".join(f"c{index}" for index in range(len(targets)))
    assignments = ", ".join(f"{quote(f.column)} = v.c{index}" for index, f in enumerate(targets))
    table = quote(meta.db_table)
    # Only identifiers from the model's meta, quoted; every value is a bound parameter.
    sql = (
        f"UPDATE {table} SET {assignments} FROM UNNEST({unnest}) AS v(k, {names}) "  # noqa: S608
        f"WHERE {table}.{quote(meta.pk.column)} = v.k"
    )
    return sql, arrays

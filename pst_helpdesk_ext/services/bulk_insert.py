"""The raw-SQL bulk insert engine: many rows of one model in a few statements, without building
model instances. Used by the walk-in intake (tickets, PST rows, visits, ...), by the helpdesk
gateway (follow-ups and their ticket changes, written in bulk) and by the down-feed and the sync
store (their own rows).

What it owns, and the interface others rely on (keep it when optimising a backend):
- ``NewRow``: a row to insert, plain attributes named after the model's fields; after
  ``insert_rows`` its ``pk`` is set.
- ``RowInserter(model, fields=None, constants=None)``: ``insert(rows, returning=False,
  prepared=frozenset()) -> list[int]`` inserts value tuples (in ``fields`` order) and returns
  the new ids in row order when ``returning``. Values go through their field's
  ``get_db_prep_save`` (except the types both drivers take as they are).
- ``insert_rows(model, rows)``: insert ``NewRow`` objects, give each its id; relations may hold
  a ``NewRow`` inserted earlier in the same flush, or a model instance.
- ``id_of(row, relation)``: the id a loaded or new row points at.
- ``bulk_update(model, [(obj, changed_fields), ...])``: one UPDATE for the changed rows.

Rules: every value is a bound parameter, only identifiers from the model's meta are written into
SQL (quoted); like ``bulk_create`` no signals are sent and no ``save()`` is called; ids come back
in row order (parents are inserted before the children that read their ids).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router


class NewRow:
    """A row to insert, as plain attributes named after its model's fields (a relation holds the
    related row or model instance; its id is read when this row is inserted). A batch makes
    thousands of these; model instances would cost ten times as much to build."""

    pk: int | None = None

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# A loaded model instance or a NewRow: both are read and written through the same attributes.
Row = Any

# Field types whose Python values both drivers (sqlite3, psycopg) take as they are.
_AS_IS = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "BooleanField",
        "ForeignKey",
        "OneToOneField",
    }
)


class RowInserter:
    """Multi-row ``INSERT ... RETURNING id`` for one model, without building model instances.

    Why not ``bulk_create``: it costs about a millisecond per visit in model instantiation and
    per-value SQL compilation, which alone would cap the intake below its target. This writes
    the same columns with the same values: each value goes through its field's own
    ``get_db_prep_save`` (skipped for the types the drivers take as they are; a value repeated in
    a column is converted once), ``constants`` are columns with one value for every row, columns
    not named take their field's default (which must then be a constant), statements are cut to
    the backend's parameter limit, and ids come back in row order, as ``bulk_create`` relies on.
    Like ``bulk_create`` it sends no signals and calls no ``save()``.
    """

    def __init__(
        self,
        model: type[Any],
        fields: Sequence[str] | None = None,
        constants: dict[str, Any] | None = None,
    ) -> None:
        meta = model._meta
        concrete = [f for f in meta.concrete_fields if not f.primary_key]
        named = concrete if fields is None else [meta.get_field(name) for name in fields]
        fixed = {meta.get_field(name): value for name, value in (constants or {}).items()}
        for f in concrete:
            if f in named or f in fixed:
                continue
            if f.has_default() and callable(f.default):
                raise ImproperlyConfigured(
                    f"{model.__name__}.{f.name}: its default differs per row; name it"
                )
            fixed[f] = f.get_default()
        self.model = model
        self.named = named
        self.fixed = list(fixed.items())
        self.columns = [f.column for f in named] + [f.column for f, _value in self.fixed]
        self.table = meta.db_table
        self.pk_column = meta.pk.column

    def insert(
        self,
        rows: Sequence[Sequence[Any]],
        *,
        returning: bool = False,
        prepared: frozenset[str] = frozenset(),
        skip_conflicts_on: Sequence[str] = (),
        returning_field: str = "",
    ) -> list[Any]:
        """Insert ``rows`` (values of the named fields, in order); the new ids if ``returning``.
        Fields in ``prepared`` hold values already in their database form.

        ``skip_conflicts_on`` (field names of a unique constraint): a row that would break it is
        left out (``ON CONFLICT (...) DO NOTHING``) in the same statement; with ``returning`` the
        answer then holds only the rows inserted. ``returning_field``: return that field's
        database values instead of the ids (the caller maps them back)."""
        if not rows:
            return []
        # The real connection, not the ``django.db.connection`` proxy: tens of thousands of
        # field conversions each look it up.
        connection = connections[router.db_for_write(self.model)]
        if returning and not connection.features.can_return_rows_from_bulk_insert:
            raise ImproperlyConfigured(
                "The walk-in intake needs a database that returns ids from a bulk insert "
                "(PostgreSQL, or SQLite 3.35 or later)."
            )
        constant = [_once(f.get_db_prep_save(value, connection)) for f, value in self.fixed]
        adapt_datetime = connection.ops.adapt_datetimefield_value
        columns: list[list[Any]] = []
        for index, f in enumerate(self.named):
            raw = [row[index] for row in rows]
            kind = f.get_internal_type()
            if kind in _AS_IS or f.name in prepared:
                columns.append(raw)
                continue
            converted: dict[Any, Any] = {}
            column = []
            for value in raw:
                try:
                    column.append(converted[value])
                except (KeyError, TypeError):  # new, or unhashable (a JSON list)
                    if kind == "DateTimeField" and isinstance(value, dt.datetime) and value.tzinfo:
                        # What the field's get_db_prep_save does to an aware datetime, minus
                        # its checks for naive ones.
                        db_value = adapt_datetime(value)
                    else:
                        db_value = f.get_db_prep_save(value, connection)
                    column.append(db_value)
                    if isinstance(value, dt.datetime | uuid.UUID | str | int):
                        converted[value] = db_value
            columns.append(column)
        quote = connection.ops.quote_name
        # Only identifiers from the model's meta, quoted; every value is a bound parameter.
        names = ", ".join(quote(c) for c in self.columns)
        head = f"INSERT INTO {quote(self.table)} ({names}) "
        meta = self.model._meta
        tail = ""
        if skip_conflicts_on:
            target = ", ".join(quote(meta.get_field(name).column) for name in skip_conflicts_on)
            tail += f" ON CONFLICT ({target}) DO NOTHING"
        if returning:
            column = meta.get_field(returning_field).column if returning_field else self.pk_column
            tail += f" RETURNING {quote(column)}"
        ids: list[Any] = []
        if connection.vendor == "postgresql":
            # One array per column, as Django's own bulk_create does on PostgreSQL: the client
            # binds a handful of parameters instead of parsing a statement with thousands.
            types = [
                f.db_type(connection).split("(")[0]
                for f in [*self.named, *(f for f, _ in self.fixed)]
            ]
            arrays = columns + [[value] * len(rows) for value in constant]
            together = _TOGETHER.get()
            if together is not None and together.connection is connection:
                plain = not skip_conflicts_on and not returning_field
                reserved = together.take(self.model, len(rows)) if plain else None
                if reserved is not None:
                    # Ids reserved up front: queued, written with the others at the end.
                    pk_type = meta.pk.db_type(connection).split("(")[0]
                    together.queue_rows(
                        self.table,
                        [self.pk_column, *self.columns],
                        [pk_type, *types],
                        [reserved, *arrays],
                    )
                    return list(reserved) if returning else []
                if plain and not returning:
                    # Nobody reads these rows' ids: queued too, taking their ids on insert.
                    together.queue_rows(self.table, self.columns, types, arrays)
                    return []
                together.flush()  # what was queued first is written first
            unnest = ", ".join(f"(%b)::{db_type}[]" for db_type in types)
            sql = f"{head}SELECT * FROM UNNEST({unnest}){tail}"  # noqa: S608
            with _binary_cursor(connection, sql) as cursor:
                cursor.execute(sql, arrays)
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
            return ids
        values = [[*row, *constant] for row in zip(*columns, strict=True)]
        placeholders = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        max_params = connection.features.max_query_params or 30_000
        per_statement = max(1, max_params // len(self.columns))
        with connection.cursor() as cursor:
            for start in range(0, len(values), per_statement):
                chunk = values[start : start + per_statement]
                params = [value for row in chunk for value in row]
                cursor.execute(
                    head + "VALUES " + ", ".join([placeholders] * len(chunk)) + tail, params
                )
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
        return ids


def _once(value: Any) -> Any:
    """A column's one value for every row, serialised once: a JSON value (a follow-up's empty
    ``email_recipients``) would otherwise go through ``json.dumps`` once per row."""
    dumps = getattr(value, "dumps", None)
    if dumps is None or not hasattr(value, "obj"):
        return value
    text = dumps(value.obj)
    return type(value)(value.obj, dumps=lambda _obj: text)


@contextmanager
def _binary_cursor(connection: Any, sql: str) -> Iterator[Any]:
    """A cursor that binds its parameters on the server, in binary (PostgreSQL, psycopg 3).

    Django's own cursor binds on the client: it turns each array of a batch into SQL text in
    Python, escaping every element with a regular expression, which cost more of the intake's
    CPU than building the rows. Binary arrays are packed without escaping, and a statement the
    connection runs again and again (one per table and batch size) is prepared by psycopg after
    a few runs. Wrapped as Django wraps its cursors: errors are ``django.db`` errors and
    execute wrappers run; with query logging on (``DEBUG``, ``CaptureQueriesContext``) the
    statement is logged as Django logs its own, without its parameters.
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


class _Together:
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
        if all(_copy_type(db_type) for db_type in types):
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
            _copy_rows(self.connection, table, columns, types, arrays)
        if not self.parts:
            return
        *first, last = self.parts
        sql = ", ".join(f"w{index} AS ({part})" for index, part in enumerate(first))
        sql = f"WITH {sql} {last}" if first else last
        params, self.parts, self.params = self.params, [], []
        with _binary_cursor(self.connection, sql) as cursor:
            cursor.execute(sql, params)


@functools.cache
def _copy_type(db_type: str) -> bool:
    """Whether psycopg knows ``db_type`` (a column's type as Django declares it) by name."""
    import psycopg.postgres

    return psycopg.postgres.types.get(db_type) is not None


def _copy_rows(
    connection: Any, table: str, columns: list[str], types: list[str], arrays: list[list[Any]]
) -> None:
    """``COPY table (columns) FROM STDIN (FORMAT BINARY)`` of the rows (values by column),
    through Django's cursor: its error wrapping (a lost connection is an OperationalError, as
    the sync store expects) and execute wrappers (counted and logged as a statement)."""
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

    with _binary_cursor(connection, sql) as cursor, connection.wrap_database_errors:
        cursor._execute_with_wrappers(sql, None, False, copy)


_TOGETHER: ContextVar[_Together | None] = ContextVar("pst_insert_together", default=None)


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
        with _binary_cursor(connection, sql) as cursor:
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
    with _binary_cursor(connection, sql) as cursor:
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
    if connection is None or connection.vendor != "postgresql" or _TOGETHER.get() is not None:
        yield
        return
    together = _Together(connection, _reserve_ids(connection, counts))
    token = _TOGETHER.set(together)
    try:
        yield
        together.flush()
    finally:
        _TOGETHER.reset(token)


_ROW_INSERTERS: dict[type[Any], RowInserter] = {}
_MISSING = object()


def insert_rows(model: type[Any], rows: Sequence[NewRow]) -> None:
    """Insert new rows of ``model`` and give each its id. A field the row does not name takes
    its default (a callable one, like a ticket's secret key, is called for each row)."""
    if not rows:
        return
    inserter = _ROW_INSERTERS.get(model)
    if inserter is None:
        inserter = _ROW_INSERTERS[model] = RowInserter(model)
    plan = []
    for f in inserter.named:
        default = f.get_default if f.has_default() and callable(f.default) else None
        plan.append((f.name, f.attname if f.is_relation else None, default, f.get_default()))
    values = []
    for row in rows:
        given = row.__dict__
        record = []
        for name, attname, default, constant in plan:
            value = given.get(name, _MISSING)
            if attname is not None:
                if value is _MISSING:
                    value = given.get(attname, _MISSING)
                elif value is not None:
                    value = value.pk
            if value is _MISSING:
                value = default() if default is not None else constant
            record.append(value)
        values.append(record)
    for row, pk in zip(rows, inserter.insert(values, returning=True), strict=True):
        row.pk = pk


def id_of(row: Row, relation: str) -> int | None:
    """The id a (loaded or new) row points at through ``relation``."""
    if isinstance(row, NewRow):
        related = row.__dict__.get(relation)
        return related.pk if related is not None else row.__dict__.get(f"{relation}_id")
    return getattr(row, f"{relation}_id")  # type: ignore[no-any-return]


def bulk_update(model: type[Any], rows: Iterable[tuple[Any, set[str]]]) -> None:
    """One UPDATE for all changed rows of a model, over the union of their changed fields.

    The rows were read under a row lock in this transaction, so writing an unchanged field back
    writes the value that is there.
    """
    changed = [(obj, fields) for obj, fields in rows if fields]
    if not changed:
        return
    fields = sorted(set().union(*(fields for _obj, fields in changed)))
    together = _TOGETHER.get()
    if together is not None and together.connection is connections[router.db_for_write(model)]:
        # Queued with the batch's inserts: written in their statement (other rows than those).
        together.queue(*_update_from_arrays(model, together.connection, changed, fields))
        return
    if len(changed) == 1:
        # Usually just the visit that straddles two batches: a plain UPDATE is cheaper to build
        # than bulk_update's CASE expression, and still one query.
        obj = changed[0][0]
        attnames = [model._meta.get_field(name).attname for name in fields]
        values = {attname: getattr(obj, attname) for attname in attnames}
        model.objects.filter(pk=obj.pk).update(**values)
        return
    model.objects.bulk_update([obj for obj, _f in changed], fields)


def _update_from_arrays(
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

"""The raw-SQL bulk insert engine: many rows of one model in a few statements, without building
model instances. Used by the walk-in intake (tickets, PST rows, visits, ...), by the helpdesk
gateway (follow-ups and their ticket changes, written in bulk) and by the down-feed and the sync
store (their own rows).

What it owns, and the interface others rely on (keep it when optimising a backend):
- ``NewRow``: a row to insert, plain attributes named after the model's fields; after
  ``insert_rows`` its ``pk`` is set.
- ``RowInserter(model, fields=None, constants=None)``: ``insert(rows, returning=False,
  prepared=frozenset()) -> list[int]`` inserts value tuples (in ``fields`` order) and returns
  the new ids in row order when ``returning``; ``insert_columns`` takes the same values by
  column. Values go through their field's ``get_db_prep_save`` (except the types both drivers
  take as they are). On PostgreSQL, rows whose ids nobody reads go by binary ``COPY``.
- ``insert_rows(model, rows)``: insert ``NewRow`` objects, give each its id; relations may hold
  a ``NewRow`` inserted earlier in the same flush, or a model instance.
- ``id_of(row, relation)``: the id a loaded or new row points at.
- ``bulk_update(model, [(obj, changed_fields), ...])``: one UPDATE for the changed rows.

On PostgreSQL, inside ``bulk_together.insert_together`` (the intake's batches), inserts of new
rows are queued and written together at the end: that module owns that path.

Rules: every value is a bound parameter, only identifiers from the model's meta are written into
SQL (quoted); like ``bulk_create`` no signals are sent and no ``save()`` is called; ids come back
in row order (parents are inserted before the children that read their ids).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router

from pst_helpdesk_ext.services.bulk_together import (
    TOGETHER,
    binary_cursor,
    copy_rows,
    copyable,
    update_from_arrays,
)


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
    ) -> list[Any]:
        """Insert ``rows`` (values of the named fields, in order); the new ids if ``returning``.
        Fields in ``prepared`` hold values already in their database form."""
        if not rows:
            return []
        columns = [list(column) for column in zip(*rows, strict=True)]
        return self.insert_columns(columns, returning=returning, prepared=prepared)

    def insert_columns(
        self,
        columns: list[list[Any]],
        *,
        returning: bool = False,
        prepared: frozenset[str] = frozenset(),
    ) -> list[Any]:
        """``insert`` for values given by column (one list per named field, all as long): what
        both backends send, so rows built column by column are never turned around twice."""
        count = len(columns[0]) if columns else 0
        if any(len(column) != count for column in columns):
            # PostgreSQL's UNNEST would pad the short ones with NULLs.
            raise ValueError(f"{self.model.__name__}: columns of different lengths")
        if len(columns) != len(self.named):
            raise ValueError(f"{self.model.__name__}: {len(self.named)} columns expected")
        if not count:
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
        converted_columns: list[list[Any]] = []
        for f, raw in zip(self.named, columns, strict=True):
            kind = f.get_internal_type()
            if kind in _AS_IS or f.name in prepared:
                converted_columns.append(raw)
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
            converted_columns.append(column)
        columns = converted_columns
        quote = connection.ops.quote_name
        # Only identifiers from the model's meta, quoted; every value is a bound parameter.
        names = ", ".join(quote(c) for c in self.columns)
        head = f"INSERT INTO {quote(self.table)} ({names}) "
        meta = self.model._meta
        tail = f" RETURNING {quote(self.pk_column)}" if returning else ""
        ids: list[Any] = []
        if connection.vendor == "postgresql":
            # One array per column, as Django's own bulk_create does on PostgreSQL: the client
            # binds a handful of parameters instead of parsing a statement with thousands.
            types = [
                f.db_type(connection).split("(")[0]
                for f in [*self.named, *(f for f, _ in self.fixed)]
            ]
            arrays = columns + [[value] * count for value in constant]
            together = TOGETHER.get()
            if together is not None and together.connection is connection:
                reserved = together.take(self.model, count)
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
                if not returning:
                    # Nobody reads these rows' ids: queued too, taking their ids on insert.
                    together.queue_rows(self.table, self.columns, types, arrays)
                    return []
                together.flush()  # what was queued first is written first
            elif not returning and all(map(copyable, types)):
                # Nobody reads these rows' ids: the database's bulk path (binary COPY), not an
                # INSERT of arrays that psycopg packs element by element in Python.
                copy_rows(connection, self.table, self.columns, types, arrays)
                return []
            unnest = ", ".join(f"(%b)::{db_type}[]" for db_type in types)
            sql = f"{head}SELECT * FROM UNNEST({unnest}){tail}"  # noqa: S608
            with binary_cursor(connection, sql) as cursor:
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
    # Column by column: one pass over the rows per field, in comprehensions, and the columns go
    # to the inserter as they are (both backends send columns).
    dicts = [row.__dict__ for row in rows]
    columns: list[list[Any]] = []
    for f in inserter.named:
        name = f.name
        column = [given.get(name, _MISSING) for given in dicts]
        if f.is_relation:
            attname = f.attname
            column = [
                given.get(attname, _MISSING)
                if value is _MISSING
                else (value if value is None else value.pk)
                for value, given in zip(column, dicts, strict=True)
            ]
        if any(value is _MISSING for value in column):
            if f.has_default() and callable(f.default):
                column = [f.get_default() if v is _MISSING else v for v in column]
            else:
                constant = f.get_default()
                column = [constant if v is _MISSING else v for v in column]
        columns.append(column)
    for row, pk in zip(rows, inserter.insert_columns(columns, returning=True), strict=True):
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
    together = TOGETHER.get()
    if together is not None and together.connection is connections[router.db_for_write(model)]:
        # Queued with the batch's inserts: written in their statement (other rows than those).
        together.queue(*update_from_arrays(model, together.connection, changed, fields))
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

"""Downloads of lists and reports: one table, three formats, streamed.

What it owns: turning a ``Table`` (human column labels, lazily produced rows, a method note) into
- **CSV** for the spreadsheet the user has: UTF-8 with a byte-order mark (Excel reads the accents),
  a choice of separator (semicolon for Indonesian-locale spreadsheets, where the comma is the
  decimal mark; comma; tab) and of decimal mark (comma or point). The defaults follow the page's
  language: Indonesian gets semicolon + decimal comma, English comma + decimal point;
- **XLSX** with the data sheet and a "Method" sheet (what the numbers mean, the filters, when and by
  whom it was made), written by openpyxl's write-only mode to a temporary file, so memory stays flat
  whatever the number of rows;
- **JSON**: ``{"columns": [...], "method": ..., "rows": [{key: value}]}``, numbers as numbers. JSON
  is for machines: a ``Coded`` cell (a kind, a branch) gives its code under the column's key, as
  the API does, and its label beside it under ``<key>_label``; CSV and XLSX show the label only.

CSV and JSON are generators (``StreamingHttpResponse``): a year of national data downloads while it
is read from the database (``QuerySet.iterator``), without a timeout or a memory spike.

Rules: no codes shown to people (the caller gives labels); numbers stay ``Decimal``/``int`` until a
format prints them; ``None`` is an empty cell. Personal data is the caller's business: it masks or
not by permission and calls ``log_personal_data_export`` when it does not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from django import forms
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

FORMATS: Final = ("csv", "xlsx", "json")
SEPARATORS: Final = {"semicolon": ";", "comma": ",", "tab": "\t"}
DECIMALS: Final = {"comma": ",", "point": "."}
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM: Final = "\ufeff"
ROWS_PER_CHUNK: Final = 500


@dataclass(frozen=True)
class Column:
    key: str  # JSON key, stable (English, snake_case)
    label: str  # what a person reads (translated)
    coded: bool = False  # its cells are ``Coded``: JSON gives the code and ``<key>_label``


@dataclass(frozen=True)
class Coded:
    """A cell with a stable code and the label people read: CSV and XLSX print ``label``; JSON
    gives ``code`` (what the API gives) and ``label`` under ``<key>_label``. ``code`` is None for
    a row that is no one group (a total's "All")."""

    code: str | None
    label: str

    def __str__(self) -> str:
        return str(self.label)


@dataclass
class Table:
    """What a download holds. ``rows`` may be a generator: it is read once."""

    name: str  # file stem and sheet title, e.g. "sla-2026-01-01-2026-03-31"
    title: str  # translated, e.g. "SLA compliance"
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    method: str = ""  # what the numbers mean (translated)
    filters: dict[str, str] = field(default_factory=dict)  # label -> value, for the method sheet


@dataclass(frozen=True)
class CsvDialect:
    separator: str
    decimal: str

    @classmethod
    def for_language(cls, language: str | None = None) -> CsvDialect:
        language = language or get_language() or "id"
        if language.startswith("en"):
            return cls(",", ".")
        return cls(";", ",")


class ExportForm(forms.Form):
    """The download part of a page's query string: ``format``, ``sep``, ``decimal``."""

    format = forms.ChoiceField(
        choices=[(f, f) for f in FORMATS],
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("Unknown format %(value)s; use csv, xlsx or json.")
        },
    )
    sep = forms.ChoiceField(
        label=gettext_lazy("CSV separator"),
        choices=[
            ("semicolon", gettext_lazy("semicolon (;)")),
            ("comma", gettext_lazy("comma (,)")),
            ("tab", gettext_lazy("tab")),
        ],
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy(
                "Unknown separator %(value)s; use semicolon, comma or tab."
            )
        },
    )
    decimal = forms.ChoiceField(
        label=gettext_lazy("Decimal mark"),
        choices=[("comma", gettext_lazy("comma (1,5)")), ("point", gettext_lazy("point (1.5)"))],
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy("Unknown decimal mark %(value)s; use comma or point.")
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        sep, decimal = data.get("sep"), data.get("decimal")
        if sep == "comma" and decimal == "comma":
            raise forms.ValidationError(
                gettext_lazy(
                    "A comma cannot be both the separator and the decimal mark; choose a "
                    "semicolon separator or a decimal point."
                ),
                code="ambiguous",
            )
        return data

    def dialect(self) -> CsvDialect:
        default = CsvDialect.for_language()
        data = self.cleaned_data
        separator = SEPARATORS[data["sep"]] if data.get("sep") else default.separator
        decimal = DECIMALS[data["decimal"]] if data.get("decimal") else None
        if decimal is None:
            decimal = "." if separator == "," else default.decimal
        return CsvDialect(separator, decimal)


def text(value: Any, decimal: str = ".") -> str:
    """One cell as CSV text: numbers with the chosen decimal mark, dates ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, Coded):
        return str(value.label)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (Decimal, float)):
        printed = format(value, "f") if isinstance(value, Decimal) else repr(round(value, 6))
        return printed.replace(".", decimal)
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
            if timezone.is_aware(value)
            else value.strftime("%Y-%m-%d %H:%M:%S")
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_chunks(table: Table, dialect: CsvDialect) -> Iterator[str]:
    """The CSV, BOM first, a chunk per ``ROWS_PER_CHUNK`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.separator, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([c.label for c in table.columns])
    for count, row in enumerate(table.rows, start=1):
        writer.writerow([text(value, dialect.decimal) for value in row])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_chunks(table: Table) -> Iterator[str]:
    """``{"title", "columns", "filters", "method", "rows": [...]}``, rows streamed."""
    head = {
        "title": table.title,
        "columns": [
            {"key": c.key, "label": c.label, **({"label_key": f"{c.key}_label"} if c.coded else {})}
            for c in table.columns
        ],
        "filters": table.filters,
        "method": table.method,
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": ['
    yield opening
    keys = [c.key for c in table.columns]
    first = True
    parts: list[str] = []
    for row in table.rows:
        item: dict[str, Any] = {}
        for key, value in zip(keys, row, strict=True):
            if isinstance(value, Coded):
                item[key], item[f"{key}_label"] = value.code, str(value.label)
            else:
                item[key] = _json_value(value)
        parts.append(("" if first else ",") + json.dumps(item, ensure_ascii=False))
        first = False
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts)
            parts = []
    parts.append("]}")
    yield "".join(parts)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Coded):
        return str(value.label)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def method_lines(table: Table, user: Any = None) -> list[tuple[str, str]]:
    lines = [(_("Report"), table.title)]
    lines += [(label, value) for label, value in table.filters.items()]
    lines.append((_("Made at"), text(timezone.now())))
    if user is not None and getattr(user, "is_authenticated", False):
        lines.append((_("Made by"), user.get_username()))
    if table.method:
        lines.append((_("Method"), table.method))
    return lines


def xlsx_file(table: Table, user: Any = None) -> tempfile.SpooledTemporaryFile[bytes]:
    """The workbook in a temporary file (write-only mode: rows are not kept in memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(table.title))
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_value(value) for value in row])
    method = book.create_sheet(title=_sheet_title(_("Method")))
    for label, value in method_lines(table, user):
        method.append([label, value])
    # Handed to FileResponse, which closes it when the download ends.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return cleaned[:31] or "Data"


def file_stem(what: str, start: dt.date | None, end: dt.date | None, *, branch: Any = None) -> str:
    """A download's file name without its extension: what, the branch (when one is chosen) and the
    period, e.g. ``pst-sla-2026-11-01_2026-11-30`` or ``pst-tickets-1222-from-2026-11-01``; a
    list over every day says ``all-dates``. ASCII letters, digits and dashes only (``safe_stem``),
    so the Content-Disposition header needs no encoding."""
    parts = ["pst", what]
    if branch is not None:
        parts.append(getattr(branch, "code", branch))
    if start and end:
        parts.append(f"{start.isoformat()}_{end.isoformat()}")
    elif start:
        parts.append(f"from-{start.isoformat()}")
    elif end:
        parts.append(f"until-{end.isoformat()}")
    else:
        parts.append("all-dates")
    return safe_stem("-".join(str(p) for p in parts))


def safe_stem(stem: str) -> str:
    """``stem`` reduced to ASCII letters, digits, dash and underscore (a quoted header value
    never needs escaping or RFC 5987 encoding)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "pst-download"


def response(
    request: HttpRequest, table: Table, fmt: str, dialect: CsvDialect | None = None
) -> StreamingHttpResponse | FileResponse:
    """The download of ``table`` in ``fmt`` (one of ``FORMATS``)."""
    filename = f"{safe_stem(table.name)}.{fmt}"
    if fmt == "xlsx":
        return FileResponse(
            xlsx_file(table, request.user),
            as_attachment=True,
            filename=filename,
            content_type=XLSX_TYPE,
        )
    if fmt == "json":
        out = StreamingHttpResponse(
            json_chunks(table), content_type="application/json; charset=utf-8"
        )
    else:
        out = StreamingHttpResponse(
            csv_chunks(table, dialect or CsvDialect.for_language()),
            content_type="text/csv; charset=utf-8",
        )
    out["Content-Disposition"] = f'attachment; filename="{filename}"'
    return out


def lazy_rows(
    queryset: Any, make_row: Callable[[Any], Sequence[Any]], chunk_size: int = 2000
) -> Iterator[Sequence[Any]]:
    """Rows of a queryset read in chunks (server-side cursor on PostgreSQL)."""
    for item in queryset.iterator(chunk_size=chunk_size):
        yield make_row(item)

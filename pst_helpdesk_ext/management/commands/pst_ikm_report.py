"""Print or save the satisfaction (IKM) report: the same numbers as the staff page and the API.

``pst_ikm_report --branch 1222 --from 2026-01-01 --to 2026-12-31 --format xlsx --output ikm.xlsx``
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pst_helpdesk_ext.dates import validate_day
from pst_helpdesk_ext.models import Branch, Channel, ServiceCategory
from pst_helpdesk_ext.services import reports

FORMATS = ("csv", "xlsx", "json")


def iso_date(option: str, value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(option)s must be a date as YYYY-MM-DD, not %(value)r.")
            % {"option": option, "value": value}
        ) from None
    try:
        validate_day(day)  # the same days as every report filter (``dates``)
    except ValidationError as exc:
        raise CommandError(f"{option}: {' '.join(exc.messages)}") from None
    return day


def by_code(model: Any, option: str, code: str | None) -> Any:
    if code is None:
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        known = ", ".join(model.objects.values_list("code", flat=True)[:30]) or _("none")
        raise CommandError(
            _("%(option)s: unknown code %(value)r (known: %(known)s).")
            % {"option": option, "value": code, "known": known}
        )
    return found


class Command(BaseCommand):
    @property  # type: ignore[override]
    def help(self) -> str:
        return _(
            "Satisfaction index (IKM) per branch office, service, channel and month, with walk-in "
            "visits and waits, as CSV, XLSX or JSON."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--branch", metavar="CODE", help=_("only this branch office"))
        parser.add_argument("--service", metavar="CODE", help=_("only this PST service"))
        parser.add_argument("--channel", metavar="CODE", help=_("only this channel"))
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help=_("first day"))
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help=_("last day"))
        parser.add_argument("--format", default="csv", help=_("csv (default), xlsx or json"))
        parser.add_argument(
            "--output", metavar="FILE", help=_("write to this file instead of standard output")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        if fmt not in FORMATS:
            raise CommandError(
                _("--format must be csv, xlsx or json, not %(value)r.") % {"value": fmt}
            )
        if fmt == "xlsx" and not options["output"]:
            raise CommandError(_("--format xlsx needs --output FILE (a workbook is binary)."))
        filters = reports.ReportFilters(
            branch=by_code(Branch, "--branch", options["branch"]),
            service=by_code(ServiceCategory, "--service", options["service"]),
            channel=by_code(Channel, "--channel", options["channel"]),
            date_from=iso_date("--from", options["date_from"]),
            date_to=iso_date("--to", options["date_to"]),
        )
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            raise CommandError(
                _("--to %(end)s is before --from %(start)s.")
                % {"end": filters.date_to, "start": filters.date_from}
            )
        report = reports.build_report(filters)
        if fmt == "xlsx":
            content: str | bytes = reports.report_xlsx(report)
        elif fmt == "json":
            content = json.dumps(reports.report_json(report), ensure_ascii=False, indent=2) + "\n"
        else:
            content = reports.report_csv(report)
        if options["output"]:
            path = Path(options["output"])
            try:
                if isinstance(content, bytes):
                    path.write_bytes(content)
                else:
                    path.write_text(content, encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    _("Cannot write %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
                ) from None
            self.stdout.write(
                _("IKM report written to %(path)s (%(respondents)s respondents).")
                % {"path": path, "respondents": report.overall.ikm.respondents}
            )
        else:
            self.stdout.write(content, ending="")

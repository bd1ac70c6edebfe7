"""Bring every SLA clock up to date: at-risk and breached states, breach notes with escalation,
7-day inactivity closes. Meant for cron every few minutes (``*/5 * * * *``); idempotent.

The rules live in ``services.sla`` (docs/sla.md). ``--now`` evaluates at a given instant (tests,
replays); ``--recompute`` also re-evaluates clocks that time does not move (pending, none), e.g.
after editing the SLA policies or upgrading a site whose tickets predate the SLA clocks.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import PSTTicket, SLAState
from pst_helpdesk_ext.services import sla


def aware_datetime(value: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is read in the site's TIME_ZONE."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            _(
                "--now must be an ISO 8601 date and time such as 2026-03-27T16:00:00+07:00, "
                "not %(value)r."
            )
            % {"value": value}
        ) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


class Command(BaseCommand):
    @property  # type: ignore[override]
    def help(self) -> str:  # translated when shown, not at import (argparse needs a real str)
        return _(
            "Update the SLA clocks of PST tickets: mark at-risk and breached tickets, note "
            "breaches in the ticket history (raising the priority where the policy says so) and "
            "close online conversations whose visitor has not answered for 7 days; complaints "
            "run on their own clock (first answer, tier deadline). Safe to run as often as you "
            "like. A ticket that cannot be evaluated is logged with its id and reason and "
            "skipped; the others are processed and the exit status is 1."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            metavar="DATETIME",
            help=_("evaluate at this instant (ISO 8601) instead of the current time"),
        )
        parser.add_argument(
            "--recompute",
            action="store_true",
            help=_("also re-evaluate clocks that are pending or have no policy"),
        )
        parser.add_argument(
            "--json", action="store_true", help=_("print the counts as one JSON object")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = aware_datetime(options["now"]) if options["now"] else timezone.now()
        recomputed = 0
        recompute_report = sla.TickReport(now=now)
        if options["recompute"]:
            recomputed = sla.recompute_all(
                now,
                PSTTicket.objects.filter(sla_state__in=(SLAState.PENDING, SLAState.NONE)),
                report=recompute_report,
            )
        report = sla.tick(now)
        report.errors[:0] = recompute_report.errors
        if options["json"]:
            self.stdout.write(json.dumps({**report.as_dict(), "recomputed": recomputed}))
        else:
            self.stdout.write(
                _(
                    "SLA tick at %(now)s: %(evaluated)d clocks evaluated, %(changed)d changed, "
                    "%(breaches)d breaches noted (%(escalated)d escalated), %(closed)d "
                    "conversations closed for inactivity, %(failed)d tickets skipped after an "
                    "error."
                )
                % {
                    "now": now.isoformat(),
                    "evaluated": report.evaluated,
                    "changed": report.changed + recomputed,
                    "breaches": report.breaches_noted,
                    "escalated": report.escalated,
                    "closed": report.closed,
                    "failed": len(report.errors),
                }
            )
        for error in report.errors:
            self.stderr.write(_("Ticket %(error)s") % {"error": error})
        if report.errors:
            # Exit status 1 for cron's mail; every other ticket was processed.
            raise CommandError(
                _(
                    "%(count)d tickets could not be updated (listed above, with the reason, and "
                    "in the log); every other ticket was processed."
                )
                % {"count": len(report.errors)}
            )

"""Erase visitor personal data older than the retention period (or a given date).

Meant for a daily cron/systemd timer: idempotent, prints what it erased, ``--dry-run`` only counts.
The rules (what is erased, what statistics stay) live in ``services.personal_data_purge``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.services.personal_data_purge import (
    cutoff_before_day,
    purge_personal_data,
    retention_cutoff,
)


def iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--before must be a date as YYYY-MM-DD, not %(value)r.") % {"value": value}
        ) from None


class Command(BaseCommand):
    @property  # type: ignore[override]
    def help(self) -> str:  # translated when shown, not at import (argparse needs a real str)
        return _(
            "Erase visitor personal data (name, e-mail, phone, ID hash and last digits, "
            "guest-book purpose, rating comment) older than "
            "PST_HELPDESK['PERSONAL_DATA_RETENTION_DAYS'], keeping the anonymous statistics. "
            "A record that cannot be erased is logged with its id and skipped; everything else "
            "is erased and the exit status is 1."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            metavar="YYYY-MM-DD",
            help=_("erase data recorded before this day instead of the retention period"),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("count what would be erased; change nothing")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["before"]:
            day = iso_date(options["before"])
            if day > timezone.localdate():
                raise CommandError(
                    _("--before %(day)s is in the future; give today or an earlier day.")
                    % {"day": day.isoformat()}
                )
            cutoff = cutoff_before_day(day)
        else:
            cutoff = retention_cutoff()
        dry_run = options["dry_run"]
        result = purge_personal_data(cutoff, dry_run=dry_run)
        when = timezone.localtime(cutoff).strftime("%Y-%m-%d %H:%M %Z")
        if dry_run:
            self.stdout.write(_("Dry run: nothing was changed."))
            heading = _("Personal data recorded before %(when)s that would be erased:")
        else:
            heading = _("Personal data recorded before %(when)s erased:")
        self.stdout.write(heading % {"when": when})
        if not options["before"]:
            self.stdout.write(
                _("(retention period: %(days)d days)")
                % {"days": pst_settings.PERSONAL_DATA_RETENTION_DAYS}
            )
        self.stdout.write(_("  visitors: %(count)d") % {"count": result.visitors})
        self.stdout.write(
            _("  guest-book purposes: %(count)d") % {"count": result.guestbook_purposes}
        )
        self.stdout.write(
            _("  e-mail addresses on helpdesk tickets: %(count)d") % {"count": result.ticket_emails}
        )
        self.stdout.write(
            _("  helpdesk follow-ups cleaned: %(count)d") % {"count": result.followups}
        )
        self.stdout.write(
            _("  WhatsApp numbers erased: %(count)d") % {"count": result.whatsapp_numbers}
        )
        self.stdout.write(
            _("  rating comments erased: %(count)d") % {"count": result.rating_comments}
        )
        self.stdout.write(
            _("  records skipped after an error: %(count)d") % {"count": result.failed}
        )
        if result.failed:
            # Exit status 1 for cron's mail; every other record was erased.
            raise CommandError(
                _(
                    "%(count)d records could not be erased (their ids and the reasons are in the "
                    "log); everything else was erased. Fix them and run the command again."
                )
                % {"count": result.failed}
            )

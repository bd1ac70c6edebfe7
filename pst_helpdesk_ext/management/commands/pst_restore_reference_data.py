"""``manage.py pst_restore_reference_data``: put back the reference rows the migrations seed.

The channels (walk-in, web, WhatsApp, e-mail), the four PST services and their consultation
subjects, the Indonesian e-mail templates, the SLA standards and the feed head: whichever of them
is missing (after a ``manage.py flush`` or a hand-made delete; system check
``pst_helpdesk_ext.E050`` finds them) is created as the migrations create it, in one transaction.
Rows that exist are left as they are (an admin's renamed channel keeps its name). ``--check``
only lists what is missing and exits 1 if anything is.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError
from django.utils.translation import gettext as _

from pst_helpdesk_ext.services import reference_data


class Command(BaseCommand):
    help = _(
        "Restore the reference rows the migrations seed (channels, service categories, "
        "Indonesian e-mail templates, SLA standards) where they are missing; existing rows are "
        "left unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help=_("only list what is missing (exit 1 if any)")
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help=_("database alias"))

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        try:
            gone = reference_data.missing(using)
            if options["check"]:
                if gone:
                    raise CommandError(
                        _("Missing reference rows: %(what)s.") % {"what": gone.describe()}
                    )
                self.stdout.write(_("Every seeded reference row is present."))
                return
            done = reference_data.restore(using)
        except DatabaseError as exc:
            raise CommandError(
                _("The database could not be read or written (%(error)s); nothing was changed.")
                % {"error": type(exc).__name__}
            ) from exc
        if not done.total:
            self.stdout.write(_("Every seeded reference row is present; nothing to restore."))
            return
        self.stdout.write(
            _(
                "Restored %(channels)d channels, %(categories)d service categories, "
                "%(templates)d e-mail templates, %(policies)d SLA standards and %(head)d feed "
                "head row."
            )
            % {
                "channels": done.channels,
                "categories": done.categories,
                "templates": done.email_templates,
                "policies": done.sla_policies,
                "head": done.feed_head,
            }
        )

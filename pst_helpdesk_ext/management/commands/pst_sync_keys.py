"""``manage.py pst_sync_keys``: create or show the central sync server's CURVE keypair.

``--create`` writes ``server.key`` and ``server.key_secret`` (0600) into
``PST_HELPDESK['SYNC_KEY_DIR']`` and never replaces an existing key without ``--force`` (every
branch enrolled against the old public key would stop syncing). ``--show`` prints the public key
that each branch is given at ``pst-branch-agent init --server-key``. Keys set in the settings
(``SYNC_SERVER_SECRET_KEY``/``SYNC_SERVER_PUBLIC_KEY``) take precedence over the directory.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.services.sync_server import KEY_NAME, key_dir, server_keypair
from sync.transport import KeyFileError, generate_keypair, save_keypair


class Command(BaseCommand):
    help = (
        "Create (--create) or show (--show) the central sync server's CURVE keypair in "
        "PST_HELPDESK['SYNC_KEY_DIR']. Give the public key to each branch agent "
        "(pst-branch-agent init --server-key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--create", action="store_true", help="create the keypair")
        action.add_argument("--show", action="store_true", help="print the public key")
        parser.add_argument(
            "--force",
            action="store_true",
            help="with --create: replace an existing key (enrolled branches must be re-keyed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["create"]:
            self.create(force=options["force"])
        else:
            try:
                keypair = server_keypair()
            except (ImproperlyConfigured, KeyFileError) as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(keypair.public_key)

    def create(self, *, force: bool) -> None:
        if pst_settings.SYNC_SERVER_SECRET_KEY or pst_settings.SYNC_SERVER_PUBLIC_KEY:
            raise CommandError(
                "the sync server key is set in PST_HELPDESK (SYNC_SERVER_SECRET_KEY); remove it "
                "from the settings to use a key file"
            )
        directory = key_dir()
        if directory is None:
            raise CommandError("set PST_HELPDESK['SYNC_KEY_DIR'] to the directory for the keys")
        keypair = generate_keypair()
        try:
            paths = save_keypair(directory, keypair, name=KEY_NAME, overwrite=force)
        except KeyFileError as exc:
            raise CommandError(f"{exc} (use --force to replace it)") from None
        except OSError as exc:
            raise CommandError(f"cannot write the keys into {directory}: {exc}") from None
        self.stdout.write(f"Wrote {paths.secret} and {paths.public}.")
        self.stdout.write(f"Public key (give it to each branch): {keypair.public_key}")

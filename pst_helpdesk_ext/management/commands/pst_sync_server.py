"""``manage.py pst_sync_server``: run the central sync server until SIGTERM or SIGINT.

A thin command over ``pst_helpdesk_ext.services.sync_server``: it finds the keypair, binds, prints
one ready line (flushed, for scripts and service managers) and serves. SIGTERM/SIGINT finish the
message in hand, close the sockets and exit 0.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.services.sync_server import (
    GROUP_PUSHES,
    ORDERS,
    PRUNE_EVERY,
    SyncServer,
    server_keypair,
    settle_collector,
)
from sync.transport import KeyFileError, TransportError


class Command(BaseCommand):
    help = (
        "Run the central sync server: branch agents push walk-in records to it and pull what "
        "central decided, over ZeroMQ with CURVE. Needs the central keypair "
        "(`pst_sync_keys --create`) and enrolled branch keys (`pst_branch enrol`). Stop it with "
        "SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=None,
            help="ZeroMQ endpoint to listen on (default PST_HELPDESK['SYNC_BIND'], tcp://*:5555)",
        )
        parser.add_argument(
            "--prune-every",
            type=float,
            default=PRUNE_EVERY,
            help="seconds between down-feed prunes (default 3600)",
        )
        parser.add_argument(
            "--order",
            choices=ORDERS,
            default="small-first",
            help="small-first (default): answer HELLO, PING and small pushes before large batches"
            " of other branches, each branch's own messages in order; arrival: one message at a"
            " time as they arrive (only for comparison)",
        )
        parser.add_argument(
            "--group-pushes",
            type=int,
            default=GROUP_PUSHES,
            metavar="N",
            help=f"apply up to N pushes a branch has queued in one transaction (default "
            f"{GROUP_PUSHES}, at most 2,000 ops; 1: each push on its own, only for comparison; "
            f"--order arrival reads one message at a time, so it applies each on its own too)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = options["bind"] or pst_settings.SYNC_BIND
        if options["prune_every"] <= 0:
            raise CommandError(f"--prune-every must be positive, got {options['prune_every']}")
        if options["group_pushes"] < 1:
            raise CommandError(
                f"--group-pushes must be 1 or more (1 turns grouping off), got "
                f"{options['group_pushes']}"
            )
        try:
            keypair = server_keypair()
        except (ImproperlyConfigured, KeyFileError) as exc:
            raise CommandError(str(exc)) from None
        try:
            server = SyncServer(
                bind,
                keypair,
                prune_every=options["prune_every"],
                order=options["order"],
                group_pushes=options["group_pushes"],
            )
        except TransportError as exc:
            raise CommandError(str(exc)) from None

        def on_signal(signum: int, frame: FrameType | None) -> None:
            server.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        settle_collector()  # this process is the server's own
        try:
            server.serve(ready=sys.stdout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

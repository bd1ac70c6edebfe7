"""Manage PST branch offices: add, list, show, deactivate, and their sync keys: enrol, revoke.

``skip-lost CODE --through N`` is the last-resort recovery after restoring central from an older
backup, for an agent that cannot recover by itself (docs/operations.md; current agents do:
docs/protocol.md 6.6).

Key rules: a branch syncs only with an enrolled, non-revoked CURVE public key while active. A key
belongs to one branch at most. The sync server looks keys up at every new connection and checks
the connection's key before every message, so ``revoke``, ``deactivate`` or ``enrol`` of a new key
takes effect at the next message of every open connection.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from pst_helpdesk_ext.models import Branch, BranchSyncState
from pst_helpdesk_ext.services.branches import create_branch, get_branch, set_queue_email
from sync.transport import KeyFileError, parse_public_key


def describe(branch: Branch) -> dict[str, Any]:
    state = getattr(branch, "sync_state", None)
    return {
        "code": branch.code,
        "name": branch.name,
        "timezone": branch.timezone,
        "queue": branch.queue.slug,
        "queue_email": branch.queue.email_address or None,
        "active": branch.active,
        "public_key": branch.curve_public_key or None,
        "key_revoked_at": branch.key_revoked_at.isoformat() if branch.key_revoked_at else None,
        "can_sync": branch.can_sync,
        "hwm_seq": state.hwm_seq if state else 0,
        "last_seen_at": state.last_seen_at.isoformat() if state and state.last_seen_at else None,
    }


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _joined_key(args: Any) -> Any:
    if args is None:
        return None
    args = list(args)
    for index, arg in enumerate(args[:-1]):
        if arg == "--public-key":
            return [*args[:index], f"--public-key={args[index + 1]}", *args[index + 2 :]]
    return args


class Command(BaseCommand):
    help = (
        "Add, list, show or deactivate PST branch offices (regency offices); enrol a branch "
        "agent's CURVE public key (`enrol CODE --public-key KEY`, the key printed by "
        "`pst-branch-agent init`) so it can sync, or revoke it (`revoke CODE`: refused from its "
        "next message, open connections included)."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse = parser.parse_args

        def parse_args(args: Any = None, namespace: Any = None) -> Any:
            # A Z85 key may begin with "-" (about one key in 85), which argparse would take for
            # an option: ``--public-key KEY`` is read as ``--public-key=KEY``.
            return parse(_joined_key(args), namespace)

        parser.parse_args = parse_args  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="add a branch and its helpdesk queue")
        add.add_argument("code", help="4-digit BPS code, e.g. 1222")
        add.add_argument("name", help="office name, e.g. 'Labuhanbatu Selatan'")
        add.add_argument("--timezone", default=None, help="IANA timezone (default Asia/Jakarta)")
        add.add_argument(
            "--email",
            default="",
            help="the queue's e-mail address, the sender of its e-mails to visitors "
            "(e.g. pst1222@bps.go.id); without it they come from 'NO QUEUE EMAIL ADDRESS "
            "DEFINED'",
        )
        set_email = sub.add_parser(
            "set-email", help="give an existing branch's queue its e-mail address (the sender)"
        )
        set_email.add_argument("code")
        set_email.add_argument("email", help="e.g. pst1222@bps.go.id")
        lst = sub.add_parser("list", help="list branches")
        lst.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="show one branch")
        show.add_argument("code")
        show.add_argument("--json", action="store_true")
        deactivate = sub.add_parser(
            "deactivate", help="deactivate a branch (it can no longer sync)"
        )
        deactivate.add_argument("code")
        enrol = sub.add_parser(
            "enrol",
            help="enrol the branch agent's CURVE public key so the branch can sync "
            "(replaces its previous key; clears a revocation)",
        )
        enrol.add_argument("code")
        enrol.add_argument(
            "--public-key",
            required=True,
            help="the agent's public key (Z85, 40 characters), printed by pst-branch-agent init",
        )
        revoke = sub.add_parser(
            "revoke",
            help="revoke the branch's key: the sync server refuses it from its next message, "
            "on open connections too",
        )
        revoke.add_argument("code")
        skip = sub.add_parser(
            "skip-lost",
            help="last resort after restoring central from an older backup (current agents recover "
            "by themselves): accept that the branch's records up to --through are lost, so its "
            "newer ones are applied again",
        )
        skip.add_argument("code")
        skip.add_argument(
            "--through",
            type=int,
            required=True,
            help="the seq just below the branch's oldest waiting record: next_seq - pending_ops "
            "- 1 from `pst-branch-agent status --json` on the branch",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"do_{options['action'].replace('-', '_')}")(options)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None

    def do_add(self, options: dict[str, Any]) -> None:
        branch = create_branch(
            options["code"], options["name"], options["timezone"], options["email"]
        )
        self.stdout.write(f"Added branch {branch.code} {branch.name} (queue {branch.queue.slug}).")

    def do_set_email(self, options: dict[str, Any]) -> None:
        branch = set_queue_email(options["code"], options["email"])
        self.stdout.write(f"Queue {branch.queue.slug} now sends as {branch.queue.email_address}.")

    def do_list(self, options: dict[str, Any]) -> None:
        branches = Branch.objects.select_related("queue", "sync_state").order_by("code")
        rows = [describe(b) for b in branches]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No branches. Add one with: manage.py pst_branch add CODE NAME")
        for row in rows:
            flag = "active" if row["active"] else "inactive"
            sync = "can sync" if row["can_sync"] else "cannot sync"
            self.stdout.write(f"{row['code']}  {row['name']:<30} {flag:<8} {sync}")

    def do_show(self, options: dict[str, Any]) -> None:
        row = describe(get_branch(options["code"]))
        if options["json"]:
            self.stdout.write(json.dumps(row, indent=2))
        else:
            for key, value in row.items():
                self.stdout.write(f"{key:>15}: {value}")

    def do_deactivate(self, options: dict[str, Any]) -> None:
        branch = get_branch(options["code"])
        branch.active = False
        branch.save(update_fields=["active"])
        self.stdout.write(f"Deactivated branch {branch.code}; it can no longer sync.")

    def do_enrol(self, options: dict[str, Any]) -> None:
        try:
            key = parse_public_key(options["public_key"], field_name="--public-key")
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
        with transaction.atomic():
            branch = get_branch(options["code"])
            other = Branch.objects.filter(curve_public_key=key).exclude(pk=branch.pk).first()
            if other is not None:
                raise CommandError(
                    f"--public-key {key} is already enrolled for branch {other.code}; each "
                    "branch agent has its own key (revoke or re-key the other branch first)"
                )
            branch.curve_public_key = key
            branch.key_enrolled_at = timezone.now()
            branch.key_revoked_at = None
            branch.save(update_fields=["curve_public_key", "key_enrolled_at", "key_revoked_at"])
        note = "" if branch.active else " The branch is inactive: it cannot sync until reactivated."
        self.stdout.write(f"Enrolled the key of branch {branch.code}.{note}")

    def do_skip_lost(self, options: dict[str, Any]) -> None:
        """Raise the branch's high-water mark over records central lost in a restore.

        A branch numbers its records 1, 2, 3... and central applies them strictly in that order.
        Central restored from a backup has forgotten the last records it had acknowledged (the
        branch no longer holds them), so an agent older than the self-recovery of
        docs/protocol.md 6.6 waits for them forever. This moves central's mark to ``--through``;
        it never lowers it, and records central still has keep their dedup (by record id)."""
        through = options["through"]
        if through < 0:
            raise CommandError(f"--through must be 0 or more, got {through}")
        with transaction.atomic():
            branch = get_branch(options["code"])
            state = BranchSyncState.objects.select_for_update().get(branch=branch)
            if through < state.hwm_seq:
                raise CommandError(
                    f"branch {branch.code}: central already has records up to seq "
                    f"{state.hwm_seq}; --through {through} would go back (nothing changed)"
                )
            lost = through - state.hwm_seq
            state.hwm_seq = through
            state.save(update_fields=["hwm_seq"])
        self.stdout.write(
            f"Branch {branch.code}: central's mark is now {through} ({lost} records written off); "
            "the branch's waiting records go out at its next connection."
        )

    def do_revoke(self, options: dict[str, Any]) -> None:
        branch = get_branch(options["code"])
        if not branch.curve_public_key:
            raise CommandError(f"branch {branch.code} has no enrolled key to revoke")
        if branch.key_revoked_at is None:
            branch.key_revoked_at = timezone.now()
            branch.save(update_fields=["key_revoked_at"])
        self.stdout.write(
            f"Revoked the key of branch {branch.code}; the sync server refuses it from its next "
            "message, on open connections too."
        )

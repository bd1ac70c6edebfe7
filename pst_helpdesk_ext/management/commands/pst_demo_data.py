"""Load the demo: branch 1222 Labuhanbatu Selatan, its queue, the complaints queue, staff users.

Idempotent: running it again changes nothing and prints the same logins.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from pst_helpdesk_ext.models import Branch
from pst_helpdesk_ext.services.branches import create_branch, ensure_complaints_queue

DEMO_USERS = [
    # username, password, superuser, full name
    ("admin", "admin-demo-1222", True, "Admin Helpdesk"),
    ("provinsi", "provinsi-demo-1222", False, "Petugas Provinsi Sumatera Utara"),
    ("pst1222", "pst-demo-1222", False, "Petugas PST Labuhanbatu Selatan"),
]


class Command(BaseCommand):
    help = "Load the PST demo data (branch 1222 and staff users with demo passwords)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print passwords")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        branch = Branch.objects.filter(code="1222").first() or create_branch(
            "1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.bps.go.id"
        )
        ensure_complaints_queue()
        user_model = get_user_model()
        for username, password, superuser, full_name in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.bps.go.id", "is_staff": True},
            )
            if created:
                first, _, last = full_name.partition(" ")
                user.first_name, user.last_name = first, last
                user.is_superuser = superuser
                user.set_password(password)
                user.save()
        self.stdout.write(f"Demo branch {branch.code} {branch.name}, queue {branch.queue.slug}.")
        if not options["quiet_logins"]:
            self.stdout.write("Demo logins (change them before real use):")
            for username, password, superuser, _name in DEMO_USERS:
                role = "superuser" if superuser else "staff"
                self.stdout.write(f"  {username:<10} {password:<20} ({role})")

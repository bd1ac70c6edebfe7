"""Add and enrol every branch of the national reconnect benchmark in one central process.

``pst_branch add`` and ``pst_branch enrol`` per branch would start Django 1,100 times; this does
the same through the same service (``create_branch``: the branch, its helpdesk queue, its sync
state) and the same key rules (a parsed Z85 public key, enrolled now, not revoked), in one
transaction. Reads ``[[code, name, public_key], ...]`` as JSON on stdin; prints the count.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    rows = json.load(sys.stdin)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from pst_helpdesk_ext.models import Branch
    from pst_helpdesk_ext.services.branches import create_branch
    from sync.transport import parse_public_key

    with transaction.atomic():
        for code, name, public_key in rows:
            branch = Branch.objects.filter(code=code).first() or create_branch(code, name)
            branch.curve_public_key = parse_public_key(public_key, field_name="public_key")
            branch.key_enrolled_at = timezone.now()
            branch.key_revoked_at = None
            branch.save(update_fields=["curve_public_key", "key_enrolled_at", "key_revoked_at"])
    print(len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

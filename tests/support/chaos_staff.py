"""Central staff at work during a chaos run: the down-feed changes branches must receive.

Runs inside the central site (``python -m tests.support.chaos_staff`` with the central environment),
so every change goes through the same code paths as a person at the helpdesk: a public reply
on a walk-in ticket through helpdesk's own ``update_ticket`` (the plugin's ``update_ticket_done``
receiver writes the ``ticket.reply`` feed row for the ticket's branch, in the same transaction),
and a new public knowledge-base article (the ``post_save`` receiver broadcasts ``kb.upsert`` to
every branch).

Input (argv): ``--replies N`` replies per branch on visits that already reached central, chosen
with ``--seed``; ``--kb-title`` the title of one new KB article (none when empty). Output: one
JSON line ``{"replies": [[branch, origin_id, followup_id], ...], "kb": [item_id, ...]}``: what
the harness later looks for, by SQL, in each branch's store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replies", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kb-title", default="")
    opts = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from helpdesk.models import KBCategory, KBItem
    from helpdesk.update_ticket import update_ticket

    from pst_helpdesk_ext.models import Visit

    rng = random.Random(opts.seed)
    staff = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    if staff is None:
        raise SystemExit("no staff user at central: load pst_demo_data first")
    made: dict[str, list] = {"replies": [], "kb": []}
    visits = list(Visit.objects.select_related("branch", "pst_ticket__ticket").order_by("pk"))
    by_branch: dict[str, list[Visit]] = {}
    for visit in visits:
        by_branch.setdefault(visit.branch.code, []).append(visit)
    for code in sorted(by_branch):
        for visit in rng.sample(by_branch[code], min(opts.replies, len(by_branch[code]))):
            with transaction.atomic():
                followup = update_ticket(
                    staff,
                    visit.pst_ticket.ticket,
                    comment=f"Balasan pusat untuk {visit.queue_number} ({rng.random():.6f})",
                    public=True,
                )
            made["replies"].append([code, visit.origin_id, followup.pk])
    if opts.kb_title:
        with transaction.atomic():
            category, _ = KBCategory.objects.get_or_create(
                slug="chaos",
                defaults={
                    "name": "Chaos",
                    "title": "Artikel uji",
                    "description": "Articles written during chaos runs",
                    "public": True,
                },
            )
            item = KBItem.objects.create(
                category=category,
                title=opts.kb_title,
                question=f"{opts.kb_title}?",
                answer="Jawaban dari pusat.",
                enabled=True,
            )
        made["kb"].append(item.pk)
    print(json.dumps(made), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

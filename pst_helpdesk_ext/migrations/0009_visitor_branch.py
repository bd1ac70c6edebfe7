"""Visitors belong to the branch whose guest book recorded them (issue 14, item 3).

Before this, a walk-in visitor was found by ``id_hash`` alone, so one branch's guest book could
change the name, e-mail and phone another branch's tickets show. Now each branch has its own
visitor rows; the same person at two branches is two rows with the same ``id_hash`` (a link).

Existing rows: a visitor gets the branch of its guest-book entries (the oldest's). A visitor that
guest books of several branches point at is copied once per other branch (same fields: the data
as central shows it now), and those branches' entries and tickets point at their own copy.
Online visitors (no guest book) keep no branch.
"""

import django.db.models.deletion
from django.db import migrations, models


def scope_visitors(apps, schema_editor):
    Visitor = apps.get_model("pst_helpdesk_ext", "Visitor")
    GuestBookEntry = apps.get_model("pst_helpdesk_ext", "GuestBookEntry")
    PSTTicket = apps.get_model("pst_helpdesk_ext", "PSTTicket")
    entries = (
        GuestBookEntry.objects.filter(visitor__isnull=False)
        .order_by("visitor_id", "recorded_at", "id")
        .values_list("id", "visitor_id", "visit__branch_id", "visit__pst_ticket_id")
    )
    copies = {}  # (visitor id, branch id) -> the visitor id that branch uses
    owner = {}  # visitor id -> its branch (the first seen)
    for entry_id, visitor_id, branch_id, pst_id in entries.iterator():
        if visitor_id not in owner:
            owner[visitor_id] = branch_id
            copies[(visitor_id, branch_id)] = visitor_id
            Visitor.objects.filter(pk=visitor_id).update(branch_id=branch_id)
            continue
        target = copies.get((visitor_id, branch_id))
        if target is None:
            visitor = Visitor.objects.get(pk=visitor_id)
            visitor.pk = None
            visitor.branch_id = branch_id
            visitor.save()
            target = copies[(visitor_id, branch_id)] = visitor.pk
        if target != visitor_id:
            GuestBookEntry.objects.filter(pk=entry_id).update(visitor_id=target)
            PSTTicket.objects.filter(pk=pst_id, visitor_id=visitor_id).update(visitor_id=target)


class Migration(migrations.Migration):
    dependencies = [
        ("pst_helpdesk_ext", "0008_sla"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitor",
            name="branch",
            field=models.ForeignKey(
                blank=True,
                help_text="The branch whose guest book recorded this visitor (empty: online).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visitors",
                to="pst_helpdesk_ext.branch",
                verbose_name="branch",
            ),
        ),
        migrations.AddIndex(
            model_name="visitor",
            index=models.Index(fields=["branch", "id_hash"], name="pst_visitor_branch_hash_idx"),
        ),
        migrations.RunPython(scope_visitors, migrations.RunPython.noop),
    ]

"""Seed what a new branch needs before central's first feed: the four PST services with their
queue letters, the three consultation subjects, the staff roles and the sync-state row."""

from django.db import migrations

SERVICES = [
    # code, kind, Indonesian, English, queue letter, order
    ("konsultasi", "service", "Konsultasi Statistik", "Statistical consultation", "K", 1),
    ("perpustakaan", "service", "Perpustakaan", "Library", "P", 2),
    ("penjualan", "service", "Penjualan Produk Statistik", "Sales of statistical products", "J", 3),
    ("rekomendasi", "service", "Rekomendasi Kegiatan Statistik", "Statistical activity recommendation", "R", 4),
    ("data", "subject", "Data", "Data", "", 1),
    ("metadata", "subject", "Metadata", "Metadata", "", 2),
    ("classification", "subject", "Klasifikasi", "Classification", "", 3),
]
ROLES = ("front_office", "desk_officer", "branch_admin")


def seed(apps, schema_editor):
    ServiceCategory = apps.get_model("branch_agent", "ServiceCategory")
    Group = apps.get_model("auth", "Group")
    SyncState = apps.get_model("branch_agent", "SyncState")
    for code, kind, name_id, name_en, letter, order in SERVICES:
        ServiceCategory.objects.update_or_create(
            code=code,
            defaults={"kind": kind, "name_id": name_id, "name_en": name_en,
                      "queue_letter": letter, "order": order},
        )
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    SyncState.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [
        ("branch_agent", "0001_local_store"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

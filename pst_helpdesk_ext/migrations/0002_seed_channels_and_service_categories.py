"""Reference data every PST site needs: the seed's channels, the four PST services and the
consultation subjects. Admins may add more; these codes are what branches and the API use."""

from django.db import migrations

CHANNELS = [
    ("walk_in", "Datang langsung", "Walk-in", False, 1),
    ("web", "Aplikasi web PST", "PST web application", True, 2),
    ("whatsapp", "WhatsApp", "WhatsApp", True, 3),
    ("email", "Surel", "Email", True, 4),
]
SERVICES = [
    ("konsultasi", "Konsultasi Statistik", "Statistical consultation", "K", 1),
    ("perpustakaan", "Perpustakaan", "Library", "P", 2),
    ("penjualan", "Penjualan Produk Statistik", "Sales of statistical products", "J", 3),
    ("rekomendasi", "Rekomendasi Kegiatan Statistik", "Statistical activity recommendation", "R", 4),
]
SUBJECTS = [
    ("data", "Data", "Data", 1),
    ("metadata", "Metadata", "Metadata", 2),
    ("classification", "Klasifikasi", "Classification", 3),
]


def seed(apps, schema_editor):
    Channel = apps.get_model("pst_helpdesk_ext", "Channel")
    Category = apps.get_model("pst_helpdesk_ext", "ServiceCategory")
    for code, name_id, name_en, online, order in CHANNELS:
        Channel.objects.update_or_create(
            code=code,
            defaults={"name_id": name_id, "name_en": name_en, "online": online, "order": order},
        )
    parents = {}
    for code, name_id, name_en, letter, order in SERVICES:
        parents[code], _ = Category.objects.update_or_create(
            code=code,
            defaults={
                "kind": "service",
                "name_id": name_id,
                "name_en": name_en,
                "queue_letter": letter,
                "order": order,
            },
        )
    for code, name_id, name_en, order in SUBJECTS:
        Category.objects.update_or_create(
            code=code,
            defaults={
                "kind": "subject",
                "name_id": name_id,
                "name_en": name_en,
                "parent": parents["konsultasi"],
                "order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("pst_helpdesk_ext", "0001_pst_domain_and_sync_state")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

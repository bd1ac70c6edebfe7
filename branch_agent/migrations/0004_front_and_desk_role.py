"""The ``front_and_desk`` role: one account that may keep the guest book and serve at a desk."""

from django.db import migrations

ROLE = "front_and_desk"


def seed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=ROLE)


def unseed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("branch_agent", "0003_central_lost"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]

"""The office's own voice-clip recordings and the board's voice settings (issue 18)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("branch_agent", "0004_front_and_desk_role")]

    operations = [
        migrations.CreateModel(
            name="VoiceClip",
            fields=[
                (
                    "key",
                    models.CharField(
                        max_length=20, primary_key=True, serialize=False, verbose_name="clip"
                    ),
                ),
                ("audio", models.BinaryField(verbose_name="audio")),
                ("content_type", models.CharField(max_length=60, verbose_name="audio type")),
                ("size", models.PositiveIntegerField(verbose_name="size in bytes")),
                (
                    "recorded_by",
                    models.CharField(blank=True, max_length=200, verbose_name="recorded by"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="recorded"
                    ),
                ),
            ],
            options={
                "verbose_name": "voice clip",
                "verbose_name_plural": "voice clips",
                "ordering": ("key",),
            },
        ),
        migrations.CreateModel(
            name="VoiceSettings",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                (
                    "os_voice",
                    models.BooleanField(
                        default=False,
                        verbose_name="use the PC's speech voice when a clip cannot be played",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated"),
                ),
            ],
            options={"verbose_name": "voice settings", "verbose_name_plural": "voice settings"},
        ),
    ]

"""Desk pauses, the visitor's live-page link, and the ``branch_head`` role (the head's page)."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


ROLE = "branch_head"


def seed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=ROLE)


def unseed(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('branch_agent', '0005_voice_clips'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeskPause',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('desk', models.CharField(max_length=40, verbose_name='desk')),
                ('reason', models.CharField(choices=[('istirahat', 'break'), ('sholat', 'prayer'), ('rapat', 'meeting'), ('lainnya', 'other')], max_length=10, verbose_name='reason')),
                ('service_day', models.DateField(verbose_name='service day')),
                ('started_at', models.DateTimeField(verbose_name='paused at')),
                ('ended_at', models.DateTimeField(blank=True, null=True, verbose_name='resumed at')),
                ('started_by', models.CharField(blank=True, max_length=200, verbose_name='paused by')),
            ],
            options={
                'verbose_name': 'desk pause',
                'verbose_name_plural': 'desk pauses',
                'ordering': ('started_at',),
                'indexes': [models.Index(fields=['service_day', 'desk'], name='agent_pause_day_desk_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('desk',), name='agent_one_open_pause_per_desk')],
            },
        ),
        migrations.CreateModel(
            name='VisitLink',
            fields=[
                ('token', models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name='token')),
                ('created', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('visit', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='link', to='branch_agent.visit', verbose_name='visit')),
            ],
            options={
                'verbose_name': "visitor's live page link",
                'verbose_name_plural': "visitor's live page links",
            },
        ),
        migrations.RunPython(seed, unseed),
    ]

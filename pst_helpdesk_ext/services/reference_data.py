"""The reference rows the migrations seed, found missing and restored.

What it owns: the list of rows a PST site cannot work without (the channels, the four services
and their consultation subjects, the Indonesian e-mail templates; also the SLA standards and the
feed head), what is missing of them (the system check ``pst_helpdesk_ext.E050``), and putting
the missing ones back (``manage.py pst_restore_reference_data``).

The rows come from the data migrations themselves (0002 channels and categories, 0003 the feed
head, 0004 e-mail templates with 0010's link to the visitor's page, 0008 SLA standards): their
lists and functions are imported, never copied, so a restored row is what a new site gets. Only
missing rows are created: a channel or service an admin renamed keeps its name, an e-mail
template an admin rewrote keeps its text.

Why they go missing: a ``manage.py flush`` (which empties every table, seeded rows included,
and does not re-run the migrations) or a hand-made delete. Without the walk-in channel every
visit a branch pushes fails (``ImproperlyConfigured``) and the branch retries forever.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _migration(name: str) -> ModuleType:
    return importlib.import_module(f"pst_helpdesk_ext.migrations.{name}")


def _seeds() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType, ModuleType]:
    return (
        _migration("0002_seed_channels_and_service_categories"),
        _migration("0003_feed_head_writer_lock"),
        _migration("0004_indonesian_email_templates"),
        _migration("0008_sla"),
        _migration("0010_visitor_page_links"),
    )


@dataclass
class Missing:
    """Codes of the seeded rows not in the database."""

    channels: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    email_templates: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.channels or self.categories or self.email_templates)

    def describe(self) -> str:
        parts = []
        if self.channels:
            parts.append(f"channels {', '.join(self.channels)}")
        if self.categories:
            parts.append(f"service categories {', '.join(self.categories)}")
        if self.email_templates:
            parts.append(f"Indonesian e-mail templates {', '.join(self.email_templates)}")
        return "; ".join(parts)


@dataclass
class Restored:
    """Counts of the rows created."""

    channels: int = 0
    categories: int = 0
    email_templates: int = 0
    sla_policies: int = 0
    feed_head: int = 0

    @property
    def total(self) -> int:
        return (
            self.channels + self.categories + self.email_templates + self.sla_policies
        ) + self.feed_head


def missing(using: str = DEFAULT_DB_ALIAS) -> Missing:
    """Which seeded channels, categories and Indonesian e-mail templates the database lacks."""
    seed, _, templates, _, _ = _seeds()
    Channel = apps.get_model("pst_helpdesk_ext", "Channel")
    Category = apps.get_model("pst_helpdesk_ext", "ServiceCategory")
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    channels = set(Channel.objects.using(using).values_list("code", flat=True))
    categories = set(Category.objects.using(using).values_list("code", flat=True))
    names = set(
        EmailTemplate.objects.using(using)
        .filter(locale="id")
        .values_list("template_name", flat=True)
    )
    return Missing(
        channels=[row[0] for row in seed.CHANNELS if row[0] not in channels],
        categories=[row[0] for row in [*seed.SERVICES, *seed.SUBJECTS] if row[0] not in categories],
        email_templates=[row[0] for row in templates.TEMPLATES if row[0] not in names],
    )


class _Editor:
    """What the seed functions use of a migration's schema editor: its connection, and
    ``execute`` for 0004's sequence reset (no schema change is made)."""

    def __init__(self, using: str) -> None:
        self.connection = connections[using]

    def execute(self, sql: str, params: object = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)


def restore(using: str = DEFAULT_DB_ALIAS) -> Restored:
    """Create every missing seeded row, in one transaction; rows that exist are left alone."""
    seed, feed_head, templates, sla, links = _seeds()
    Channel = apps.get_model("pst_helpdesk_ext", "Channel")
    Category = apps.get_model("pst_helpdesk_ext", "ServiceCategory")
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    Policy = apps.get_model("pst_helpdesk_ext", "SLAPolicy")
    FeedHead = apps.get_model("pst_helpdesk_ext", "FeedHead")
    done = Restored()
    editor = _Editor(using)
    with transaction.atomic(using=using):
        for code, name_id, name_en, online, order in seed.CHANNELS:
            _, created = Channel.objects.using(using).get_or_create(
                code=code,
                defaults={"name_id": name_id, "name_en": name_en, "online": online, "order": order},
            )
            done.channels += created
        parents = {}
        for code, name_id, name_en, letter, order in seed.SERVICES:
            parents[code], created = Category.objects.using(using).get_or_create(
                code=code,
                defaults={
                    "kind": "service",
                    "name_id": name_id,
                    "name_en": name_en,
                    "queue_letter": letter,
                    "order": order,
                },
            )
            done.categories += created
        for code, name_id, name_en, order in seed.SUBJECTS:
            _, created = Category.objects.using(using).get_or_create(
                code=code,
                defaults={
                    "kind": "subject",
                    "name_id": name_id,
                    "name_en": name_en,
                    "parent": parents["konsultasi"],
                    "order": order,
                },
            )
            done.categories += created
        had = set(EmailTemplate.objects.using(using).values_list("pk", flat=True))
        templates.add_templates(apps, editor)  # skips the templates that exist
        # The new ones as 0010 left every template: linking the visitor's own page.
        for template in EmailTemplate.objects.using(using).exclude(pk__in=had):
            template.plain_text = links._point(template.plain_text)
            template.html = links._point(template.html)
            template.save(update_fields=["plain_text", "html"])
            done.email_templates += 1
        count = Policy.objects.using(using).count()
        sla.seed_policies(apps, editor)  # get_or_create per standard
        done.sla_policies = Policy.objects.using(using).count() - count
        count = FeedHead.objects.using(using).count()
        feed_head.create_feed_head(apps, editor)
        done.feed_head = FeedHead.objects.using(using).count() - count
    return done

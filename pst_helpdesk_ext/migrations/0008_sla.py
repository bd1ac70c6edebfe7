"""SLA clocks: the branch working calendar, service standards (SLA policies) with the seed's
defaults, and the clock state on every PST ticket (indexed for the triage filters).

Seeded standards (DOMAIN.md, "PST services" and "Service clocks"):
- walk-in, any service: called within 10 minutes of the previous visitor finishing;
- walk-in, perpustakaan (library): 5 minutes;
- online, any service: 3 working days after the request is clear and complete;
- online, penjualan (sales; the microdata standard): 10 working days;
- online, rekomendasi (recommendation): 30 working days.
Existing tickets keep state "pending" until `pst_sla_tick --recompute` evaluates them.
"""

import django.core.validators
import django.db.models.deletion
import pst_helpdesk_ext.models
from django.db import migrations, models


POLICIES = [
    # kind, category code (None = any), channel code (None = any), target
    ("walk_in", None, "walk_in", 10),
    ("walk_in", "perpustakaan", "walk_in", 5),
    ("online", None, None, 3),
    ("online", "penjualan", None, 10),
    ("online", "rekomendasi", None, 30),
]


def seed_policies(apps, schema_editor):
    Policy = apps.get_model("pst_helpdesk_ext", "SLAPolicy")
    Category = apps.get_model("pst_helpdesk_ext", "ServiceCategory")
    Channel = apps.get_model("pst_helpdesk_ext", "Channel")
    for kind, category_code, channel_code, target in POLICIES:
        category = channel = None
        if category_code:
            category = Category.objects.filter(code=category_code).first()
            if category is None:
                continue  # an admin removed the service; nothing to attach a standard to
        if channel_code:
            channel = Channel.objects.filter(code=channel_code).first()
            if channel is None:
                continue
        Policy.objects.get_or_create(
            kind=kind, category=category, channel=channel, defaults={"target": target}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0043_fix_on_delete_behaviour"),
        ("pst_helpdesk_ext", "0007_ratings"),
    ]

    operations = [
        migrations.AddField(
            model_name="branch",
            name="calendar",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Opening hours, Ramadan hours, holidays and extra closed or open dates of the office (JSON). Empty: Mon-Fri 08:00-15:30, public holidays and cuti bersama closed. The timezone is the timezone field above.",
                validators=[pst_helpdesk_ext.models.validate_branch_calendar],
                verbose_name="working calendar",
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_at_risk_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA at risk since"),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_breach_noted_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="SLA breach written to the history at"
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_breached_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA breached at"),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_due_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True, verbose_name="SLA due at"
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_elapsed_seconds",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Time the clock ran until it stopped: minutes of waiting for walk-ins, working time for online requests.",
                null=True,
                verbose_name="SLA elapsed time (seconds)",
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_escalated_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA escalated at"),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_paused_seconds",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Working time the clock was paused, pauses already ended.",
                verbose_name="SLA paused working time (seconds)",
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_paused_since",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="SLA clock paused since"
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA clock started at"),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_state",
            field=models.CharField(
                choices=[
                    ("pending", "clock not started"),
                    ("running", "running"),
                    ("at_risk", "at risk"),
                    ("paused", "paused (waiting for the visitor)"),
                    ("met", "met"),
                    ("breached", "breached"),
                    ("none", "no service standard"),
                ],
                default="pending",
                max_length=10,
                verbose_name="SLA state",
            ),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_stopped_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA clock stopped at"),
        ),
        migrations.AddField(
            model_name="pstticket",
            name="waiting_for_visitor_since",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="waiting for the visitor since"
            ),
        ),
        migrations.CreateModel(
            name="SLAPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            (
                                "walk_in",
                                "walk-in: minutes from the previous visitor finishing to the call",
                            ),
                            (
                                "online",
                                "online: working days from the complete request to the answer",
                            ),
                        ],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                (
                    "target",
                    models.PositiveIntegerField(
                        help_text="Minutes for a walk-in policy, working days for an online policy.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="target",
                    ),
                ),
                (
                    "start_rule",
                    models.CharField(
                        choices=[
                            ("on_complete", "when staff mark the request clear and complete"),
                            (
                                "on_submission",
                                "at submission (the form collects a complete request)",
                            ),
                        ],
                        default="on_complete",
                        help_text="Online policies only; a walk-in clock starts when the desk becomes free.",
                        max_length=16,
                        verbose_name="clock starts",
                    ),
                ),
                (
                    "at_risk_percent",
                    models.PositiveSmallIntegerField(
                        default=75,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ],
                        verbose_name="at risk after (percent of the time used)",
                    ),
                ),
                (
                    "escalate",
                    models.BooleanField(
                        default=True,
                        help_text="Raise the ticket's priority by one step when the standard is breached.",
                        verbose_name="escalate on breach",
                    ),
                ),
                (
                    "inactivity_close_days",
                    models.PositiveSmallIntegerField(
                        default=7,
                        help_text="Online policies only; 0 never closes a conversation automatically.",
                        verbose_name="close after days without a visitor reply",
                    ),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: every service without a policy of its own.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_policies",
                        to="pst_helpdesk_ext.servicecategory",
                        verbose_name="service",
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: every channel of this kind without a policy of its own.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_policies",
                        to="pst_helpdesk_ext.channel",
                        verbose_name="channel",
                    ),
                ),
            ],
            options={
                "verbose_name": "service standard (SLA policy)",
                "verbose_name_plural": "service standards (SLA policies)",
                "ordering": ("kind", "id"),
            },
        ),
        migrations.AddField(
            model_name="pstticket",
            name="sla_policy",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tickets",
                to="pst_helpdesk_ext.slapolicy",
                verbose_name="SLA policy",
            ),
        ),
        migrations.AddIndex(
            model_name="pstticket",
            index=models.Index(fields=["sla_state", "sla_due_at"], name="pst_ticket_sla_due_idx"),
        ),
        migrations.AddIndex(
            model_name="pstticket",
            index=models.Index(fields=["branch", "sla_state"], name="pst_ticket_branch_sla_idx"),
        ),
        migrations.AddIndex(
            model_name="pstticket",
            index=models.Index(fields=["channel", "sla_state"], name="pst_ticket_channel_sla_idx"),
        ),
        migrations.AddIndex(
            model_name="pstticket",
            index=models.Index(
                fields=["category", "sla_state"], name="pst_ticket_category_sla_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="pstticket",
            index=models.Index(
                condition=models.Q(("waiting_for_visitor_since__isnull", False)),
                fields=["waiting_for_visitor_since"],
                name="pst_ticket_waiting_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="slapolicy",
            constraint=models.UniqueConstraint(
                fields=("kind", "category", "channel"), name="pst_sla_policy_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="slapolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("channel__isnull", True)),
                fields=("kind", "category"),
                name="pst_sla_policy_unique_any_channel",
            ),
        ),
        migrations.AddConstraint(
            model_name="slapolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("category__isnull", True)),
                fields=("kind", "channel"),
                name="pst_sla_policy_unique_any_category",
            ),
        ),
        migrations.AddConstraint(
            model_name="slapolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("category__isnull", True), ("channel__isnull", True)),
                fields=("kind",),
                name="pst_sla_policy_unique_default",
            ),
        ),
        migrations.RunPython(seed_policies, migrations.RunPython.noop),
    ]

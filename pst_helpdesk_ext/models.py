"""The PST domain beside django-helpdesk's own tables.

Helpdesk's ``Ticket`` stays the record of every request; the plugin adds side tables that point at
it (``PSTTicket`` is a one-to-one), never columns on helpdesk's tables. Personal data lives in
``Visitor`` only, so retention can purge it in one place while the visit statistics remain.

Size: over 500 lines on purpose: Django reads an app's models from one module; each model is short
and documented, and the schema reads in one place.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from pst_helpdesk_ext.calendar import WorkingCalendar

BRANCH_CODE_VALIDATOR = RegexValidator(
    r"^\d{4}$",
    _("A branch code is the 4-digit BPS code of the office, for example 1222."),
)
CURVE_KEY_VALIDATOR = RegexValidator(
    r"^[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$",
    _("A CURVE public key is 40 characters of Z85 text, as printed by pst-branch-agent init."),
)


def validate_branch_calendar(value: Any) -> None:
    """A branch's working-calendar settings (``Branch.calendar``), checked the way the SLA code
    will read them. The timezone is the branch's own ``timezone`` field, so it may not appear here.
    Raises the CalendarError that names the day and the hours at fault."""
    from pst_helpdesk_ext.calendar import CalendarError, WorkingCalendar

    if isinstance(value, dict) and "timezone" in value:
        raise CalendarError(
            _(
                "The calendar may not set a timezone: the branch's timezone field is the office's "
                "timezone. Remove the timezone key from the calendar."
            ),
            code="timezone_in_calendar",
        )
    WorkingCalendar.from_config(value or None)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("%(value)s is not a known timezone; use e.g. Asia/Jakarta, Asia/Makassar."),
            params={"value": value},
        ) from None


class Bilingual(models.Model):
    name_id = models.CharField(_("name (Indonesian)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_in(get_language())

    def name_in(self, language: str | None) -> str:
        """The name in ``language``: English for ``en*``, else Indonesian."""
        return self.name_en if (language or "id").startswith("en") else self.name_id


class Branch(models.Model):
    code = models.CharField(
        _("code"), max_length=4, unique=True, validators=[BRANCH_CODE_VALIDATOR]
    )
    name = models.CharField(_("name"), max_length=120)
    timezone = models.CharField(
        _("timezone"), max_length=64, default="Asia/Jakarta", validators=[validate_timezone]
    )
    queue = models.OneToOneField(
        "helpdesk.Queue",
        on_delete=models.PROTECT,
        related_name="pst_branch",
        verbose_name=_("helpdesk queue"),
    )
    curve_public_key = models.CharField(
        _("agent public key"),
        max_length=40,
        blank=True,
        default="",
        validators=[CURVE_KEY_VALIDATOR],
        help_text=_("The branch agent's CURVE public key (Z85). Empty: the branch cannot sync."),
    )
    calendar = models.JSONField(
        _("working calendar"),
        default=dict,
        blank=True,
        validators=[validate_branch_calendar],
        help_text=_(
            "Opening hours, Ramadan hours, holidays and extra closed or open dates of the office "
            "(JSON). Empty: Mon-Fri 08:00-15:30, public holidays and cuti bersama closed. The "
            "timezone is the timezone field above."
        ),
    )
    key_enrolled_at = models.DateTimeField(_("key enrolled at"), null=True, blank=True)
    key_revoked_at = models.DateTimeField(_("key revoked at"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        ordering = ("code",)
        verbose_name = _("branch office")
        verbose_name_plural = _("branch offices")
        constraints = [
            models.UniqueConstraint(
                fields=["curve_public_key"],
                condition=~models.Q(curve_public_key=""),
                name="pst_branch_unique_public_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def can_sync(self) -> bool:
        return self.active and bool(self.curve_public_key) and self.key_revoked_at is None

    @property
    def calendar_config(self) -> dict[str, Any]:
        """The calendar settings with the branch's timezone: what ``working_calendar`` builds."""
        return {**(self.calendar or {}), "timezone": self.timezone}

    @property
    def working_calendar(self) -> WorkingCalendar:
        """The office's working calendar (shared per distinct config, so cheap to ask again).

        Raises ``CalendarError`` when the stored settings are invalid; the admin form and system
        check E010 keep that from happening in practice.
        """
        from pst_helpdesk_ext.calendar import WorkingCalendar

        return WorkingCalendar.cached(self.calendar_config)


class ServiceCategory(Bilingual):
    class Kind(models.TextChoices):
        SERVICE = "service", _("PST service")
        SUBJECT = "subject", _("consultation subject")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    queue_letter = models.CharField(
        _("queue letter"),
        max_length=1,
        blank=True,
        default="",
        help_text=_("Letter of walk-in queue numbers for a service, e.g. K for K-007."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("kind", "order", "code")
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")


class Channel(Bilingual):
    WALK_IN = "walk_in"
    WEB = "web"
    WHATSAPP = "whatsapp"
    EMAIL = "email"

    code = models.SlugField(_("code"), max_length=20, unique=True)
    online = models.BooleanField(_("online"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("order", "code")
        verbose_name = _("channel")
        verbose_name_plural = _("channels")


class Visitor(models.Model):
    """A person served. Personal fields are emptied by the retention purge (purged_at set).

    A walk-in visitor belongs to the branch whose guest book recorded them (``branch``): only that
    branch's ops may change them. The same person at another branch is another row with the same
    ``id_hash``: a returning visitor is recognised across branches by that link, never by one
    branch's guest book overwriting another's (SECURITY.md, "Branch trust boundary"). Online
    visitors have no branch.
    """

    class IdType(models.TextChoices):
        KTP = "ktp", _("KTP (identity card)")
        SIM = "sim", _("SIM (driving licence)")
        PASSPORT = "passport", _("Passport")
        KITAS = "kitas", _("KITAS (residence permit)")
        STUDENT_CARD = "student_card", _("Student card")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200, blank=True)
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, blank=True)
    id_hash = models.CharField(_("ID hash"), max_length=64, blank=True, db_index=True)
    id_last4 = models.CharField(_("ID last 4 digits"), max_length=4, blank=True)
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visitors",
        verbose_name=_("branch"),
        help_text=_("The branch whose guest book recorded this visitor (empty: online)."),
    )
    created = models.DateTimeField(_("created"), default=dj_timezone.now)
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        indexes = [
            models.Index(fields=["created"], name="pst_visitor_created_idx"),
            models.Index(fields=["branch", "id_hash"], name="pst_visitor_branch_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.name or str(_("(purged visitor)"))

    @property
    def masked_id(self) -> str:
        return f"************{self.id_last4}" if self.id_last4 else ""


class SLAState(models.TextChoices):
    """Where a ticket's service clock stands. ``met``/``breached`` are final for the clock."""

    PENDING = "pending", _("clock not started")
    RUNNING = "running", _("running")
    AT_RISK = "at_risk", _("at risk")
    PAUSED = "paused", _("paused (waiting for the visitor)")
    MET = "met", _("met")
    BREACHED = "breached", _("breached")
    NONE = "none", _("no service standard")


class SLAPolicy(models.Model):
    """A service standard: the target for tickets of a service category on a channel.

    ``category``/``channel`` empty means "any". The most specific active policy of the ticket's
    kind wins: one naming the channel before one that does not, then one naming the category.
    """

    class Kind(models.TextChoices):
        WALK_IN = "walk_in", _("walk-in: minutes from the previous visitor finishing to the call")
        ONLINE = "online", _("online: working days from the complete request to the answer")

    class StartRule(models.TextChoices):
        ON_COMPLETE = "on_complete", _("when staff mark the request clear and complete")
        ON_SUBMISSION = "on_submission", _("at submission (the form collects a complete request)")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    category = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        verbose_name=_("service"),
        help_text=_("Empty: every service without a policy of its own."),
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        verbose_name=_("channel"),
        help_text=_("Empty: every channel of this kind without a policy of its own."),
    )
    target = models.PositiveIntegerField(
        _("target"),
        validators=[MinValueValidator(1)],
        help_text=_("Minutes for a walk-in policy, working days for an online policy."),
    )
    start_rule = models.CharField(
        _("clock starts"),
        max_length=16,
        choices=StartRule.choices,
        default=StartRule.ON_COMPLETE,
        help_text=_("Online policies only; a walk-in clock starts when the desk becomes free."),
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        _("at risk after (percent of the time used)"),
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    escalate = models.BooleanField(
        _("escalate on breach"),
        default=True,
        help_text=_("Raise the ticket's priority by one step when the standard is breached."),
    )
    inactivity_close_days = models.PositiveSmallIntegerField(
        _("close after days without a visitor reply"),
        default=7,
        help_text=_("Online policies only; 0 never closes a conversation automatically."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("kind", "id")
        verbose_name = _("service standard (SLA policy)")
        verbose_name_plural = _("service standards (SLA policies)")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "category", "channel"], name="pst_sla_policy_unique"
            ),
            models.UniqueConstraint(
                fields=["kind", "category"],
                condition=models.Q(channel__isnull=True),
                name="pst_sla_policy_unique_any_channel",
            ),
            models.UniqueConstraint(
                fields=["kind", "channel"],
                condition=models.Q(category__isnull=True),
                name="pst_sla_policy_unique_any_category",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(category__isnull=True, channel__isnull=True),
                name="pst_sla_policy_unique_default",
            ),
        ]

    def __str__(self) -> str:
        category = self.category.name if self.category_id else _("any service")
        channel = self.channel.name if self.channel_id else _("any channel")
        unit = _("min") if self.kind == self.Kind.WALK_IN else _("working days")
        return f"{category} / {channel}: {self.target} {unit}"

    def clean(self) -> None:
        if self.channel_id and self.kind:
            walk_in = self.kind == self.Kind.WALK_IN
            if self.channel.online == walk_in:
                message = (
                    _(
                        "%(channel)s is an online channel; a walk-in policy needs the walk-in "
                        "channel or none."
                    )
                    if walk_in
                    else _(
                        "%(channel)s is not an online channel; an online policy needs an "
                        "online channel or none."
                    )
                )
                raise ValidationError(
                    {"channel": ValidationError(message, params={"channel": self.channel.name})}
                )


class PSTTicket(models.Model):
    """PST data beside a helpdesk ticket."""

    ticket = models.OneToOneField(
        "helpdesk.Ticket", on_delete=models.CASCADE, related_name="pst", verbose_name=_("ticket")
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="tickets")
    category = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("service"),
    )
    subject = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subject_tickets",
        verbose_name=_("consultation subject"),
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    origin_id = models.CharField(
        _("origin id"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("The id the branch gave this record (walk-in visits)."),
    )
    complete_at = models.DateTimeField(_("request complete at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    # --- SLA clock (services/sla.py keeps these current; docs/sla.md has the rules) -----------
    sla_policy = models.ForeignKey(
        "SLAPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        verbose_name=_("SLA policy"),
    )
    sla_state = models.CharField(
        _("SLA state"), max_length=10, choices=SLAState.choices, default=SLAState.PENDING
    )
    sla_started_at = models.DateTimeField(_("SLA clock started at"), null=True, blank=True)
    sla_due_at = models.DateTimeField(_("SLA due at"), null=True, blank=True, db_index=True)
    sla_paused_since = models.DateTimeField(_("SLA clock paused since"), null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(
        _("SLA paused working time (seconds)"),
        default=0,
        help_text=_("Working time the clock was paused, pauses already ended."),
    )
    sla_stopped_at = models.DateTimeField(_("SLA clock stopped at"), null=True, blank=True)
    sla_elapsed_seconds = models.PositiveIntegerField(
        _("SLA elapsed time (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "Time the clock ran until it stopped: minutes of waiting for walk-ins, working "
            "time for online requests."
        ),
    )
    sla_at_risk_at = models.DateTimeField(_("SLA at risk since"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    sla_breach_noted_at = models.DateTimeField(
        _("SLA breach written to the history at"), null=True, blank=True
    )
    sla_escalated_at = models.DateTimeField(_("SLA escalated at"), null=True, blank=True)
    waiting_for_visitor_since = models.DateTimeField(
        _("waiting for the visitor since"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("PST ticket data")
        verbose_name_plural = _("PST ticket data")
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "origin_id"],
                condition=~models.Q(origin_id=""),
                name="pst_ticket_unique_origin",
            )
        ]
        indexes = [
            models.Index(fields=["branch", "channel"], name="pst_ticket_branch_channel_idx"),
            models.Index(fields=["created"], name="pst_ticket_created_idx"),
            models.Index(fields=["sla_state", "sla_due_at"], name="pst_ticket_sla_due_idx"),
            models.Index(fields=["branch", "sla_state"], name="pst_ticket_branch_sla_idx"),
            models.Index(fields=["channel", "sla_state"], name="pst_ticket_channel_sla_idx"),
            models.Index(fields=["category", "sla_state"], name="pst_ticket_category_sla_idx"),
            models.Index(
                fields=["waiting_for_visitor_since"],
                condition=models.Q(waiting_for_visitor_since__isnull=False),
                name="pst_ticket_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"PST #{self.ticket_id}"


class Visit(models.Model):
    """A walk-in visit and its queue ticket, as recorded at the branch."""

    class Outcome(models.TextChoices):
        WAITING = "waiting", _("waiting")
        NO_SHOW = "no_show", _("no show")
        RESOLVED = "resolved", _("resolved")
        REFERRED = "referred", _("referred to another PST service")
        ESCALATED = "escalated", _("needs follow-up")

    class FollowUp(models.TextChoices):
        ONLINE = "online", _("online")
        IN_PERSON = "in_person", _("in person")
        ZOOM = "zoom", _("Zoom meeting")

    pst_ticket = models.OneToOneField(
        PSTTicket, on_delete=models.CASCADE, related_name="visit", verbose_name=_("ticket")
    )
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="visits")
    origin_id = models.CharField(_("origin id"), max_length=64)
    service = models.ForeignKey(
        ServiceCategory, on_delete=models.PROTECT, related_name="visits", verbose_name=_("service")
    )
    queue_number = models.CharField(_("queue number"), max_length=8)
    service_day = models.DateField(_("service day"))
    issued_at = models.DateTimeField(_("number issued at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    served_at = models.DateTimeField(_("service started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    desk = models.CharField(_("desk"), max_length=40, blank=True)
    officer = models.CharField(_("officer"), max_length=200, blank=True)
    wait_seconds = models.PositiveIntegerField(_("wait (seconds)"), null=True, blank=True)
    service_seconds = models.PositiveIntegerField(
        _("service time (seconds)"), null=True, blank=True
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.WAITING
    )
    follow_up = models.CharField(
        _("follow-up"), max_length=12, choices=FollowUp.choices, blank=True
    )
    referred_to = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
        verbose_name=_("referred to"),
    )
    received_at = models.DateTimeField(_("received at central"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("walk-in visit")
        verbose_name_plural = _("walk-in visits")
        constraints = [
            models.UniqueConstraint(fields=["branch", "origin_id"], name="pst_visit_unique_origin")
        ]
        indexes = [
            models.Index(fields=["branch", "service_day"], name="pst_visit_branch_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue_number} {self.service_day}"


class GuestBookEntry(models.Model):
    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, related_name="guestbook", verbose_name=_("visit")
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="guestbook"
    )
    purpose = models.TextField(_("purpose of visit"), blank=True)
    consent = models.BooleanField(_("consent to data processing"), default=False)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("guest-book entry")
        verbose_name_plural = _("guest-book entries")

    def __str__(self) -> str:
        return f"{self.visit}"


class RatingInvitation(models.Model):
    """One rating link issued for a ticket. ``used_at`` makes the link single-use in the database:
    the signature proves who issued a link, this row proves it has not been spent. It keeps no
    address: the link goes to the ticket's submitter, so retention purges one copy only."""

    ticket = models.ForeignKey(
        "helpdesk.Ticket",
        on_delete=models.CASCADE,
        related_name="pst_rating_invitations",
        verbose_name=_("ticket"),
    )
    issued_at = models.DateTimeField(_("issued at"), default=dj_timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating link")
        verbose_name_plural = _("rating links")
        indexes = [models.Index(fields=["ticket", "issued_at"], name="pst_rating_inv_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} @ {self.issued_at:%Y-%m-%d}"


class Rating(models.Model):
    """A visitor's satisfaction survey (IKM): nine elements U1..U9 scored 1-4."""

    class Source(models.TextChoices):
        KIOSK = "kiosk", _("branch rating kiosk")
        LINK = "link", _("online rating link")

    ticket = models.OneToOneField(
        "helpdesk.Ticket", on_delete=models.CASCADE, related_name="pst_rating"
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.KIOSK
    )
    invitation = models.OneToOneField(
        RatingInvitation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rating",
        verbose_name=_("rating link"),
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="ratings"
    )
    scores = models.JSONField(_("element scores"))
    overall = models.PositiveSmallIntegerField(_("overall score"))
    comment = models.TextField(_("comment"), blank=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        indexes = [models.Index(fields=["branch", "created"], name="pst_rating_branch_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.overall}"


class Complaint(models.Model):
    class Tier(models.IntegerChoices):
        LIGHT = 1, _("light (2 working days)")
        NORMATIVE = 2, _("normative (5 working days)")
        DISPUTE = 3, _("dispute without field check (14 working days)")
        FIELD_CHECK = 4, _("dispute with field check (60 working days)")

    ticket = models.OneToOneField(
        "helpdesk.Ticket", on_delete=models.CASCADE, related_name="pst_complaint"
    )
    about = models.ForeignKey(
        "helpdesk.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pst_complaints",
        verbose_name=_("about ticket"),
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.LIGHT)
    lapor_ref = models.CharField(_("LAPOR! reference"), max_length=64, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return f"{self.ticket_id} ({self.get_tier_display()})"


# --- Sync state (central side) --------------------------------------------------------------


class BranchSyncState(models.Model):
    """One row per branch; the sync server locks it to serialise a branch's batches."""

    branch = models.OneToOneField(Branch, on_delete=models.CASCADE, related_name="sync_state")
    hwm_seq = models.BigIntegerField(_("high-water mark (seq)"), default=0)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_boot_id = models.CharField(_("agent boot id"), max_length=64, blank=True)
    agent_version = models.CharField(_("agent version"), max_length=40, blank=True)
    feed_cursor = models.BigIntegerField(_("feed cursor reported"), default=0)
    clock_skew_seconds = models.IntegerField(_("clock skew (seconds)"), null=True, blank=True)
    applied_count = models.BigIntegerField(_("ops applied"), default=0)
    rejected_count = models.BigIntegerField(_("ops rejected"), default=0)
    # Raised by every HELLO; a PUSH under an older session is refused (fencing: a server process
    # still holding a replaced connection cannot apply a batch out of turn).
    session = models.BigIntegerField(_("current sync session"), default=0)
    # The sync server's last failure on this branch's messages that was not the branch's fault
    # (answered "unavailable", nothing applied, the branch retries): type and message with
    # NIK-shaped numbers masked, for the admin's branch page. Cleared by nothing: the time says
    # whether it is old.
    internal_errors = models.BigIntegerField(_("central errors"), default=0)
    last_internal_error = models.TextField(_("last central error"), blank=True)
    last_internal_error_at = models.DateTimeField(_("last central error at"), null=True, blank=True)

    class Meta:
        verbose_name = _("branch sync state")
        verbose_name_plural = _("branch sync states")

    def __str__(self) -> str:
        return f"{self.branch.code} hwm={self.hwm_seq}"


class AppliedOp(models.Model):
    """Every op central has seen from a branch, once. The unique key is the dedup guarantee."""

    class Result(models.TextChoices):
        APPLIED = "applied", _("applied")
        NOTED = "noted", _("applied as a note")
        REJECTED = "rejected", _("rejected")

    # No index of its own: the unique (branch, op_id) serves every look-up by branch. Each index
    # costs every op central applies a write (two fewer here: 30% of the ledger's COPY).
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="applied_ops", db_index=False
    )
    op_id = models.UUIDField(_("op id"))
    seq = models.BigIntegerField(_("seq"))
    kind = models.CharField(_("kind"), max_length=40)
    entity_id = models.CharField(_("entity id"), max_length=64)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    code = models.CharField(_("rejection code"), max_length=40, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    applied_at = models.DateTimeField(_("applied at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("applied op")
        verbose_name_plural = _("applied ops")
        constraints = [
            models.UniqueConstraint(fields=["branch", "op_id"], name="pst_applied_op_unique")
        ]
        indexes = [
            # Staff look for the few ops that did not simply apply (the admin's filter, the
            # branch page); the applied ones, nearly all of them, are not written into it.
            models.Index(
                fields=["branch", "result"],
                name="pst_applied_op_unlike_idx",
                condition=~models.Q(result="applied"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.branch_id}:{self.seq} {self.kind}"


class FeedItem(models.Model):
    """The down-feed: changes a branch must see, in commit order. branch NULL = every branch."""

    # No index of its own: pst_feed_branch_idx (branch, id) serves every look-up by branch.
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feed_items",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=40)
    entity_id = models.CharField(_("entity id"), max_length=64)
    payload = models.JSONField(_("payload"))
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("feed item")
        verbose_name_plural = _("feed items")
        indexes = [
            models.Index(fields=["branch", "id"], name="pst_feed_branch_idx"),
            # Reference-data publishing skips a payload identical to the entity's last one.
            models.Index(fields=["entity_id", "kind"], name="pst_feed_entity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.kind} {self.entity_id}"


class FeedHead(models.Model):
    """The single row (pk=1) every down-feed writer locks, until its transaction commits.

    Why: feed ids come from the table's sequence, and a transaction that took id 10 but commits
    after the one that took id 11 would be skipped by a branch that already read 11. Holding this
    row lock from before the insert until commit serialises writers, so ids become visible in
    order on PostgreSQL too (SQLite serialises all writers anyway). ``pruned_through``: every
    feed item with an id up to it may have been deleted by retention; a branch whose cursor is
    below it gets a snapshot instead.
    """

    pruned_through = models.BigIntegerField(_("pruned through feed id"), default=0)
    pruned_at = models.DateTimeField(_("last pruned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feed head")
        verbose_name_plural = _("feed head")

    def __str__(self) -> str:
        return f"feed pruned through {self.pruned_through}"


# --- Online channel (web request page, WhatsApp) ------------------------------------------------


class OnlineRequest(models.Model):
    """What the public request page learned before and while the visitor asked (web channel).

    The search step is recorded so reports can tell requests that the knowledge base could have
    answered from those it could not; the completeness fields are the rule of docs/online.md.
    """

    pst_ticket = models.OneToOneField(
        PSTTicket,
        on_delete=models.CASCADE,
        related_name="online_request",
        verbose_name=_("ticket"),
    )
    search_query = models.CharField(_("searched for"), max_length=200, blank=True)
    search_results = models.PositiveIntegerField(_("search results shown"), default=0)
    articles_opened = models.JSONField(
        _("knowledge-base articles opened"),
        default=list,
        blank=True,
        help_text=_("Ids of the knowledge-base items the visitor opened before asking."),
    )
    indicator = models.CharField(_("indicator, publication or item"), max_length=200, blank=True)
    region = models.CharField(_("region"), max_length=120, blank=True)
    period = models.CharField(_("period"), max_length=60, blank=True)
    purpose = models.CharField(_("purpose of use"), max_length=200, blank=True)
    complete_at_submission = models.BooleanField(_("complete at submission"), default=False)
    missing_fields = models.JSONField(_("missing for completeness"), default=list, blank=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("online request")
        verbose_name_plural = _("online requests")

    def __str__(self) -> str:
        return f"{self.pst_ticket}"

    @property
    def articles_opened_count(self) -> int:
        return len(self.articles_opened or [])


class WhatsAppThread(models.Model):
    """The WhatsApp number a ticket talks to. Only the WhatsApp id (the phone number in
    international digits) is kept: it is all a reply needs. It is personal data: pages show
    ``masked_phone``; the retention purge empties ``wa_id`` with the visitor's other data."""

    pst_ticket = models.OneToOneField(
        PSTTicket,
        on_delete=models.CASCADE,
        related_name="whatsapp",
        verbose_name=_("ticket"),
    )
    wa_id = models.CharField(_("WhatsApp number"), max_length=32, blank=True, db_index=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("WhatsApp conversation")
        verbose_name_plural = _("WhatsApp conversations")

    def __str__(self) -> str:
        return f"{self.pst_ticket} {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        digits = self.wa_id
        if len(digits) <= 4:
            return "•" * len(digits)
        return f"+{digits[:2]}•••••{digits[-4:]}"


class WhatsAppMessage(models.Model):
    """One WhatsApp message in or out. ``message_id`` (the Cloud API's wamid) is unique, so a
    webhook delivered twice makes one follow-up. Outgoing rows are the record of what the sender
    did (the logging sender's log too), with the delivery status the API reports later."""

    class Direction(models.TextChoices):
        IN = "in", _("from the visitor")
        OUT = "out", _("to the visitor")

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        READ = "read", _("read")
        FAILED = "failed", _("failed")

    thread = models.ForeignKey(
        WhatsAppThread,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("conversation"),
    )
    message_id = models.CharField(_("WhatsApp message id"), max_length=128, blank=True)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    followup = models.ForeignKey(
        "helpdesk.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pst_whatsapp_messages",
        verbose_name=_("follow-up"),
    )
    kind = models.CharField(_("message type"), max_length=20, default="text")
    text = models.TextField(_("text sent"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.CharField(_("error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("time"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("WhatsApp message")
        verbose_name_plural = _("WhatsApp messages")
        ordering = ("sent_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="pst_whatsapp_unique_message_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_id or self.pk}"


class PersonalDataExport(models.Model):
    """One download that held personal data unmasked (UU PDP: who took whose data, when, why).

    Written before the download starts; a download with masked personal data is not recorded.
    Never holds the data itself, only what was asked for and how many rows went out.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="pst_personal_data_exports",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150)
    what = models.CharField(_("list"), max_length=40)
    filters = models.JSONField(_("filters"), default=dict)
    file_format = models.CharField(_("format"), max_length=8)
    rows = models.PositiveIntegerField(_("rows"))
    at = models.DateTimeField(_("time"), default=dj_timezone.now, db_index=True)

    class Meta:
        verbose_name = _("personal data export")
        verbose_name_plural = _("personal data exports")
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.username} {self.what} {self.at:%Y-%m-%d %H:%M}"


class Compensation(models.Model):
    """What a visitor was given because a service standard was breached (the office's maklumat
    promises compensation when service falls below its standard). One per breached clock."""

    class Kind(models.TextChoices):
        APOLOGY = "apology", _("written apology")
        PRIORITY = "priority", _("priority service")
        FREE_DATA = "free_data", _("data or publication free of charge")
        SOUVENIR = "souvenir", _("souvenir")
        OTHER = "other", _("other (described)")

    pst_ticket = models.OneToOneField(
        PSTTicket,
        on_delete=models.CASCADE,
        related_name="compensation",
        verbose_name=_("ticket"),
    )
    kind = models.CharField(_("compensation"), max_length=12, choices=Kind.choices)
    note = models.CharField(_("what was given"), max_length=500, blank=True)
    given_on = models.DateField(_("given on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="pst_compensations",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        ordering = ("-given_on", "-id")

    def __str__(self) -> str:
        return f"{self.pst_ticket_id} {self.kind}"


class DeskPause(models.Model):
    """A desk of a branch not calling visitors for a while, as the branch recorded it
    (``desk.paused`` / ``desk.resumed`` ops; ``services/intake_pauses.py``)."""

    class Reason(models.TextChoices):
        BREAK = "istirahat", _("break")
        PRAYER = "sholat", _("prayer")
        MEETING = "rapat", _("meeting")
        OTHER = "lainnya", _("other")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="desk_pauses")
    origin_id = models.CharField(_("origin id"), max_length=64)
    desk = models.CharField(_("desk"), max_length=40)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    service_day = models.DateField(_("service day"))
    started_at = models.DateTimeField(_("paused at"))
    ended_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("paused (seconds)"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at central"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("desk pause")
        verbose_name_plural = _("desk pauses")
        ordering = ("started_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "origin_id"], name="pst_desk_pause_unique_origin"
            )
        ]
        indexes = [
            models.Index(fields=["branch", "service_day"], name="pst_pause_branch_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.desk} {self.reason} {self.started_at}"


class Appointment(models.Model):
    """An in-person follow-up appointment at a branch, with the code the visitor checks in with at
    the branch's kiosk (``services.appointments``); the branch learns it from the down-feed."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        CANCELLED = "cancelled", _("cancelled")
        CHECKED_IN = "checked_in", _("checked in")

    ticket = models.ForeignKey(
        "helpdesk.Ticket",
        on_delete=models.CASCADE,
        related_name="pst_appointments",
        verbose_name=_("ticket"),
    )
    followup = models.ForeignKey(
        "helpdesk.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pst_appointments",
        verbose_name=_("follow-up"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("branch")
    )
    service = models.ForeignKey(
        ServiceCategory,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("service"),
    )
    start = models.DateTimeField(_("starts at"))
    minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    code = models.CharField(_("check-in code"), max_length=8, unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    visit_origin_id = models.CharField(_("visit at the branch"), max_length=64, blank=True)
    queue_number = models.CharField(_("queue number"), max_length=8, blank=True)
    created = models.DateTimeField(_("created"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ("start",)
        indexes = [models.Index(fields=["branch", "start"], name="pst_appointment_branch_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.start:%Y-%m-%d %H:%M}"

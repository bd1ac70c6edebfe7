"""The branch's local store: the walk-in flow, its outbox, and what central sent down.

Rules:
- Rows here are written only by ``branch_agent.services`` (domain) and ``branch_agent.sync_store``
  (sync), each write in one IMMEDIATE transaction together with its outbox op.
- Personal data is limited to the guest book; the ID number itself is never stored: only its keyed
  hash (to recognise a returning visitor) and its last 4 digits.
- Times are the branch's own clock (aware datetimes, the office timezone for the service day).

Size: over 500 lines on purpose: Django reads an app's models from one module.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

IKM_FIELDS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")
SCORE = [MinValueValidator(1), MaxValueValidator(4)]


class ServiceCategory(models.Model):
    """A PST service (queue) or consultation subject; seeded, then kept up to date by central."""

    class Kind(models.TextChoices):
        SERVICE = "service", _("PST service")
        SUBJECT = "subject", _("consultation subject")

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    central_id = models.BigIntegerField(_("central id"), null=True, blank=True, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name_id = models.CharField(_("name (Indonesian)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    queue_letter = models.CharField(_("queue letter"), max_length=1, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ("kind", "order", "code")
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "id").startswith("en") else self.name_id


class KnowledgeCategory(models.Model):
    """A public knowledge-base category of central's helpdesk (``kb_category.*`` feed items)."""

    central_id = models.BigIntegerField(_("central id"), primary_key=True)
    slug = models.CharField(_("slug"), max_length=100, blank=True)
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("knowledge-base category")
        verbose_name_plural = _("knowledge-base categories")

    def __str__(self) -> str:
        return self.title or self.name


class KnowledgeArticle(models.Model):
    """A public knowledge-base item from central (``kb.*`` feed items), searchable offline."""

    central_id = models.BigIntegerField(_("central id"), primary_key=True)
    category = models.ForeignKey(
        KnowledgeCategory,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="articles",
        verbose_name=_("category"),
    )
    title = models.CharField(_("title"), max_length=300)
    question = models.TextField(_("question"), blank=True)
    answer = models.TextField(_("answer"), blank=True)
    order = models.IntegerField(_("order"), default=0)
    updated_at = models.CharField(_("updated"), max_length=40, blank=True)

    class Meta:
        ordering = ("order", "title")
        verbose_name = _("knowledge-base article")
        verbose_name_plural = _("knowledge-base articles")

    def __str__(self) -> str:
        return self.title


class Visit(models.Model):
    """One walk-in visitor's queue ticket and visit, from the kiosk to the rating."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        CALLED = "called", _("called")
        SERVING = "serving", _("being served")
        FINISHED = "finished", _("finished")
        NO_SHOW = "no_show", _("did not come")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("resolved")
        REFERRED = "referred", _("referred to another PST service")
        ESCALATED = "escalated", _("needs follow-up")

    class FollowUp(models.TextChoices):
        ONLINE = "online", _("online")
        IN_PERSON = "in_person", _("in person")
        ZOOM = "zoom", _("Zoom meeting")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(
        ServiceCategory, on_delete=models.PROTECT, related_name="visits", verbose_name=_("service")
    )
    service_day = models.DateField(_("service day"))
    number = models.PositiveIntegerField(_("number"))
    queue_number = models.CharField(_("queue number"), max_length=8)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    issued_at = models.DateTimeField(_("number issued at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    call_count = models.PositiveSmallIntegerField(_("times called"), default=0)
    last_call_at = models.DateTimeField(_("last called at"), null=True, blank=True)
    served_at = models.DateTimeField(_("service started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    desk = models.CharField(_("desk"), max_length=40, blank=True)
    officer = models.CharField(_("officer"), max_length=200, blank=True)
    wait_seconds = models.PositiveIntegerField(_("wait (seconds)"), null=True, blank=True)
    service_seconds = models.PositiveIntegerField(
        _("service time (seconds)"), null=True, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    follow_up = models.CharField(
        _("follow-up"), max_length=10, choices=FollowUp.choices, blank=True
    )
    referred_to = models.ForeignKey(
        ServiceCategory,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
        verbose_name=_("referred to"),
    )
    rating_desk = models.CharField(_("rating requested at desk"), max_length=40, blank=True)
    rating_requested_at = models.DateTimeField(_("rating requested at"), null=True, blank=True)
    # What central last said about the ticket of an escalated visit (from the down-feed).
    central_ticket_id = models.BigIntegerField(_("central ticket"), null=True, blank=True)
    central_status = models.CharField(_("status at central"), max_length=80, blank=True)
    central_open = models.BooleanField(_("open at central"), null=True, blank=True)
    central_updated_at = models.DateTimeField(_("central update"), null=True, blank=True)

    class Meta:
        ordering = ("service_day", "service", "number")
        verbose_name = _("walk-in visit")
        verbose_name_plural = _("walk-in visits")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "service_day", "number"], name="agent_visit_unique_number"
            )
        ]
        indexes = [
            models.Index(fields=["service_day", "status"], name="agent_visit_day_status_idx"),
            models.Index(fields=["rating_desk"], name="agent_visit_rating_desk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue_number} {self.service_day}"

    @property
    def wait_display(self) -> str:
        """The measured wait as m:ss (the desk shows it)."""
        seconds = self.wait_seconds or 0
        return f"{seconds // 60}:{seconds % 60:02d}"


class GuestBookEntry(models.Model):
    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, related_name="guestbook", verbose_name=_("visit")
    )
    name = models.CharField(_("name"), max_length=200)
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    email = models.EmailField(_("email"), max_length=254)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    id_type = models.CharField(_("ID type"), max_length=20)
    id_hash = models.CharField(_("ID hash"), max_length=64, db_index=True)
    id_last4 = models.CharField(_("ID last 4 digits"), max_length=4, blank=True)
    purpose = models.TextField(_("purpose of visit"))
    consent = models.BooleanField(_("consent to data processing"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("guest-book entry")
        verbose_name_plural = _("guest-book entries")

    def __str__(self) -> str:
        return f"{self.visit.queue_number} {self.name}"

    @property
    def masked_id(self) -> str:
        from branch_agent.personal_data import mask

        return mask(self.id_last4)


class Consultation(models.Model):
    """A desk officer's record of what was asked and answered (one per note)."""

    class Subject(models.TextChoices):
        DATA = "data", _("data")
        METADATA = "metadata", _("metadata")
        CLASSIFICATION = "classification", _("classification")

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="consultations", verbose_name=_("visit")
    )
    subject = models.CharField(_("subject"), max_length=20, choices=Subject.choices)
    notes = models.TextField(_("notes"))
    officer = models.CharField(_("officer"), max_length=200, blank=True)
    created = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ("created",)
        verbose_name = _("consultation record")
        verbose_name_plural = _("consultation records")

    def __str__(self) -> str:
        return f"{self.visit.queue_number} {self.subject}"


class Rating(models.Model):
    """The visitor's IKM survey: nine elements scored 1-4, an overall score and a comment."""

    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, related_name="rating", verbose_name=_("visit")
    )
    u1 = models.PositiveSmallIntegerField(validators=SCORE)
    u2 = models.PositiveSmallIntegerField(validators=SCORE)
    u3 = models.PositiveSmallIntegerField(validators=SCORE)
    u4 = models.PositiveSmallIntegerField(validators=SCORE)
    u5 = models.PositiveSmallIntegerField(validators=SCORE)
    u6 = models.PositiveSmallIntegerField(validators=SCORE)
    u7 = models.PositiveSmallIntegerField(validators=SCORE)
    u8 = models.PositiveSmallIntegerField(validators=SCORE)
    u9 = models.PositiveSmallIntegerField(validators=SCORE)
    overall = models.PositiveSmallIntegerField(_("overall score"), validators=SCORE)
    comment = models.TextField(_("comment"), blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")

    def __str__(self) -> str:
        return f"{self.visit.queue_number}: {self.overall}"

    @property
    def scores(self) -> dict[str, int]:
        return {name.upper(): getattr(self, name) for name in IKM_FIELDS}


class Complaint(models.Model):
    class Tier(models.IntegerChoices):
        LIGHT = 1, _("light (2 working days)")
        NORMATIVE = 2, _("normative (5 working days)")
        DISPUTE = 3, _("dispute without field check (14 working days)")
        FIELD_CHECK = 4, _("dispute with field check (60 working days)")

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="complaints", verbose_name=_("visit")
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.LIGHT)
    text = models.TextField(_("complaint"))
    lapor_ref = models.CharField(_("LAPOR! reference"), max_length=64, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return f"{self.visit.queue_number} {self.get_tier_display()}"


class FormToken(models.Model):
    """A form render or API request id, used once: a repeated submit returns the first result."""

    token = models.CharField(max_length=64, primary_key=True)
    action = models.CharField(max_length=40)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.CASCADE)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("used form token")
        verbose_name_plural = _("used form tokens")

    def __str__(self) -> str:
        return f"{self.action} {self.token}"


# --- Sync ------------------------------------------------------------------------------------


class OutboxOp(models.Model):
    """One op for central, written in the same transaction as the change it describes."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        ACKED = "acked", _("received by central")
        REJECTED = "rejected", _("rejected by central")

    op_id = models.CharField(_("op id"), max_length=36, primary_key=True)
    seq = models.BigIntegerField(_("seq"), unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    entity_id = models.CharField(_("entity id"), max_length=64)
    hlc = models.BigIntegerField(_("hybrid clock"))
    payload = models.JSONField(_("payload"))
    created = models.DateTimeField(_("created"), default=timezone.now)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    done_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    reject_code = models.CharField(_("rejection code"), max_length=40, blank=True)
    reject_message = models.TextField(_("rejection reason"), blank=True)
    dismissed = models.BooleanField(_("seen by staff"), default=False)

    class Meta:
        ordering = ("seq",)
        verbose_name = _("outbox op")
        verbose_name_plural = _("outbox ops")
        indexes = [models.Index(fields=["state", "seq"], name="agent_outbox_state_seq_idx")]

    def __str__(self) -> str:
        return f"{self.seq} {self.kind}"


class SyncState(models.Model):
    """The single row of sync bookkeeping (id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    next_seq = models.BigIntegerField(default=1)
    last_hlc = models.BigIntegerField(default=0)
    feed_cursor = models.BigIntegerField(default=0)
    online = models.BooleanField(default=False)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    clock_skew_seconds = models.IntegerField(null=True, blank=True)
    central_hwm = models.BigIntegerField(default=0)
    # The last time central was found restored from an older backup (protocol 6.6), until staff
    # mark it handled on the Sync page.
    central_lost_at = models.DateTimeField(null=True, blank=True)
    central_lost_first_seq = models.BigIntegerField(default=0)
    central_lost_last_seq = models.BigIntegerField(default=0)
    central_lost_resent = models.IntegerField(default=0)
    central_lost_unrecoverable = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("sync state")
        verbose_name_plural = _("sync state")

    def __str__(self) -> str:
        return f"next_seq={self.next_seq} cursor={self.feed_cursor}"


class TicketUpdate(models.Model):
    """A change central made on the ticket of one of this branch's visits (status or reply)."""

    key = models.CharField(_("key"), max_length=120, unique=True)  # one row per change
    feed_id = models.BigIntegerField(_("feed id"), default=0)
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="central_updates"
    )
    entity_id = models.CharField(_("entity id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=40)
    status = models.CharField(_("status"), max_length=80, blank=True)
    text = models.TextField(_("text"), blank=True)
    author = models.CharField(_("author"), max_length=200, blank=True)
    at = models.DateTimeField(_("received"), default=timezone.now)
    seen = models.BooleanField(_("seen"), default=False)

    class Meta:
        ordering = ("-at",)
        verbose_name = _("update from central")
        verbose_name_plural = _("updates from central")

    def __str__(self) -> str:
        return f"{self.entity_id} {self.kind}"


class ApiToken(models.Model):
    """A bearer token for a device (button box, dispenser); only its SHA-256 is stored."""

    key_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("device name"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_tokens"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return self.name


class VoiceClip(models.Model):
    """The office's own recording of one voice clip (``branch_agent.voice_words.CLIPS``); the
    board plays it instead of the shipped clip. Written only by ``branch_agent.voice``; local to
    the office (never synced)."""

    key = models.CharField(_("clip"), max_length=20, primary_key=True)
    audio = models.BinaryField(_("audio"))
    content_type = models.CharField(_("audio type"), max_length=60)
    size = models.PositiveIntegerField(_("size in bytes"))
    recorded_by = models.CharField(_("recorded by"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ("key",)
        verbose_name = _("voice clip")
        verbose_name_plural = _("voice clips")

    def __str__(self) -> str:
        return self.key


class VoiceSettings(models.Model):
    """The board's voice choices (one row): whether the PC's own speech voice may stand in for a
    clip that cannot be played."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    os_voice = models.BooleanField(
        _("use the PC's speech voice when a clip cannot be played"), default=False
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("voice settings")
        verbose_name_plural = _("voice settings")

    def __str__(self) -> str:
        return "voice"


# --- The office floor: desk pauses, the visitor's live page ----------------------------------


class DeskPause(models.Model):
    """A desk not calling visitors for a while (break, prayer, meeting, other); open while
    ``ended_at`` is empty. Written only by ``branch_agent.pauses``, with its op."""

    class Reason(models.TextChoices):
        BREAK = "istirahat", _("break")
        PRAYER = "sholat", _("prayer")
        MEETING = "rapat", _("meeting")
        OTHER = "lainnya", _("other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    desk = models.CharField(_("desk"), max_length=40)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    service_day = models.DateField(_("service day"))
    started_at = models.DateTimeField(_("paused at"))
    ended_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    started_by = models.CharField(_("paused by"), max_length=200, blank=True)

    class Meta:
        ordering = ("started_at",)
        verbose_name = _("desk pause")
        verbose_name_plural = _("desk pauses")
        constraints = [
            # One open pause per desk: a second "pause" while paused is refused by the store too.
            models.UniqueConstraint(
                fields=["desk"],
                condition=models.Q(ended_at__isnull=True),
                name="agent_one_open_pause_per_desk",
            )
        ]
        indexes = [models.Index(fields=["service_day", "desk"], name="agent_pause_day_desk_idx")]

    def __str__(self) -> str:
        return f"{self.desk} {self.reason} {self.started_at}"

    def seconds(self, now: dt.datetime) -> int:
        end = self.ended_at or now
        return max(0, int((end - self.started_at).total_seconds()))


class VisitLink(models.Model):
    """The unguessable token of a ticket's QR code: the visitor's live page on the office LAN
    is found by it, never by the visit id (the page shows no personal data)."""

    token = models.CharField(_("token"), max_length=64, primary_key=True)
    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, related_name="link", verbose_name=_("visit")
    )
    created = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("visitor's live page link")
        verbose_name_plural = _("visitor's live page links")

    def __str__(self) -> str:
        return f"{self.visit_id}"


class Appointment(models.Model):
    """An appointment at this branch made at central, from the down-feed
    (``appointment.upsert``): the visitor checks in with its code at the kiosk
    (``branch_agent.appointments``). No personal data: code, service, time, topic, ticket."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        CANCELLED = "cancelled", _("cancelled")
        CHECKED_IN = "checked_in", _("checked in")

    central_id = models.BigIntegerField(_("central id"), primary_key=True)
    code = models.CharField(_("check-in code"), max_length=8, unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    service_code = models.CharField(_("service"), max_length=40)
    start = models.DateTimeField(_("starts at"))
    minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    ticket_id = models.BigIntegerField(_("central ticket"), null=True, blank=True)
    ticket_ref = models.CharField(_("ticket reference"), max_length=120, blank=True)
    visit = models.OneToOneField(
        Visit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointment",
        verbose_name=_("visit"),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ("start",)
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")

    def __str__(self) -> str:
        return f"{self.code} {self.start:%Y-%m-%d %H:%M}"

"""Django admin for the PST models.

Rules:
- Records the branches own (visits, guest-book entries, ratings) and everything sync keeps (sync
  state, applied ops, the down-feed) are read-only here: changing them at central would break the
  ownership and exactly-once rules of sync (DESIGN.md). They are shown, never edited.
- A visitor is never shown with more than the masked ID; the keyed ID hash is not shown either.
  Erasing a visitor's personal data is an action that runs the same code as the retention purge.
- New branches go through ``services.branches.create_branch`` so they get their helpdesk queue and
  sync state, exactly as ``pst_branch add`` does. Key enrolment and revocation belong to the sync
  commands (an admin action for revocation is left to the sync engineer's issue).
- Codes (branch, category, channel) are read-only once created: branches and the API use them.

Size: over 500 lines on purpose: one short ModelAdmin per model; Django's admin autodiscovery reads
this module.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from pst_helpdesk_ext.models import (
    AppliedOp,
    Appointment,
    Branch,
    BranchSyncState,
    Channel,
    Compensation,
    Complaint,
    DeskPause,
    FeedHead,
    FeedItem,
    GuestBookEntry,
    OnlineRequest,
    PersonalDataExport,
    PSTTicket,
    Rating,
    RatingInvitation,
    ServiceCategory,
    SLAPolicy,
    Visit,
    Visitor,
    WhatsAppMessage,
    WhatsAppThread,
)
from pst_helpdesk_ext.services import complaints as complaint_service
from pst_helpdesk_ext.services.branches import create_branch


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted in the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.StackedInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def ticket_link(ticket_id: int | None) -> str:
    if ticket_id is None:
        return "—"
    return format_html(
        '<a href="{}">#{}</a>', reverse("helpdesk:view", args=[ticket_id]), ticket_id
    )


def visitor_label(visitor: Visitor | None) -> str:
    """Name and masked ID; never the ID hash, never more than the last 4 digits."""
    if visitor is None:
        return "—"
    if visitor.purged_at is not None:
        return gettext("(personal data erased)")
    return f"{visitor.name} {visitor.masked_id}".strip() or "—"


# --- branches and reference data --------------------------------------------------------------


class BranchSyncStateInline(ReadOnlyInline):
    model = BranchSyncState
    fields = (
        "last_seen_at",
        "hwm_seq",
        "feed_cursor",
        "applied_count",
        "rejected_count",
        "clock_skew_seconds",
        "agent_version",
        "last_boot_id",
        "internal_errors",
        "last_internal_error_at",
        "last_internal_error",
    )
    readonly_fields = fields
    verbose_name_plural = _("sync state (read-only)")


class BranchAddForm(forms.ModelForm):
    email = forms.EmailField(
        label=_("queue e-mail address"),
        required=False,
        help_text=_("Address of the branch's helpdesk queue; optional."),
    )

    class Meta:
        model = Branch
        fields = ("code", "name", "timezone")


CALENDAR_EXAMPLE = (
    '{"weekly": {"mon": "08:00-15:30", "tue": "08:00-15:30", "wed": "08:00-15:30", '
    '"thu": "08:00-15:30", "fri": {"open": "08:00", "close": "16:00", '
    '"breaks": [["11:30", "13:00"]]}}, "cuti_bersama_open": false, '
    '"extra_closed": ["2026-07-15"], "extra_open": {"2026-07-18": "08:00-12:00"}}'
)
CALENDAR_PREVIEW_DAYS = 14


class BranchChangeForm(forms.ModelForm):
    """The branch form with its working calendar checked the way the SLA clocks will read it:
    with the branch's timezone, and a message that names the day and the hours at fault."""

    class Meta:
        model = Branch
        fields = ("name", "timezone", "active", "calendar")
        widgets = {
            "calendar": forms.Textarea(
                attrs={"rows": 8, "cols": 90, "style": "font-family: monospace"}
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "calendar" in self.fields:
            self.fields["calendar"].help_text = format_html(
                "{}<br>{} <code>{}</code>",
                Branch._meta.get_field("calendar").help_text,
                _("Example:"),
                CALENDAR_EXAMPLE,
            )

    def clean_calendar(self) -> Any:
        value = self.cleaned_data.get("calendar")
        return {} if value in (None, "") else value  # empty: the defaults

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        calendar = cleaned.get("calendar")
        timezone = cleaned.get("timezone")
        if "calendar" in self.errors or timezone is None or calendar is None:
            return cleaned  # the field's own error (bad JSON, bad timezone) says it already
        from pst_helpdesk_ext.calendar import CalendarError, WorkingCalendar

        try:
            WorkingCalendar.from_config({**(calendar or {}), "timezone": timezone})
        except CalendarError as exc:
            self.add_error("timezone" if exc.field == "timezone" else "calendar", str(exc))
        return cleaned


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "timezone",
        "queue",
        "active",
        "can_sync_display",
        "last_seen",
        "rejected_ops",
        "clock_skew",
    )
    list_filter = ("active", "timezone")
    search_fields = ("code", "name", "queue__slug", "queue__title")
    list_select_related = ("queue", "sync_state")
    inlines = (BranchSyncStateInline,)
    readonly_fields = (
        "code",
        "queue",
        "curve_public_key",
        "key_enrolled_at",
        "key_revoked_at",
        "created",
        "calendar_preview",
    )
    fields = (
        "code",
        "name",
        "timezone",
        "queue",
        "active",
        "calendar",
        "calendar_preview",
        *readonly_fields[2:-1],
    )

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = BranchAddForm if obj is None else BranchChangeForm
        return super().get_form(request, obj, **kwargs)

    @admin.display(description=_("next two weeks"))
    def calendar_preview(self, branch: Branch) -> str:
        """The next days as the SLA clocks see them, so an admin sees what the settings mean."""
        import datetime as dt

        from django.utils import timezone as dj_timezone

        from pst_helpdesk_ext.calendar import CalendarError

        try:
            calendar = branch.working_calendar
        except CalendarError as exc:
            return str(exc)
        today = dj_timezone.now().astimezone(calendar.tz).date()
        reasons = {
            "weekly_closed": _("closed"),
            "public_holiday": _("public holiday"),
            "cuti_bersama": _("cuti bersama"),
            "extra_closed": _("closed (office)"),
            "extra_open": _("open (office)"),
            "ramadan": _("Ramadan hours"),
            "regular": "",
        }
        rows = []
        for offset in range(CALENDAR_PREVIEW_DAYS):
            info = calendar.day_info(today + dt.timedelta(days=offset))
            name = info.holiday_name_id or info.holiday_name_en
            rows.append(
                (
                    info.date.strftime("%a %Y-%m-%d"),
                    str(info.hours) if info.hours else "—",
                    " ".join(str(x) for x in (reasons.get(info.kind, info.kind), name) if x),
                )
            )
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("code", "name", "timezone", "email") if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Branch, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = create_branch(
            form.cleaned_data["code"],
            form.cleaned_data["name"],
            form.cleaned_data["timezone"],
            form.cleaned_data.get("email") or "",
        )
        obj.pk, obj.queue = created.pk, created.queue

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a branch with history is deactivated, never deleted

    @admin.display(description=_("can sync"), boolean=True)
    def can_sync_display(self, branch: Branch) -> bool:
        return branch.can_sync

    @admin.display(description=_("last seen"))
    def last_seen(self, branch: Branch) -> Any:
        state = getattr(branch, "sync_state", None)
        return state.last_seen_at if state and state.last_seen_at else "—"

    @admin.display(description=_("ops rejected"))
    def rejected_ops(self, branch: Branch) -> Any:
        state = getattr(branch, "sync_state", None)
        return state.rejected_count if state else 0

    @admin.display(description=_("clock skew (seconds)"))
    def clock_skew(self, branch: Branch) -> Any:
        state = getattr(branch, "sync_state", None)
        skew = state.clock_skew_seconds if state else None
        return "—" if skew is None else skew


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    """Service standards. Clocks already met or breached keep their result; running clocks take
    an edited policy at the next ``pst_sla_tick``."""

    fields = (
        "kind",
        "category",
        "channel",
        "target",
        "start_rule",
        "at_risk_percent",
        "escalate",
        "inactivity_close_days",
        "active",
    )
    list_display = ("__str__", *fields)
    list_filter = ("kind", "active", "escalate", "start_rule")
    list_select_related = ("category", "channel")
    search_fields = ("category__code", "category__name_id", "channel__code")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "category":
            kwargs["queryset"] = ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name_id",
        "name_en",
        "kind",
        "parent",
        "queue_letter",
        "order",
        "active",
    )
    list_filter = ("kind", "active")
    search_fields = ("code", "name_id", "name_en")
    list_select_related = ("parent",)
    ordering = ("kind", "order", "code")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("code",) if obj is not None else ()


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name_id", "name_en", "online", "order")
    list_filter = ("online",)
    search_fields = ("code", "name_id", "name_en")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("code",) if obj is not None else ()


# --- visitors and tickets ---------------------------------------------------------------------


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = (
        "name_display",
        "institution",
        "id_type",
        "masked_id_display",
        "branch",
        "created",
        "purged_at",
    )
    list_filter = ("branch", "id_type", ("purged_at", admin.EmptyFieldListFilter), "created")
    list_select_related = ("branch",)
    search_fields = ("name", "institution", "email")
    date_hierarchy = "created"
    # id_hash and id_last4 are never shown: the masked ID is all anyone needs to see.
    fields = (
        "name",
        "institution",
        "email",
        "phone",
        "id_type",
        "masked_id_display",
        "branch",
        "created",
        "purged_at",
    )
    readonly_fields = fields
    actions = ("erase_personal_data",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # visitors come from the branches' guest books and the intake service

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the branch owns the guest book; corrections are made there

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # erasing personal data keeps the anonymous statistics; deleting would not

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, visitor: Visitor) -> str:
        if visitor.purged_at is not None:
            return gettext("(personal data erased)")
        return visitor.name or "—"

    @admin.display(description=_("ID number"))
    def masked_id_display(self, visitor: Visitor) -> str:
        return visitor.masked_id or "—"

    @admin.action(description=_("Erase the personal data of the selected visitors now"))
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> None:
        from pst_helpdesk_ext.services.personal_data_purge import erase_visitors

        if not request.user.has_perm("pst_helpdesk_ext.change_visitor"):
            self.message_user(request, _("You may not change visitors."), messages.ERROR)
            return
        result = erase_visitors(queryset)
        self.message_user(
            request,
            ngettext(
                "Personal data of %(count)d visitor erased.",
                "Personal data of %(count)d visitors erased.",
                result.visitors,
            )
            % {"count": result.visitors},
            messages.SUCCESS,
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("pst_helpdesk_ext.change_visitor"):
            actions.pop("erase_personal_data", None)
        return actions


@admin.register(PSTTicket)
class PSTTicketAdmin(admin.ModelAdmin):
    list_display = (
        "ticket_display",
        "title",
        "branch",
        "channel",
        "category",
        "subject",
        "visitor_display",
        "created",
    )
    list_filter = ("branch", "channel", "category", "subject")
    search_fields = ("ticket__id", "ticket__title", "origin_id")
    list_select_related = ("ticket", "branch", "channel", "category", "subject", "visitor")
    date_hierarchy = "created"
    fields = (
        "ticket_display",
        "branch",
        "channel",
        "category",
        "subject",
        "visitor_display",
        "origin_id",
        "complete_at",
        "created",
    )
    readonly_fields = (
        "ticket_display",
        "branch",
        "visitor_display",
        "origin_id",
        "complete_at",
        "created",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # PST data is created with its ticket (intake, forms, sync)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # it goes with its helpdesk ticket

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_display(self, pst: PSTTicket) -> str:
        return ticket_link(pst.ticket_id)

    @admin.display(description=_("title"), ordering="ticket__title")
    def title(self, pst: PSTTicket) -> str:
        return pst.ticket.title

    @admin.display(description=_("visitor"))
    def visitor_display(self, pst: PSTTicket) -> str:
        return visitor_label(pst.visitor)


class GuestBookInline(ReadOnlyInline):
    model = GuestBookEntry
    fields = ("visitor_display", "purpose", "consent", "recorded_at")
    readonly_fields = fields

    @admin.display(description=_("visitor"))
    def visitor_display(self, entry: GuestBookEntry) -> str:
        return visitor_label(entry.visitor)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = (
        "queue_number",
        "service_day",
        "branch",
        "service",
        "outcome",
        "wait_display",
        "desk",
        "ticket_display",
    )
    list_filter = ("branch", "service", "outcome", "service_day")
    search_fields = ("queue_number", "origin_id", "desk", "officer", "pst_ticket__ticket__id")
    list_select_related = ("branch", "service", "pst_ticket")
    date_hierarchy = "service_day"
    inlines = (GuestBookInline,)
    readonly_fields = ("ticket_display", "wait_display")
    exclude = ("pst_ticket",)

    @admin.display(description=_("ticket"))
    def ticket_display(self, visit: Visit) -> str:
        return ticket_link(visit.pst_ticket.ticket_id)

    @admin.display(description=_("wait"), ordering="wait_seconds")
    def wait_display(self, visit: Visit) -> str:
        from pst_helpdesk_ext.templatetags.pst_helpdesk import pst_duration

        return pst_duration(visit.wait_seconds) or "—"


@admin.register(GuestBookEntry)
class GuestBookEntryAdmin(ReadOnlyAdmin):
    list_display = ("visit", "branch", "visitor_display", "consent", "recorded_at")
    list_filter = ("consent", "visit__branch")
    search_fields = ("visit__queue_number", "visit__origin_id")
    list_select_related = ("visit", "visit__branch", "visitor")
    fields = ("visit", "visitor_display", "purpose", "consent", "recorded_at")
    readonly_fields = ("visitor_display",)

    @admin.display(description=_("branch office"))
    def branch(self, entry: GuestBookEntry) -> Branch:
        return entry.visit.branch

    @admin.display(description=_("visitor"))
    def visitor_display(self, entry: GuestBookEntry) -> str:
        return visitor_label(entry.visitor)


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ("ticket_display", "branch", "overall", "source", "created")
    list_filter = ("branch", "overall", "source")
    search_fields = ("ticket__id", "comment")
    list_select_related = ("branch",)
    date_hierarchy = "created"
    readonly_fields = ("ticket_display",)
    exclude = ("ticket", "invitation")

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_display(self, rating: Rating) -> str:
        return ticket_link(rating.ticket_id)


@admin.register(RatingInvitation)
class RatingInvitationAdmin(ReadOnlyAdmin):
    """Issued rating links: when, and whether used. The link itself is never stored, only this
    row that makes it single use; it went to the ticket's submitter."""

    list_display = ("ticket_display", "issued_at", "used_at")
    list_filter = ("used_at",)
    search_fields = ("ticket__id",)
    date_hierarchy = "issued_at"
    fields = ("ticket_display", "issued_at", "used_at")
    readonly_fields = fields

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_display(self, invitation: RatingInvitation) -> str:
        return ticket_link(invitation.ticket_id)


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("ticket_display", "branch", "tier", "lapor_ref", "due_at", "created")
    list_filter = ("tier", "branch")
    search_fields = ("ticket__id", "ticket__title", "lapor_ref")
    list_select_related = ("branch",)
    date_hierarchy = "created"
    fields = ("ticket_display", "about_display", "branch", "tier", "lapor_ref", "due_at", "created")
    # The tier decides the deadline: a changed tier goes through the complaint flow, which
    # recounts due_at (and helpdesk's due date) on the branch calendar. The LAPOR! reference,
    # often known later, is checked like the forms check it.
    readonly_fields = ("ticket_display", "about_display", "branch", "due_at", "created")

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        obj.lapor_ref = complaint_service.clean_lapor_ref(obj.lapor_ref)
        super().save_model(request, obj, form, change)
        if "tier" in form.changed_data:
            complaint_service.change_tier(obj, obj.tier)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)

        def clean_lapor_ref(self: Any) -> str:
            try:
                return complaint_service.clean_lapor_ref(self.cleaned_data["lapor_ref"])
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["lapor_ref"]) from None

        form.clean_lapor_ref = clean_lapor_ref
        return form

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # complaints are filed by visitors through the complaint form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_display(self, complaint: Complaint) -> str:
        return ticket_link(complaint.ticket_id)

    @admin.display(description=_("about ticket"))
    def about_display(self, complaint: Complaint) -> str:
        return ticket_link(complaint.about_id)


# --- sync (read-only) -------------------------------------------------------------------------


@admin.register(BranchSyncState)
class BranchSyncStateAdmin(ReadOnlyAdmin):
    list_display = (
        "branch",
        "last_seen_at",
        "hwm_seq",
        "applied_count",
        "rejected_count",
        "clock_skew_seconds",
        "agent_version",
    )
    search_fields = ("branch__code", "branch__name")
    list_select_related = ("branch",)


@admin.register(AppliedOp)
class AppliedOpAdmin(ReadOnlyAdmin):
    list_display = ("branch", "seq", "kind", "entity_id", "result", "code", "applied_at")
    list_filter = ("result", "kind", "branch")
    search_fields = ("op_id", "entity_id", "code", "detail")
    list_select_related = ("branch",)
    date_hierarchy = "applied_at"
    ordering = ("branch", "-seq")


@admin.register(FeedItem)
class FeedItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "branch", "kind", "entity_id", "created")
    list_filter = ("kind", "branch")
    search_fields = ("entity_id",)
    list_select_related = ("branch",)
    ordering = ("-id",)


@admin.register(FeedHead)
class FeedHeadAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "pruned_through", "pruned_at")


# --- online channel -----------------------------------------------------------------------------


@admin.register(OnlineRequest)
class OnlineRequestAdmin(ReadOnlyAdmin):
    """What the public request page recorded: shown, never changed (it is the visitor's record)."""

    list_display = (
        "ticket_display",
        "search_query",
        "search_results",
        "articles_opened_count",
        "complete_at_submission",
        "created",
    )
    list_filter = ("complete_at_submission",)
    search_fields = ("pst_ticket__ticket__id", "search_query")
    date_hierarchy = "created"
    exclude = ("pst_ticket",)
    readonly_fields = ("ticket_display",)

    @admin.display(description=_("ticket"), ordering="pst_ticket__ticket_id")
    def ticket_display(self, request: OnlineRequest) -> str:
        return ticket_link(request.pst_ticket.ticket_id)


@admin.register(WhatsAppMessage)
class WhatsAppMessageAdmin(ReadOnlyAdmin):
    """Every WhatsApp message in and out, with the phone masked (the logging sender's record)."""

    list_display = ("sent_at", "direction", "phone_display", "ticket_display", "kind", "status")
    list_filter = ("direction", "status", "kind")
    list_select_related = ("thread__pst_ticket",)
    date_hierarchy = "sent_at"
    exclude = ("thread", "followup")
    readonly_fields = ("phone_display", "ticket_display")

    @admin.display(description=_("WhatsApp number"))
    def phone_display(self, message: WhatsAppMessage) -> str:
        return message.thread.masked_phone if message.thread else "—"

    @admin.display(description=_("ticket"))
    def ticket_display(self, message: WhatsAppMessage) -> str:
        return ticket_link(message.thread.pst_ticket.ticket_id if message.thread else None)


@admin.register(WhatsAppThread)
class WhatsAppThreadAdmin(ReadOnlyAdmin):
    """Which ticket talks to which WhatsApp number; the number only ever masked."""

    list_display = ("ticket_display", "phone_display", "created")
    list_select_related = ("pst_ticket",)
    date_hierarchy = "created"
    exclude = ("pst_ticket", "wa_id")
    readonly_fields = ("ticket_display", "phone_display")

    @admin.display(description=_("WhatsApp number"))
    def phone_display(self, thread: WhatsAppThread) -> str:
        return thread.masked_phone

    @admin.display(description=_("ticket"), ordering="pst_ticket__ticket_id")
    def ticket_display(self, thread: WhatsAppThread) -> str:
        return ticket_link(thread.pst_ticket.ticket_id)


@admin.register(PersonalDataExport)
class PersonalDataExportAdmin(ReadOnlyAdmin):
    """Who downloaded a list with personal data unmasked, when, with which filters."""

    list_display = ("at", "username", "what", "file_format", "rows")
    list_filter = ("what", "file_format")
    search_fields = ("username",)
    date_hierarchy = "at"


@admin.register(Compensation)
class CompensationAdmin(ReadOnlyAdmin):
    """What visitors were given for breached service standards (recorded on the ticket page)."""

    list_display = ("pst_ticket", "kind", "note", "given_on", "recorded_by", "recorded_at")
    list_filter = ("kind",)
    date_hierarchy = "given_on"


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """In-person appointments with their check-in codes: booked on a ticket's conversation page,
    cancelled here (the branch hears of it with its next sync)."""

    list_display = ("code", "branch", "start", "service", "status", "ticket", "queue_number")
    list_filter = ("status", "branch")
    search_fields = ("code", "ticket__id")
    fields = (
        "code",
        "status",
        "branch",
        "service",
        "start",
        "minutes",
        "ticket",
        "followup",
        "checked_in_at",
        "queue_number",
        "visit_origin_id",
        "created",
    )
    readonly_fields = fields
    actions = ("cancel_appointments",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # booked on the ticket's conversation page, with its e-mail to the visitor

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancelled, never deleted: the branch must hear of it

    @admin.action(description=_("Cancel the selected appointments"), permissions=["change"])
    def cancel_appointments(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        from pst_helpdesk_ext.services.appointments import cancel

        done = sum(1 for booking in queryset if cancel(booking))
        self.message_user(
            request,
            ngettext(
                "%(count)d appointment cancelled; its office is told with the next sync.",
                "%(count)d appointments cancelled; their offices are told with the next sync.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(DeskPause)
class DeskPauseAdmin(ReadOnlyAdmin):
    """Desks' pauses as the branches reported them (ops ``desk.paused`` / ``desk.resumed``)."""

    list_display = ("branch", "service_day", "desk", "reason", "started_at", "ended_at")
    list_filter = ("reason", "branch")
    date_hierarchy = "service_day"

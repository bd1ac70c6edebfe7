"""Downloads of the staff lists: PST tickets and walk-in visits with their guest-book entries.

What it owns: the columns of each list (human labels, never codes), masking of personal data for
users without helpdesk's "view visitor" permission, and the log of every download that held
personal data unmasked (``PersonalDataExport``, written before the first byte goes out).

Personal data (UU PDP): the ID number is never exported whole (only its masked last four digits
are stored at all); name, e-mail and phone are masked (``R*** S***``, ``r***@example.org``,
``********7890``) unless the user has ``pst_helpdesk_ext.view_visitor`` and asked for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import PersonalDataExport, PSTTicket, SLAState, Visit, Visitor
from pst_helpdesk_ext.services.exports import Column, Table, file_stem

PERSONAL_DATA_PERMISSION: Final = "pst_helpdesk_ext.view_visitor"


def may_see_personal_data(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PERSONAL_DATA_PERMISSION))


def mask_name(name: str) -> str:
    return " ".join(part[0] + "***" for part in name.split() if part)


def mask_email(email: str) -> str:
    local, at, domain = email.partition("@")
    return (local[:1] + "***" + at + domain) if at else ("***" if email else "")


def mask_phone(phone: str) -> str:
    digits = [ch for ch in phone if ch.isdigit()]
    return ("*" * max(len(digits) - 4, 0) + "".join(digits[-4:])) if digits else ""


def visitor_cells(visitor: Visitor | None, personal: bool) -> list[str]:
    """Name, institution, ID type, masked ID, e-mail, phone."""
    if visitor is None:
        return ["", "", "", "", "", ""]
    name, email, phone = visitor.name, visitor.email, visitor.phone
    if not personal:
        name, email, phone = mask_name(name), mask_email(email), mask_phone(phone)
    return [
        name,
        visitor.institution,
        visitor.get_id_type_display() if visitor.id_type else "",
        visitor.masked_id,
        email,
        phone,
    ]


def visitor_columns() -> list[Column]:
    return [
        Column("visitor_name", _("Visitor")),
        Column("institution", _("Institution")),
        Column("id_type", _("ID type")),
        Column("id_number", _("ID number (masked)")),
        Column("email", _("E-mail")),
        Column("phone", _("Phone")),
    ]


def minutes(seconds: int | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(seconds) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def log_personal_data_export(
    user: Any, what: str, filters: dict[str, str], file_format: str, rows: int
) -> PersonalDataExport:
    return PersonalDataExport.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=user.get_username() if user is not None else "",
        what=what,
        filters=filters,
        file_format=file_format,
        rows=rows,
    )


def tickets_table(
    tickets: QuerySet[PSTTicket], *, personal: bool, filters: dict[str, str], name: str
) -> Table:
    columns = [
        Column("ticket", _("Ticket")),
        Column("title", _("Title")),
        Column("branch", _("Branch office")),
        Column("channel", _("Channel")),
        Column("service", _("Service")),
        Column("subject", _("Subject")),
        Column("status", _("Status")),
        Column("created", _("Created")),
        Column("queue_number", _("Queue number")),
        Column("wait_minutes", _("Wait (minutes)")),
        Column("sla_state", _("Service standard")),
        Column("sla_due", _("Due")),
        *visitor_columns(),
    ]
    states = dict(SLAState.choices)

    def rows() -> Iterator[list[Any]]:
        for pst in tickets.select_related("visitor").iterator(chunk_size=2000):
            ticket = pst.ticket
            visit = getattr(pst, "visit", None)
            yield [
                f"{ticket.queue.slug}-{ticket.pk}",
                ticket.title,
                pst.branch.name if pst.branch else "",
                pst.channel.name,
                pst.category.name if pst.category else "",
                pst.subject.name if pst.subject else "",
                ticket.get_status_display(),
                ticket.created,
                visit.queue_number if visit else "",
                minutes(visit.wait_seconds) if visit else None,
                str(states.get(pst.sla_state, pst.sla_state)),
                pst.sla_due_at,
                *visitor_cells(pst.visitor, personal),
            ]

    return Table(
        name=name,
        title=_("PST tickets"),
        columns=columns,
        rows=rows(),
        method=personal_note(personal),
        filters=filters,
    )


def visits_table(
    visits: QuerySet[Visit], *, personal: bool, filters: dict[str, str], name: str
) -> Table:
    columns = [
        Column("branch", _("Branch office")),
        Column("service_day", _("Service day")),
        Column("queue_number", _("Queue number")),
        Column("service", _("Service")),
        Column("issued_at", _("Number issued at")),
        Column("called_at", _("Called at")),
        Column("finished_at", _("Finished at")),
        Column("desk", _("Desk")),
        Column("officer", _("Officer")),
        Column("wait_minutes", _("Wait (minutes)")),
        Column("service_minutes", _("Service time (minutes)")),
        Column("outcome", _("Outcome")),
        Column("follow_up", _("Follow-up")),
        Column("ticket", _("Ticket")),
        *visitor_columns(),
        Column("purpose", _("Purpose of visit")),
        Column("consent", _("Consent to data processing")),
    ]

    def rows() -> Iterator[list[Any]]:
        queryset = visits.select_related(
            "branch", "service", "guestbook__visitor", "pst_ticket__ticket__queue"
        )
        for visit in queryset.iterator(chunk_size=2000):
            entry = getattr(visit, "guestbook", None)
            ticket = visit.pst_ticket.ticket
            yield [
                visit.branch.name,
                visit.service_day,
                visit.queue_number,
                visit.service.name,
                visit.issued_at,
                visit.called_at,
                visit.finished_at,
                visit.desk,
                visit.officer,
                minutes(visit.wait_seconds),
                minutes(visit.service_seconds),
                visit.get_outcome_display(),
                visit.get_follow_up_display() if visit.follow_up else "",
                f"{ticket.queue.slug}-{ticket.pk}",
                *visitor_cells(entry.visitor if entry else None, personal),
                entry.purpose if entry else "",
                entry.consent if entry else None,
            ]

    return Table(
        name=name,
        title=_("Walk-in visits"),
        columns=columns,
        rows=rows(),
        method=personal_note(personal),
        filters=filters,
    )


def personal_note(personal: bool) -> str:
    if personal:
        return _(
            "Holds personal data (UU 27/2022 on personal data protection): use it only for the "
            "purpose it was collected for, keep it no longer than needed, do not pass it on. "
            "This download was recorded. ID numbers are never exported whole."
        )
    return _(
        "Personal data masked (names, e-mail addresses and phone numbers show only their first "
        "or last characters; ID numbers only their last four digits)."
    )


def download_stem(kind: str, filters: dict[str, Any]) -> str:
    """``pst-tickets-2026-11-01_2026-11-30``, ``pst-visits-1222-all-dates``: the list, its branch
    and its period (``exports.file_stem``)."""
    return file_stem(
        kind, filters.get("date_from"), filters.get("date_to"), branch=filters.get("branch")
    )

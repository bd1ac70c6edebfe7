"""The SLA cron tick (``pst_sla_tick``) and its report; batch re-evaluation.

What it owns: one run over every open clock at *now* in chunks (``tick``): clocks stopped by a
path that sends no helpdesk signal, every open clock re-evaluated and saved in one statement per
chunk, breaches written into the ticket's history once (escalating by one priority step where the
policy says so; a breach found long after it happened is kept on the ticket only), and online
conversations closed after the policy's days without the visitor's answer. Running it twice at
the same *now* changes nothing the second time. One ticket that cannot be evaluated never stops
the tick: it is logged with its id and the reason, counted in ``TickReport.errors`` and left as
it was. Also ``recompute_all`` and ``walkin_visits_changed`` (the same evaluation for a chosen
set of tickets).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.calendar import WorkingCalendar
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    PSTTicket,
    SLAState,
)
from pst_helpdesk_ext.services.sla.actions import lock_clock, record_followup, ticket_language
from pst_helpdesk_ext.services.sla.clock import (
    changed_fields,
    complaint_facts,
    complaint_of,
    evaluate,
    evaluate_online,
    preload_complaints,
    queue_finishes,
    restore,
    snapshot,
    stop_clock,
)
from pst_helpdesk_ext.services.sla.policy import (
    OPEN_CLOCK_STATES,
    STOP_STATUSES,
    PolicyTable,
    calendar_for,
    checked_now,
    local_label,
    visit_of,
)

logger = logging.getLogger("pst.sla")


@dataclass
class TickReport:
    """What one ``tick`` did (the command prints it)."""

    now: dt.datetime
    evaluated: int = 0
    changed: int = 0
    stopped_without_signal: int = 0
    breaches_noted: int = 0
    breaches_too_old: int = 0
    escalated: int = 0
    closed: int = 0
    errors: list[str] = field(default_factory=list)

    def failed(self, pst: PSTTicket, exc: BaseException) -> None:
        """One ticket could not be processed: log its id and the reason, count it, go on."""
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("SLA tick: ticket #%s skipped: %s", pst.ticket_id, reason, exc_info=exc)
        self.errors.append(f"#{pst.ticket_id}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "evaluated": self.evaluated,
            "changed": self.changed,
            "stopped_without_signal": self.stopped_without_signal,
            "breaches_noted": self.breaches_noted,
            "breaches_too_old": self.breaches_too_old,
            "escalated": self.escalated,
            "closed": self.closed,
            "errors": len(self.errors),
        }


def _tick_psts(queryset: Any) -> Any:
    return queryset.select_related(
        "channel", "branch", "ticket", "ticket__queue", "sla_policy", "visit"
    ).order_by("pk")


def clocks_to_evaluate(queryset: Any) -> Any:
    """Only what evaluation reads (channel, branch, the walk-in visit): a tick over thousands of
    clocks builds four model instances per row instead of seven. The ticket itself is read
    only for a clock starting at submission, once."""
    return queryset.select_related("channel", "branch", "visit").order_by("pk")


def tick(now: dt.datetime | None = None, *, batch_size: int | None = None) -> TickReport:
    """One cron run: evaluate every open clock at ``now``, note breaches in the ticket history
    (escalating by one priority step where the policy says so), close online conversations whose
    visitor has not answered for the policy's days. Running it twice at the same ``now`` changes
    nothing the second time."""
    now = checked_now(now)
    report = TickReport(now=now)
    policies = PolicyTable.load()
    size = batch_size or pst_settings.SLA_TICK_BATCH_SIZE
    _stop_unsignalled(now, policies, report)
    open_clocks = PSTTicket.objects.filter(
        Q(sla_state__in=OPEN_CLOCK_STATES)
        | Q(sla_state=SLAState.PENDING, channel__online=False)
        | Q(sla_state=SLAState.PENDING, sla_started_at__isnull=True, complete_at__isnull=False)
        | Q(sla_state=SLAState.PENDING, ticket__pst_complaint__isnull=False)
    )
    for chunk in chunks(clocks_to_evaluate(open_clocks), size):
        report.evaluated += len(chunk)
        report.changed += save_evaluated(chunk, now, policies, report)
    unnoted = PSTTicket.objects.filter(
        sla_state=SLAState.BREACHED, sla_breach_noted_at__isnull=True
    )
    # A breach found long after it happened (old visits synced late, or `--recompute` on a site's
    # history) is kept on the ticket, not written into old tickets' history and mailed around.
    old = now - dt.timedelta(days=pst_settings.SLA_BREACH_NOTE_MAX_AGE_DAYS)
    report.breaches_too_old = unnoted.filter(sla_breached_at__lt=old).update(
        sla_breach_noted_at=now
    )
    for pst in _tick_psts(unnoted).iterator(chunk_size=size):
        _guarded(report, pst, lambda p=pst: _note_breach(p, now, report))
    days = policies.min_inactivity_days
    if days:
        idle = PSTTicket.objects.filter(
            channel__online=True,
            waiting_for_visitor_since__lte=now - dt.timedelta(days=days),
            ticket__status__in=Ticket.OPEN_STATUSES,
        )
        for pst in _tick_psts(idle).iterator(chunk_size=size):
            _guarded(report, pst, lambda p=pst: _close_inactive(p, now, policies, report))
    return report


def chunks(queryset: Any, size: int) -> Iterator[list[PSTTicket]]:
    chunk: list[PSTTicket] = []
    for pst in queryset.iterator(chunk_size=size):
        chunk.append(pst)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _guarded(report: TickReport, pst: PSTTicket, action: Any) -> None:
    """One ticket's failure is logged and counted, and does not stop the others (its own
    changes are rolled back: the action runs in a savepoint)."""
    try:
        with transaction.atomic():
            action()
    except Exception as exc:  # one bad ticket must not stop the tick
        report.failed(pst, exc)


def _stop_unsignalled(now: dt.datetime, policies: PolicyTable, report: TickReport) -> None:
    """Tickets resolved or closed by a path that sends no helpdesk signal (helpdesk's API PATCH,
    kanban): their clock stops at the follow-up that set the status, else the last change."""
    rows = (
        PSTTicket.objects.filter(
            Q(channel__online=True) | Q(ticket__pst_complaint__isnull=False),
            sla_stopped_at__isnull=True,
            ticket__status__in=STOP_STATUSES,
        )
        .exclude(sla_state__in=(SLAState.MET, SLAState.NONE))
        .distinct()
    )
    for pst in _tick_psts(rows):
        _guarded(report, pst, lambda p=pst: _stop_one_unsignalled(p, now, policies, report))


def _stop_one_unsignalled(
    pst: PSTTicket, now: dt.datetime, policies: PolicyTable, report: TickReport
) -> None:
    at = (
        FollowUp.objects.filter(ticket_id=pst.ticket_id, new_status__in=STOP_STATUSES)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    ) or pst.ticket.modified
    at = min(at, now)
    locked = lock_clock(pst)
    if locked.sla_stopped_at is not None:
        return
    calendar = calendar_for(locked.branch)
    before = snapshot(locked)
    stop_clock(locked, at, calendar)
    evaluate_online(locked, now, policies.for_ticket(locked), calendar)
    locked.save(update_fields=changed_fields(locked, before))
    report.stopped_without_signal += 1


def _note_breach(pst: PSTTicket, now: dt.datetime, report: TickReport) -> None:
    """Write the breach into the ticket's history once; escalate an open ticket when its policy
    says so (one priority step, as helpdesk's escalate_tickets does, through update_ticket)."""
    with transaction.atomic():
        pst = lock_clock(pst)
        if pst.sla_breach_noted_at is not None or pst.sla_state != SLAState.BREACHED:
            return
        ticket = pst.ticket
        calendar = calendar_for(pst.branch)
        policy = pst.sla_policy
        escalate = (
            policy is not None
            and policy.escalate
            and pst.channel.online
            and pst.sla_stopped_at is None  # answered late: nothing left to hurry
            and ticket.status in Ticket.OPEN_STATUSES
            and pst.sla_escalated_at is None
            and ticket.priority > 1
        )
        with translation.override(ticket_language(ticket)):
            comment = _breach_comment(pst, calendar)
            if escalate:
                comment += " " + _("Priority raised from %(old)s to %(new)s.") % {
                    "old": ticket.get_priority_display(),
                    "new": dict(Ticket.PRIORITY_CHOICES).get(ticket.priority - 1),
                }
            changes: dict[str, Any] = {"priority": ticket.priority - 1} if escalate else {}
            record_followup(
                ticket,
                None,
                title=_("Service standard breached"),
                comment=comment,
                public=False,
                **changes,
            )
        pst.sla_breach_noted_at = now
        fields = ["sla_breach_noted_at"]
        if escalate:
            pst.sla_escalated_at = now
            fields.append("sla_escalated_at")
            Ticket.objects.filter(pk=ticket.pk).update(last_escalation=now)
            report.escalated += 1
        pst.save(update_fields=fields)
        report.breaches_noted += 1


def _breach_comment(pst: PSTTicket, calendar: WorkingCalendar) -> str:
    policy = pst.sla_policy
    complaint = complaint_of(pst)
    if complaint is not None:
        facts = complaint_facts(pst, complaint, pst.sla_breached_at or timezone.now(), calendar)
        if pst.sla_breached_at == facts.respond_due and facts.respond_due < facts.settle_due:
            return _(
                "Complaint standard breached: no answer to the complainant by %(due)s "
                "(standard: first answer within %(days)s working days)."
            ) % {
                "due": local_label(facts.respond_due, calendar),
                "days": pst_settings.COMPLAINT_FIRST_RESPONSE_DAYS,
            }
        return _("Complaint standard breached: not settled by %(due)s (%(tier)s).") % {
            "due": local_label(facts.settle_due, calendar),
            "tier": complaint.get_tier_display(),
        }
    if not pst.channel.online:
        waited = (pst.sla_elapsed_seconds or 0) // 60
        return _(
            "Walk-in standard breached: the visitor was called %(waited)s minutes after the desk "
            "became free (standard: %(target)s minutes)."
        ) % {"waited": waited, "target": policy.target if policy else "?"}
    if pst.sla_stopped_at is not None:
        return _(
            "Service standard breached: answered %(at)s, due %(due)s (standard: %(days)s working "
            "days from the complete request)."
        ) % {
            "at": local_label(pst.sla_stopped_at, calendar),
            "due": local_label(pst.sla_due_at, calendar),
            "days": policy.target if policy else "?",
        }
    return _(
        "Service standard breached: no answer yet, due %(due)s (standard: %(days)s working days "
        "from the complete request)."
    ) % {"due": local_label(pst.sla_due_at, calendar), "days": policy.target if policy else "?"}


def _close_inactive(
    pst: PSTTicket, now: dt.datetime, policies: PolicyTable, report: TickReport
) -> None:
    """Close an online conversation whose visitor has not answered for the policy's days, with a
    public follow-up telling them why and that a reply reopens it (helpdesk e-mails it)."""
    with transaction.atomic():
        pst = lock_clock(pst)
        policy = policies.for_ticket(pst)
        days = policy.inactivity_close_days if policy else pst_settings.SLA_INACTIVITY_CLOSE_DAYS
        since = pst.waiting_for_visitor_since
        if (
            not days
            or since is None
            or since > now - dt.timedelta(days=days)
            or pst.ticket.status not in Ticket.OPEN_STATUSES
        ):
            return
        calendar = calendar_for(pst.branch)
        with translation.override(ticket_language(pst.ticket)):
            record_followup(
                pst.ticket,
                None,
                title=_("Closed: no answer from the visitor"),
                comment=_(
                    "We are closing this conversation because we have not received your answer "
                    "for %(days)s days (since %(since)s). If you still need help, just reply to "
                    "this message: your reply reopens the request."
                )
                % {"days": days, "since": local_label(since, calendar)},
                public=True,
                new_status=Ticket.CLOSED_STATUS,
            )
        before = snapshot(pst)
        pst.waiting_for_visitor_since = None
        if pst.sla_started_at is not None or pst.sla_state == SLAState.PENDING:
            stop_clock(pst, now, calendar)
        evaluate_online(pst, now, policy, calendar)
        pst.save(update_fields=changed_fields(pst, before))
        report.closed += 1


def walkin_visits_changed(visit_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Evaluate the walk-in clocks of these visits now (the intake may call this after commit;
    ``pst_sla_tick`` does the same for every visit whose clock is still open). Returns the number
    of tickets whose clock changed."""
    psts = list(
        PSTTicket.objects.filter(visit__pk__in=list(visit_ids)).select_related(
            "channel", "branch", "visit", "sla_policy", "ticket"
        )
    )
    return save_evaluated(psts, checked_now(now), PolicyTable.load())


def recompute_all(
    now: dt.datetime | None = None, queryset: Any = None, report: TickReport | None = None
) -> int:
    """Re-evaluate the clocks of ``queryset`` (default: every PST ticket) in batches; the number
    whose clock changed. Final clocks (met, breached) stay as they are. With ``report``, a ticket
    that fails is counted there and the others are still done."""
    now = checked_now(now)
    policies = PolicyTable.load()
    rows = PSTTicket.objects.all() if queryset is None else queryset
    changed = 0
    for chunk in chunks(clocks_to_evaluate(rows), pst_settings.SLA_TICK_BATCH_SIZE):
        changed += save_evaluated(chunk, now, policies, report)
    return changed


def save_evaluated(
    psts: list[PSTTicket],
    now: dt.datetime,
    policies: PolicyTable,
    report: TickReport | None = None,
) -> int:
    """Evaluate ``psts`` and write the clocks that changed; the number written.

    With a ``report`` (the tick, ``recompute_all``) a ticket that cannot be evaluated or saved is
    logged with its id and reason, counted in ``report.errors`` and left as it was; the others
    are still done. Without one the error is raised (a caller acting on its own tickets)."""
    walkins = [v for v in (visit_of(p) for p in psts if not p.channel.online) if v is not None]
    finishes = queue_finishes(walkins) if walkins else {}
    preload_complaints(psts)
    changed_rows: list[PSTTicket] = []
    changed_fields: set[str] = set()
    for pst in psts:
        before = snapshot(pst)
        try:
            changed = evaluate(pst, now, policies, finishes)
        except Exception as exc:
            if report is None:
                raise
            restore(pst, before)
            report.failed(pst, exc)
            continue
        if changed:
            changed_rows.append(pst)
            changed_fields.update(changed)
    if not changed_rows:
        return 0
    try:
        _write_clocks(changed_rows, sorted(changed_fields))
    except Exception:
        if report is None:
            raise
        # One row the database refuses must not lose the others: write them one by one.
        written = 0
        for pst in changed_rows:
            try:
                _write_clocks([pst], sorted(changed_fields))
                written += 1
            except Exception as exc:
                report.failed(pst, exc)
        return written
    return len(changed_rows)


def _write_clocks(rows: Sequence[PSTTicket], names: Sequence[str]) -> None:
    """Save ``names`` of ``rows``: one parameterised UPDATE run with ``executemany``.

    Why not ``bulk_update``: its ``CASE WHEN`` per field and row costs milliseconds per row at
    tick sizes; the same values through each field's ``get_db_prep_save`` in one prepared
    statement cost microseconds. Like ``bulk_update`` it sends no signals.
    """
    meta = PSTTicket._meta
    fields = [meta.get_field(name) for name in names]
    connection = connections[router.db_for_write(PSTTicket)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    statement = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - identifiers from meta
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(statement, params)

"""Compensation for a breached service standard: recording what was given, and the figures.

What it owns: the rule that compensation is recorded only for a clock that was breached, once,
with what was given (a kind, and a description when the kind is "other"), on a day between the
clock's start and today; and the counts the SLA report shows (breaches compensated, per kind).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import Compensation, PSTTicket, SLAState
from pst_helpdesk_ext.personal_data import mask_nik_in_text

MAX_NOTE_CHARS = 500


def record(
    pst: PSTTicket, *, user: Any, kind: str, note: str = "", given_on: dt.date | None = None
) -> Compensation:
    """Record the compensation of ``pst``'s breach; ``ValidationError`` (nothing saved) says why
    it cannot be."""
    note = mask_nik_in_text((note or "").strip())  # free text: never a whole ID number
    today = timezone.localdate()
    given_on = given_on or today
    errors: dict[str, str] = {}
    if pst.sla_state != SLAState.BREACHED:
        errors["kind"] = _(
            "Compensation is recorded only for a breached service standard; this ticket's clock "
            "is %(state)s."
        ) % {"state": SLAState(pst.sla_state).label}
    elif Compensation.objects.filter(pst_ticket=pst).exists():
        errors["kind"] = _("The compensation of this breach is already recorded.")
    if kind not in Compensation.Kind.values:
        errors["kind"] = _("Choose what was given.")
    elif kind == Compensation.Kind.OTHER and not note:
        errors["note"] = _("Describe what was given.")
    if len(note) > MAX_NOTE_CHARS:
        errors["note"] = _("Write at most %(max)d characters (now %(length)d).") % {
            "max": MAX_NOTE_CHARS,
            "length": len(note),
        }
    started = pst.sla_started_at
    if given_on > today:
        errors["given_on"] = _("The day it was given cannot be after today.")
    elif started is not None and given_on < timezone.localtime(started).date():
        errors["given_on"] = _(
            "The day it was given cannot be before the clock started (%(day)s)."
        ) % {"day": timezone.localtime(started).date().isoformat()}
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Compensation.objects.create(
                pst_ticket=pst, kind=kind, note=note, given_on=given_on, recorded_by=user
            )
    except IntegrityError as exc:  # recorded by someone else a moment ago
        raise ValidationError(
            {"kind": _("The compensation of this breach is already recorded.")}
        ) from exc


def figures(breaches: QuerySet[PSTTicket]) -> dict[str, Any]:
    """How many of ``breaches`` were compensated, in total and per kind (labels, not codes)."""
    rows = (
        Compensation.objects.filter(pst_ticket__in=breaches.order_by().values("pk"))
        .values("kind")
        .annotate(count=Count("pk"))
        .order_by("kind")
    )
    labels = dict(Compensation.Kind.choices)
    per_kind = [(str(labels.get(r["kind"], r["kind"])), r["count"]) for r in rows]
    return {"compensated": sum(count for _label, count in per_kind), "per_kind": per_kind}

"""What every write of the walk-in flow shares: the refusal, the branch clock, the visit read
inside a write, and the one idempotency rule for form tokens and API request ids.

Rules:
- ``Refused`` carries a translated message naming the value; callers show it as is.
- ``FormSubmit`` is read and recorded inside the caller's ``outbox.write()`` transaction, so a
  repeated submit either sees the first one's record or waits for it; it never writes twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from branch_agent.models import FormToken, Visit


class Refused(Exception):
    """A request the flow cannot take, with a message for staff or the visitor."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def now_local(now: dt.datetime | None = None) -> dt.datetime:
    return timezone.localtime(now or timezone.now())


def iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class FormSubmit:
    """One submit of a form token (or API request id) for one action.

    ``repeat`` is true when the same token already did this action; ``earlier_visit`` is the
    visit that first submit touched (None when it found nobody, e.g. a call to an empty queue).
    A submit without a token is never a repeat and records nothing.
    """

    token: str | None
    action: str
    earlier: FormToken | None

    @property
    def repeat(self) -> bool:
        return self.earlier is not None

    @property
    def earlier_visit(self) -> Visit | None:
        return self.earlier.visit if self.earlier is not None else None

    def record(self, visit: Visit | None) -> None:
        """Remember this submit, in the caller's write, so a repeat returns its result."""
        if self.token:
            FormToken.objects.create(token=self.token, action=self.action, visit=visit)


def form_submit(token: str | None, action: str) -> FormSubmit:
    """Look up ``token`` for ``action``; call inside ``outbox.write()``."""
    earlier = None
    if token:
        earlier = (
            FormToken.objects.select_related("visit").filter(token=token, action=action).first()
        )
    return FormSubmit(token, action, earlier)


def visit_in_write(visit_id: uuid.UUID | str) -> Visit:
    """The visit, read inside the caller's write transaction (the process write lock and BEGIN
    IMMEDIATE already serialise writers, so no row lock is needed)."""
    try:
        return Visit.objects.select_related("service").get(pk=visit_id)
    except (Visit.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Refused(_("No visit %(id)s.") % {"id": visit_id}, code="unknown_visit") from None

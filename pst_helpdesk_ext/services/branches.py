"""Branch offices: creation with their helpdesk queue, and lookups with clear errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from helpdesk.models import Queue

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import Branch, BranchSyncState


def queue_slug(code: str) -> str:
    return f"pst-{code}"


@transaction.atomic
def create_branch(code: str, name: str, timezone: str | None = None, email: str = "") -> Branch:
    """Create a branch, its helpdesk queue (slug ``pst-<code>``) and its sync state."""
    branch = Branch(code=code, name=name, timezone=timezone or pst_settings.DEFAULT_TIMEZONE)
    branch.full_clean(exclude=["queue"])
    if Branch.objects.filter(code=code).exists():
        raise ValidationError({"code": _("Branch %(code)s already exists.") % {"code": code}})
    queue, _created = Queue.objects.get_or_create(
        slug=queue_slug(code),
        defaults={
            "title": f"PST {code} {name}"[:100],
            "email_address": email or None,
            "locale": "id",
            "allow_public_submission": True,
            "allow_email_submission": False,
        },
    )
    branch.queue = queue
    branch.save()
    BranchSyncState.objects.create(branch=branch)
    return branch


def get_branch(code: str) -> Branch:
    try:
        return Branch.objects.select_related("queue").get(code=code)
    except Branch.DoesNotExist:
        known = ", ".join(Branch.objects.values_list("code", flat=True)[:20]) or _("none")
        raise ValidationError(
            {
                "branch": _("Unknown branch %(code)s (known: %(known)s).")
                % {"code": code, "known": known}
            }
        ) from None


def ensure_complaints_queue() -> Queue:
    queue, _created = Queue.objects.get_or_create(
        slug=pst_settings.COMPLAINTS_QUEUE,
        defaults={
            "title": "PST Pengaduan / Complaints",
            "locale": "id",
            "allow_public_submission": False,
            "allow_email_submission": False,
        },
    )
    return queue

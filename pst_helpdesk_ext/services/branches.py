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
    check_queue_email(email)
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


def check_queue_email(email: str) -> None:
    """The queue's sender address (helpdesk's ``Queue.email_address``): empty, or an e-mail
    address. Without one, helpdesk sends visitors 'NO QUEUE EMAIL ADDRESS DEFINED <...>'."""
    from django.core.validators import validate_email

    if not email:
        return
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {
                "email": _(
                    "%(email)s is not an e-mail address; give the queue's sender, e.g. "
                    "pst1222@bps.go.id."
                )
                % {"email": email}
            }
        ) from None


@transaction.atomic
def set_queue_email(code: str, email: str) -> Branch:
    """Give a branch's helpdesk queue its sender address (what visitors' e-mails come from)."""
    if not email:
        raise ValidationError({"email": _("Give the queue's e-mail address.")})
    check_queue_email(email)
    branch = get_branch(code)
    branch.queue.email_address = email
    branch.queue.save(update_fields=["email_address"])
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

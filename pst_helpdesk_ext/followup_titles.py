"""The title of a follow-up that changes a ticket's status: "<title> and <status>".

helpdesk's ``update_ticket`` writes it with an English " and " (a literal, not a translatable
string), so an Indonesian ticket page read "Konsultasi Statistik and Diselesaikan". The walk-in
intake writes the same title itself (``services.intake``); both go through ``status_title``, and
a ``pre_save`` receiver (``receivers.py``) puts helpdesk's own titles into the active language
before they are stored, as helpdesk already stores the status name in it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as active_gettext


def status_title(title: str, status: str, gettext: Callable[[str], str] = active_gettext) -> str:
    """``title`` followed by the new status, in the active language (``gettext``: a cached one,
    for a caller that writes thousands of titles in one language)."""
    return gettext("%(title)s and %(status)s") % {"title": title, "status": status}


def translate_status_suffix(followup: Any) -> None:
    """Rewrite helpdesk's English "<title> and <status>" of an unsaved follow-up in place."""
    if followup.pk is not None or not followup.title or followup.new_status is None:
        return
    status = str(dict(type(followup.ticket).STATUS_CHOICES).get(followup.new_status, ""))
    suffix = f" and {status}"
    if status and followup.title.endswith(suffix):
        followup.title = status_title(followup.title[: -len(suffix)], status)

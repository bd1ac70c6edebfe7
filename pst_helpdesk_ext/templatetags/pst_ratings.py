"""Template tags of the rating pages: the rating link on helpdesk's public ticket page."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from helpdesk.models import Ticket

from pst_helpdesk_ext.services import ratings

register = template.Library()


@register.simple_tag(takes_context=True)
def pst_rating_prompt(context: template.Context, ticket: Any) -> str:
    """The visitor's unused, unexpired rating link for ``ticket``, or nothing.

    helpdesk's public page has already checked the visitor's e-mail address and ticket key.
    """
    if not isinstance(ticket, Ticket) or ticket.status not in ratings.DONE_STATUSES:
        return ""
    invitation = ratings.valid_invitation(ticket)
    if invitation is None:
        return ""
    return render_to_string(
        "pst_helpdesk_ext/includes/rating_prompt.html",
        {"rating_path": ratings.link_path(invitation)},
        request=context.get("request"),
    )

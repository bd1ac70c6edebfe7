"""``{% pst_online_thread ticket %}``: the chat-style conversation of an online ticket, for the
staff ticket page (``{% load pst_online %}`` where the thread should appear)."""

from __future__ import annotations

from typing import Any

from django import template
from helpdesk.models import Ticket

from pst_helpdesk_ext.models import OnlineRequest, PSTTicket, WhatsAppThread
from pst_helpdesk_ext.services.conversation import thread_of

register = template.Library()


@register.inclusion_tag("pst_helpdesk_ext/includes/online_thread.html")
def pst_online_thread(ticket: Ticket) -> dict[str, Any]:
    pst = PSTTicket.objects.filter(ticket=ticket).select_related("channel").first()
    return {
        "ticket": ticket,
        "pst": pst,
        "thread": thread_of(ticket),
        "online_request": OnlineRequest.objects.filter(pst_ticket=pst).first() if pst else None,
        "whatsapp": WhatsAppThread.objects.filter(pst_ticket=pst).first() if pst else None,
    }

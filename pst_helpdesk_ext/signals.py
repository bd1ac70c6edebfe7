"""Signals of the online channel: the seams to the SLA clock (and anything else that cares).

The online channel says what happened; it does not run the SLA clock itself. The site (or the
plugin's own receivers, once the SLA service exists) connects these to the clock functions:

- ``online_request_submitted`` -> ``services.sla.mark_request_complete(pst_ticket, user=None,
  at=at)`` when ``complete`` is true (the request was clear and complete when submitted, so the
  3-working-day clock starts at once); an incomplete one waits for staff to mark it complete.
- ``visitor_replied`` -> ``services.sla.visitor_replied(pst_ticket, at=at)`` (a reply ends a
  "waiting for the visitor" pause, and reopens a conversation closed for silence).

Every signal is sent after the change it announces has committed (``transaction.on_commit``), so a
receiver sees the rows and a rollback announces nothing. Senders: the module-level constants below.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sender of the public request page's signals.
WEB_SENDER = "pst_helpdesk_ext.online"
#: Sender of the WhatsApp webhook's signals.
WHATSAPP_SENDER = "pst_helpdesk_ext.whatsapp"
#: Sender for a reply that came in through helpdesk's e-mail ingestion.
EMAIL_SENDER = "pst_helpdesk_ext.email"
#: The ``sender`` of helpdesk signals sent by the walk-in intake: receivers (the down-feed, the
#: SLA clock) recognise the branch's own news by it and do not echo it back to the branch.
INTAKE_SENDER = "pst_helpdesk_ext.intake"

#: A visitor submitted a request on the public request page, or opened a new conversation on
#: WhatsApp. Keyword arguments: ``pst_ticket`` (PSTTicket), ``complete`` (bool: the request met the
#: completeness rule of its subject when submitted; always False for WhatsApp, whose first
#: message is free text), ``at`` (aware datetime of submission).
online_request_submitted = Signal()

#: The visitor of an online ticket wrote again: an e-mail reply (helpdesk's e-mail ingestion) or a
#: WhatsApp message continuing a ticket. Keyword arguments: ``pst_ticket`` (PSTTicket),
#: ``followup`` (helpdesk FollowUp holding the reply), ``at`` (aware datetime received),
#: ``reopened`` (bool: the reply reopened a closed or resolved ticket).
visitor_replied = Signal()

#: Sent after commit by the walk-in intake, once per walk-in visit that ended at the branch as
#: resolved or referred and whose visitor left an e-mail address with consent: when the later of
#: those two facts reaches central. A hook for integrations (the intake itself issues the rating
#: link when ``RATING_LINK_WALK_IN`` is on; with no receiver connected the finished visits are
#: not read again). Keyword arguments: ``visit`` (Visit), ``ticket`` (helpdesk Ticket),
#: ``email`` (str). Sender: the ``Visit`` class.
visit_finished = Signal()

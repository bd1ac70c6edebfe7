"""Walk-in intake: the ops a branch recorded become django-helpdesk tickets, in bulk.

Layout (one module per capability):
- ``dispatch``: the entry point ``apply_walkin_ops``, op kind -> handler (``HANDLERS``), outcomes;
- ``context``: what one call loaded, branch-time plausibility, the helpers handlers share;
- ``batch``: the typed batch of rows to write, and its writing in a constant number of queries;
- ``visits``, ``guestbook``, ``feedback``: the handlers, per family of op kinds;
- ``ownership``: the ownership rule as the intake applies it;
- ``announce``: the live news, after commit.
The raw-SQL bulk insert engine is ``services/bulk_insert.py`` (shared with the feed and the sync
store); follow-ups are written as ``update_ticket`` writes them by ``helpdesk_gateway``; a ticket
opened through helpdesk itself gets its PST row from ``services.online.record_online_ticket``.

What it owns: turning decoded walk-in ops (``sync.ops``) of one branch into helpdesk tickets in the
branch's queue, with PST side rows (PSTTicket, Visit, GuestBookEntry, Visitor, Rating, Complaint).
The sync store calls it with the ops of one PUSH that central has not seen before; it records
nothing about ops itself (``AppliedOp`` is the store's), it returns one outcome per op.

Rules:
- One call is one transaction (inside the store's, without a savepoint when the store asks: see
  sync_store) and a constant number of queries whatever the number of visits: everything that
  exists is read up front, every new row is written in bulk and every changed row with one
  UPDATE per model. Never a query per op.
- The history reads as helpdesk's own ``update_ticket`` writes it, so the ticket page, reports and
  later staff updates see nothing unusual: a new ticket opens like helpdesk's ``TicketForm``
  (follow-up "Ticket Opened", public, the description as comment); every later step is a follow-up
  titled with the ticket title, plus " and <Status>" (in the active language, followup_titles.py)
  with ``new_status`` and a ``TicketChange``
  (field "Status", old and new display strings) when the status changes, ``resolution`` set as
  ``update_ticket`` sets it, ``email_recipients`` an empty list. Strings are written in the
  queue's language, like helpdesk's e-mails. Branch text is never rendered as a template.
- Live news only: helpdesk's notifications, signals and webhooks fire after commit for what is news
  now (a visit escalated for follow-up notifies the queue and sends ``update_ticket_done`` for the
  escalation follow-up; a complaint notifies the complaints queue and sends ``new_ticket_done``;
  a resolved visit with an e-mail gets the rating link when ``RATING_LINK_WALK_IN`` is on and
  ``signals.visit_finished`` when a receiver is connected),
  never once per historical step of a visit that already ended at the branch.
- Ownership, not merging (DESIGN.md): the ticket of a visit is the branch's until the visit is
  escalated or central changes its status, then it is central's (``feed.ticket_owner``). A
  lifecycle op (no-show, resolved, escalated) changes the ticket's status only when the ticket
  is still the branch's and the visit still in progress; otherwise it is applied as a private
  note (result ``noted``) and the visit row is left alone. Other ops (called, served, notes,
  guest book, rating, complaint) are the branch's records and always apply.
- The down-feed, in the same transaction: one ``ticket.status`` row per ticket whose status or
  owner the batch changed, or whose op became a note (its state after the batch), so a branch
  that acted on a stale view, or lost its disk, converges on central's view.
- An op that can never apply is rejected with a code and a message naming the field and value
  (``invalid_payload``, ``unknown_kind``, ``unknown_entity``, ``unknown_service``,
  ``duplicate_entity``, ``duplicate_rating``); it changes nothing and the ops behind it still apply.
- Clocks: times in payloads are "branch says" and are stored as sent on the visit; durations travel
  and are stored as seconds; the visit records central's receive time. Follow-up dates use the
  branch time, clamped to never be later than the receive time nor earlier than the ticket's last
  follow-up, so a wrong branch clock cannot reorder a ticket's history.
- A branch's ops change only that branch's records: visits are looked up by (branch, visit id)
  (another branch's visit id is ``unknown_entity``), visitors by (branch, ``id_hash``): the same
  person at another branch is another ``Visitor`` row with the same hash (a link, never an
  overwrite of what central shows on the other branch's tickets).
- Personal data: a visitor is recognised by the keyed ``id_hash``; only the last 4 digits of an ID
  number exist here. A NIK-shaped number in a free-text field (``sync.ops.FREE_TEXT_FIELDS``) is
  masked to its last 4 digits before anything is stored. Names, e-mails and phone numbers go to
  ``Visitor`` only (and the e-mail, with consent, to ``Ticket.submitter_email`` so helpdesk can
  write to the visitor), never into follow-up text, rejection messages or logs.
"""

from pst_helpdesk_ext.services.intake.context import IntakeRejection
from pst_helpdesk_ext.services.intake.dispatch import OpOutcome, apply_walkin_ops

__all__ = ["IntakeRejection", "OpOutcome", "apply_walkin_ops"]

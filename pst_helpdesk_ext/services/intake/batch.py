"""What one intake call changes, held until it is written: the typed batch, and its writing.

What it owns:
- ``VisitState``: one visit of the batch, loaded or new (its ticket, PST row, visit, guest
  book, visitor), with the fields the batch changed on each and what is news after commit.
- ``Batch``: every row to insert and every loaded row to update, the follow-ups, the rows that
  link loaded instances to new ones, what is announced after commit and the tickets the branch
  is told about. Handlers only add to it; nothing is written before ``write``.
- ``write``: parents before children through the bulk insert engine (each insert gives its rows
  the ids the children read), follow-ups through the helpdesk gateway, then one UPDATE per model
  for the loaded rows (on PostgreSQL each table's new rows by one COPY, the updates in one
  statement, ids reserved in one more: ``bulk_together.insert_together``), then the down-feed
  rows for the tickets the branch is told about, all in the caller's transaction and in a
  constant number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.helpdesk_gateway import NewFollowUp, insert_followups
from pst_helpdesk_ext.models import (
    Branch,
    Complaint,
    GuestBookEntry,
    PSTTicket,
    Rating,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.bulk_insert import (
    NewRow,
    Row,
    bulk_update,
    insert_rows,
)
from pst_helpdesk_ext.services.bulk_together import insert_together


@dataclass(eq=False)
class VisitState:
    visit: Row
    pst: Row
    ticket: Row
    new: bool
    guestbook: Row | None
    last_date: dt.datetime
    has_rating: bool
    visitor: Row | None  # who the guest book says came (a loaded or new Visitor)
    ticket_fields: set[str] = field(default_factory=set)
    visit_fields: set[str] = field(default_factory=set)
    pst_fields: set[str] = field(default_factory=set)
    finished_now: bool = False
    email_now: bool = False


@dataclass(eq=False)
class Batch:
    """The rows one intake call writes, and what it announces after commit."""

    # Rows to insert, parents first.
    new_tickets: list[NewRow] = field(default_factory=list)
    new_psts: list[NewRow] = field(default_factory=list)
    new_visits: list[NewRow] = field(default_factory=list)
    new_visitors: list[NewRow] = field(default_factory=list)
    new_guestbooks: list[NewRow] = field(default_factory=list)
    followups: list[NewFollowUp] = field(default_factory=list)
    ratings: list[NewRow] = field(default_factory=list)
    complaints: list[NewRow] = field(default_factory=list)
    # Loaded rows to update (by pk: a row changed twice is written once).
    changed_visitors: dict[int, Visitor] = field(default_factory=dict)
    changed_guestbooks: dict[int, GuestBookEntry] = field(default_factory=dict)
    # Loaded rows pointing at new ones: (instance, field attname, new row), set after insert.
    pending_links: list[tuple[Any, str, NewRow]] = field(default_factory=list)
    # After commit: the follow-ups that escalated a visit, the complaint tickets.
    escalations: list[NewFollowUp] = field(default_factory=list)
    complaint_tickets: list[NewRow] = field(default_factory=list)
    # Tickets whose status or owner this batch changed, or whose op became a note: the
    # branch is told their state after the batch (sync/store.py, apply_batch).
    told: dict[int, VisitState] = field(default_factory=dict)

    def tell(self, state: VisitState) -> None:
        """The branch is told this ticket's state after the batch."""
        self.told[id(state)] = state


def write(
    batch: Batch,
    branch: Branch,
    states: Iterable[VisitState],
    codes: dict[int, str] | None = None,
) -> None:
    """Write ``batch`` in the caller's transaction; ``states``: every visit the batch read;
    ``codes``: every service code by id, if the caller read them (the feed rows carry them)."""
    # Parents before children; each insert gives its rows the ids the children read. On
    # PostgreSQL the ids are reserved up front and every row is written in one statement.
    counts = {
        Ticket: len(batch.new_tickets),
        Visitor: len(batch.new_visitors),
        PSTTicket: len(batch.new_psts),
        Visit: len(batch.new_visits),
        GuestBookEntry: len(batch.new_guestbooks),
        FollowUp: len(batch.followups),
        Rating: len(batch.ratings),
        Complaint: len(batch.complaints),
    }
    with insert_together(counts):
        insert_rows(Ticket, batch.new_tickets)
        insert_rows(Visitor, batch.new_visitors)
        insert_rows(PSTTicket, batch.new_psts)
        insert_rows(Visit, batch.new_visits)
        insert_rows(GuestBookEntry, batch.new_guestbooks)
        insert_followups(batch.followups)
        insert_rows(Rating, batch.ratings)
        insert_rows(Complaint, batch.complaints)
        for obj, attname, row in batch.pending_links:
            setattr(obj, attname, row.pk)
        # Then the loaded rows the batch changed (on PostgreSQL in the same statement).
        visitor_fields = {"name", "institution", "email", "phone", "id_type", "id_last4"}
        visitor_fields.add("purged_at")
        bulk_update(Visitor, [(v, visitor_fields) for v in batch.changed_visitors.values()])
        entry_fields = {"visitor", "purpose", "consent", "recorded_at"}
        bulk_update(GuestBookEntry, [(g, entry_fields) for g in batch.changed_guestbooks.values()])
        existing = [state for state in states if not state.new]
        bulk_update(Ticket, [(s.ticket, s.ticket_fields) for s in existing])
        bulk_update(Visit, [(s.visit, s.visit_fields) for s in existing])
        bulk_update(PSTTicket, [(s.pst, s.pst_fields) for s in existing])
    if batch.told:
        # In this transaction, the state after the batch of every ticket it changed (and of
        # those whose op became a note, where the branch acted on a stale view): a branch
        # that loses its disk, or reads from an old cursor, converges on central's view.
        told = [(s.ticket, s.pst) for s in batch.told.values()]
        feed.publish_ticket_states(branch, told, codes)

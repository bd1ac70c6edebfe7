"""``sync.ownership.decide``: the one ownership rule, as a table of cases (what it must say for
each op kind on each kind of ticket), and ``owner``, whose the ticket is."""

import pytest

from sync import ops as kinds
from sync.ownership import (
    APPLY,
    CREATE,
    LIFECYCLE,
    NOTE,
    NOTE_CENTRAL_CHANGED,
    NOTE_ENDED,
    NOTE_ESCALATED,
    RECORD,
    REJECT,
    Verdict,
    VisitTicket,
    decide,
    owner,
)
from sync.vocabulary import (
    BRANCH,
    CENTRAL,
    OUTCOME_ESCALATED,
    OUTCOME_NO_SHOW,
    OUTCOME_REFERRED,
    OUTCOME_RESOLVED,
    OUTCOME_WAITING,
)

IN_PROGRESS = VisitTicket(OUTCOME_WAITING, BRANCH)
STAFF_CHANGED = VisitTicket(OUTCOME_WAITING, CENTRAL)  # central changed the open ticket
ESCALATED = VisitTicket(OUTCOME_ESCALATED, CENTRAL)
RESOLVED_HERE = VisitTicket(OUTCOME_RESOLVED, BRANCH)
REFERRED_HERE = VisitTicket(OUTCOME_REFERRED, BRANCH)
NO_SHOW_REOPENED = VisitTicket(OUTCOME_NO_SHOW, CENTRAL)  # staff reopened a no-show's ticket

RECORDS = (
    kinds.GUESTBOOK_RECORDED,
    kinds.VISIT_CALLED,
    kinds.VISIT_SERVED,
    kinds.CONSULTATION_NOTED,
    kinds.RATING_GIVEN,
    kinds.COMPLAINT_FILED,
)

CASES = [
    # a new visit opens its ticket, the branch's; a second one is a duplicate
    (kinds.VISIT_CREATED, None, Verdict(CREATE, outcome=OUTCOME_WAITING, owner=BRANCH)),
    (kinds.VISIT_CREATED, IN_PROGRESS, Verdict(REJECT, "duplicate_entity")),
    (kinds.VISIT_CREATED, ESCALATED, Verdict(REJECT, "duplicate_entity")),
    # anything else about an unknown visit
    *[(kind, None, Verdict(REJECT, "unknown_entity")) for kind in RECORDS],
    *[(kind, None, Verdict(REJECT, "unknown_entity")) for kind in LIFECYCLE],
    # lifecycle ops that fit: the visit ends, the ticket's status follows
    (kinds.VISIT_NO_SHOW, IN_PROGRESS, Verdict(APPLY, outcome=OUTCOME_NO_SHOW, owner=BRANCH)),
    (kinds.VISIT_RESOLVED, IN_PROGRESS, Verdict(APPLY, outcome=OUTCOME_RESOLVED, owner=BRANCH)),
    (
        kinds.VISIT_ESCALATED,
        IN_PROGRESS,
        Verdict(APPLY, outcome=OUTCOME_ESCALATED, owner=CENTRAL),
    ),
    # lifecycle ops that no longer fit become notes, with the first reason that holds
    (kinds.VISIT_RESOLVED, ESCALATED, Verdict(NOTE, NOTE_ESCALATED)),
    (kinds.VISIT_ESCALATED, ESCALATED, Verdict(NOTE, NOTE_ESCALATED)),
    (kinds.VISIT_NO_SHOW, STAFF_CHANGED, Verdict(NOTE, NOTE_CENTRAL_CHANGED)),
    (kinds.VISIT_RESOLVED, NO_SHOW_REOPENED, Verdict(NOTE, NOTE_CENTRAL_CHANGED)),
    (kinds.VISIT_NO_SHOW, RESOLVED_HERE, Verdict(NOTE, NOTE_ENDED)),
    (kinds.VISIT_ESCALATED, REFERRED_HERE, Verdict(NOTE, NOTE_ENDED)),
    (kinds.VISIT_RESOLVED, RESOLVED_HERE, Verdict(NOTE, NOTE_ENDED)),
    # a call is a record, never a status change: on any ticket, whoever owns it
    *[
        (kind, ticket, Verdict(RECORD))
        for kind in RECORDS
        for ticket in (IN_PROGRESS, STAFF_CHANGED, ESCALATED, RESOLVED_HERE)
    ],
    # a kind the rule does not know is a record too (the payload check rejects it first)
    ("visit.teleported", IN_PROGRESS, Verdict(RECORD)),
]


@pytest.mark.parametrize(("kind", "ticket", "expected"), CASES)
def test_decide(kind, ticket, expected):
    assert decide(kind, ticket) == expected


def test_only_create_and_apply_change_the_status():
    changing = {case[2].action for case in CASES if case[2].changes_status}
    assert changing == {CREATE, APPLY}


@pytest.mark.parametrize(
    ("outcome", "as_left", "expected"),
    [
        (None, True, CENTRAL),  # no visit: a ticket central opened
        (OUTCOME_ESCALATED, True, CENTRAL),
        (OUTCOME_WAITING, True, BRANCH),
        (OUTCOME_WAITING, False, CENTRAL),  # staff moved it away from open
        (OUTCOME_RESOLVED, True, BRANCH),
        (OUTCOME_NO_SHOW, False, CENTRAL),
    ],
)
def test_owner(outcome, as_left, expected):
    assert owner(outcome, as_left) == expected


# -- the simulation's central store applies the same rule (sync.memory)


def _central_with_a_visit():
    from sync.memory import MemoryCentralStore
    from tests.sync.harness import WALL
    from tests.sync.test_store_rules import CODE, op

    store = MemoryCentralStore()
    store.enrol(CODE)
    session = store.hello(
        CODE, boot_id="b", next_seq=1, feed_cursor=0, agent_version="t", branch_time=WALL, now=WALL
    ).session
    store.apply_batch(CODE, [op(1), op(2, kinds.VISIT_CALLED)], now=WALL, session=session)
    return store, session, CODE, op


def test_a_call_leaves_the_status_in_the_simulation_too():
    from sync.memory import TicketView

    store, _, code, _ = _central_with_a_visit()
    assert store.tickets(code)["v"] == TicketView("open", BRANCH)


def test_staff_putting_the_status_back_hands_the_ticket_back_as_intake_does():
    from sync.store import APPLIED, NOTED
    from tests.sync.harness import WALL
    from tests.sync.test_store_rules import resolved

    store, session, code, _ = _central_with_a_visit()
    store.staff_set_status(code, "v", "pending")
    assert store.tickets(code)["v"].owner == CENTRAL
    store.staff_set_status(code, "v", "open")  # as the branch's ops left it: the branch's again
    assert store.tickets(code)["v"].owner == BRANCH
    store.apply_batch(code, [resolved(3)], now=WALL, session=session)
    assert store.branches[code].records[resolved(3).op_id].outcome.result == APPLIED
    store.staff_set_status(code, "v", "closed")
    store.apply_batch(code, [resolved(4)], now=WALL, session=session)
    assert store.branches[code].records[resolved(4).op_id].outcome.result == NOTED

"""The walk-in flow at the branch: every rule and every write, called by views, the API and tests.

One module per capability; this package's public face re-exports them, so callers write
``from branch_agent import services`` and ``services.issue_number(...)``:

- ``common``: ``Refused``, the branch clock, the visit read in a write, the one form-token
  idempotency helper (``form_submit``)
- ``kiosk``: queue numbers; ``front_office``: the guest book; ``waiting``: the walk-in clock and
  the waiting list; ``desk``: call, recall, absent, start, finish, send to rating;
  ``rating``: the rating kiosk (IKM survey, complaint); ``sync_status``: the link to central as
  staff see it; ``retention``: local purge of personal data; ``tokens``: API device tokens;
  ``summary``: today at a glance.

Rules:
- Each write is one IMMEDIATE transaction holding the domain rows and their outbox op (see
  ``branch_agent.outbox``); nothing here touches the network, so no request waits on central.
- A repeated submit (same form token or API request id) returns the first result and writes
  nothing; two numbers or two visits never come from one click.
- Refusals raise ``Refused`` with a translated message naming the value; callers show it as is.
- Times are the branch's clock. Durations (wait, service time) are measured here and travel as
  seconds; the walk-in clock starts at the previous finish in the same service queue, or at the
  visitor's own arrival when nobody was ahead, and stops at the first call.
"""

from __future__ import annotations

from branch_agent import outbox
from branch_agent.services.common import (
    FormSubmit,
    Refused,
    form_submit,
    new_form_token,
    now_local,
)
from branch_agent.services.desk import (
    Conclusion,
    at_desk,
    call_next,
    check_desk,
    finish,
    no_show,
    recall,
    send_to_rating,
    start_service,
)
from branch_agent.services.front_office import GuestBookData, record_guestbook, returning_visits
from branch_agent.services.kiosk import MAX_NUMBER_PER_DAY, Issued, issue_number
from branch_agent.services.rating import RATING_WINDOW, RatingData, give_rating, rating_pending
from branch_agent.services.retention import purge_personal_data
from branch_agent.services.summary import DaySummary, day_summary
from branch_agent.services.sync_status import (
    CentralLoss,
    RejectedOp,
    SyncView,
    dismiss_central_lost,
    dismiss_rejected,
    mark_updates_seen,
    sync_view,
)
from branch_agent.services.tokens import create_api_token, token_hash
from branch_agent.services.waiting import (
    Waiting,
    last_finish,
    wait_clock_start,
    wait_level,
    wait_seconds,
    waiting_list,
)

__all__ = [
    "MAX_NUMBER_PER_DAY",
    "RATING_WINDOW",
    "CentralLoss",
    "Conclusion",
    "DaySummary",
    "FormSubmit",
    "GuestBookData",
    "Issued",
    "RatingData",
    "Refused",
    "RejectedOp",
    "SyncView",
    "Waiting",
    "at_desk",
    "call_next",
    "check_desk",
    "create_api_token",
    "day_summary",
    "dismiss_central_lost",
    "dismiss_rejected",
    "finish",
    "form_submit",
    "give_rating",
    "issue_number",
    "last_finish",
    "mark_updates_seen",
    "new_form_token",
    "no_show",
    "now_local",
    "outbox",
    "purge_personal_data",
    "rating_pending",
    "recall",
    "record_guestbook",
    "returning_visits",
    "send_to_rating",
    "start_service",
    "sync_view",
    "token_hash",
    "wait_clock_start",
    "wait_level",
    "wait_seconds",
    "waiting_list",
]

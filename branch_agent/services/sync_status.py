"""The link to central as staff see it: online or not, what waits in the outbox, the ops central
rejected, a restore of central from an older backup, and the problem in words; plus the few
acknowledgements staff give (dismiss a rejection or the restore notice, mark updates seen)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.models import OutboxOp, SyncState, TicketUpdate, Visit
from branch_agent.services.common import uuid_or_none, visit_in_write


@dataclass(frozen=True)
class RejectedOp:
    op_id: str
    seq: int
    kind: str
    entity_id: str
    code: str
    message: str
    at: dt.datetime | None
    queue_number: str


@dataclass(frozen=True)
class CentralLoss:
    """Central was restored from an older backup and had lost records this branch sent
    (protocol 6.6): ``resent`` of them were sent again from this PC, ``unrecoverable`` were no
    longer kept here (older than the local retention period) and must be entered at central."""

    at: dt.datetime
    first_seq: int
    last_seq: int
    resent: int
    unrecoverable: int

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "resent": self.resent,
            "unrecoverable": self.unrecoverable,
        }


@dataclass(frozen=True)
class SyncView:
    online: bool
    pending_ops: int
    last_sync_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str
    feed_cursor: int
    next_seq: int
    clock_skew_seconds: int | None
    rejected: list[RejectedOp]
    central_updates: int
    central_lost: CentralLoss | None = None

    @property
    def key_problem(self) -> bool:
        """The link is down because of a key: this branch's key files, central's key in
        agent.toml, or a branch key central does not know (the badge says so)."""
        code = self.last_error.partition(": ")[0]
        return not self.online and code in ("keys", "wrong_server_key", "not_enrolled")

    @property
    def problem(self) -> str:
        """The last sync problem, in words for staff (the worker stores "code: detail")."""
        if not self.last_error:
            return ""
        code, _sep, detail = self.last_error.partition(": ")
        explained = {
            "unreachable": _(
                "Central cannot be reached (no internet or central is down). Everything is saved"
                " here and will be sent automatically."
            ),
            "not_enrolled": _(
                "Central refused this branch's key: it is not enrolled yet, or it was revoked."
                " Ask the central admin to run `pst_branch enrol` with the key from"
                " `pst-branch-agent init`."
            ),
            "wrong_server_key": _(
                "The secure handshake with central failed: check [central] server_public_key in"
                " agent.toml."
            ),
            "keys": _("The branch key files cannot be used: %(detail)s") % {"detail": detail},
            "central_error": _("Central reported a problem: %(detail)s") % {"detail": detail},
            "upgrade_needed": _("Central needs a newer version of this agent. Please upgrade."),
            "internal": _("The sync worker hit an error and restarts by itself: %(detail)s")
            % {"detail": detail},
        }
        return explained.get(code, self.last_error)

    def as_json(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "pending_ops": self.pending_ops,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
            "last_attempt_at": self.last_attempt_at.isoformat() if self.last_attempt_at else None,
            "last_error": self.last_error or None,
            "feed_cursor": self.feed_cursor,
            "next_seq": self.next_seq,
            "clock_skew_seconds": self.clock_skew_seconds,
            "rejected_ops": [
                {
                    "op_id": r.op_id,
                    "seq": r.seq,
                    "kind": r.kind,
                    "code": r.code,
                    "message": r.message,
                    "queue_number": r.queue_number,
                }
                for r in self.rejected
            ],
            "problem": self.problem or None,
            "key_problem": self.key_problem,
            "central_updates_unseen": self.central_updates,
            "central_lost": self.central_lost.as_json() if self.central_lost else None,
        }


def sync_view(*, include_dismissed: bool = False) -> SyncView:
    state = SyncState.objects.get(id=1)
    rejected_rows = OutboxOp.objects.filter(state=OutboxOp.State.REJECTED)
    if not include_dismissed:
        rejected_rows = rejected_rows.filter(dismissed=False)
    rows = list(rejected_rows.order_by("-seq")[:50])
    numbers = dict(
        Visit.objects.filter(pk__in=[uuid_or_none(r.entity_id) for r in rows]).values_list(
            "pk", "queue_number"
        )
    )
    return SyncView(
        online=state.online,
        pending_ops=OutboxOp.objects.filter(state=OutboxOp.State.PENDING).count(),
        last_sync_at=state.last_success_at,
        last_attempt_at=state.last_attempt_at,
        last_error=state.last_error,
        feed_cursor=state.feed_cursor,
        next_seq=state.next_seq,
        clock_skew_seconds=state.clock_skew_seconds,
        rejected=[
            RejectedOp(
                r.op_id,
                r.seq,
                r.kind,
                r.entity_id,
                r.reject_code,
                r.reject_message,
                r.done_at,
                numbers.get(uuid_or_none(r.entity_id), ""),
            )
            for r in rows
        ],
        central_updates=TicketUpdate.objects.filter(seen=False).count(),
        central_lost=(
            CentralLoss(
                state.central_lost_at,
                state.central_lost_first_seq,
                state.central_lost_last_seq,
                state.central_lost_resent,
                state.central_lost_unrecoverable,
            )
            if state.central_lost_at
            else None
        ),
    )


def dismiss_rejected(op_id: str) -> None:
    with outbox.write():
        OutboxOp.objects.filter(op_id=op_id, state=OutboxOp.State.REJECTED).update(dismissed=True)


def dismiss_central_lost() -> None:
    with outbox.write():
        SyncState.objects.filter(id=1).update(central_lost_at=None)


def mark_updates_seen(visit_id: uuid.UUID | str) -> None:
    with outbox.write():
        visit = visit_in_write(visit_id)
        TicketUpdate.objects.filter(visit=visit, seen=False).update(seen=True)

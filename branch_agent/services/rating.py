"""The rating kiosk: which finished visitor a desk's kiosk waits for, and the IKM survey (with a
complaint when the visitor wrote one), saved once per visit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.models import IKM_FIELDS, Complaint, Rating, Visit
from branch_agent.personal_data import mask_nik_in_text
from branch_agent.services.common import Refused, form_submit, now_local, visit_in_write
from sync import ops

RATING_WINDOW = dt.timedelta(hours=2)  # a visitor sent to the rating kiosk can rate this long


def rating_pending(desk: str, *, now: dt.datetime | None = None) -> Visit | None:
    """The visitor the rating kiosk of ``desk`` is waiting for, if any."""
    moment = now_local(now)
    return (
        Visit.objects.select_related("service")
        .filter(
            rating_desk=desk,
            status=Visit.Status.FINISHED,
            rating__isnull=True,
            rating_requested_at__gte=moment - RATING_WINDOW,
        )
        .order_by("-rating_requested_at")
        .first()
    )


@dataclass(frozen=True)
class RatingData:
    scores: Mapping[str, int]  # "U1".."U9" -> 1..4
    overall: int
    comment: str = ""
    complaint: str = ""
    reply_to: str = ""  # the e-mail the visitor chose to give for an answer; "" = anonymous


def give_rating(
    visit_id: uuid.UUID | str,
    data: RatingData,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Rating:
    """Save the IKM survey (and a complaint, when the visitor wrote one) for a served visit."""
    missing = [name for name in ops.IKM_ELEMENTS if data.scores.get(name) not in (1, 2, 3, 4)]
    if missing:
        raise Refused(
            _("Answer every question (missing: %(elements)s).") % {"elements": ", ".join(missing)},
            field=missing[0].lower(),
        )
    if data.overall not in (1, 2, 3, 4):
        raise Refused(_("Give an overall score from 1 to 4."), field="overall")
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "rating")
        if submit.earlier_visit is not None:
            return submit.earlier_visit.rating
        visit = visit_in_write(visit_id)
        if visit.status != Visit.Status.FINISHED or not visit.rating_desk:
            raise Refused(_("This visit is not waiting for a rating."), code="wrong_state")
        if Rating.objects.filter(visit=visit).exists():
            raise Refused(_("This visit was already rated. Thank you!"), code="duplicate")
        rating = Rating.objects.create(
            visit=visit,
            overall=data.overall,
            comment=mask_nik_in_text(data.comment.strip()),
            created=moment,
            **{name: data.scores[name.upper()] for name in IKM_FIELDS},
        )
        visit.rating_desk = ""
        visit.save(update_fields=["rating_desk"])
        submit.record(visit)
        outbox.record(
            ops.RATING_GIVEN,
            str(visit.pk),
            ops.RatingGiven(
                scores={k: int(v) for k, v in rating.scores.items()},
                overall=rating.overall,
                comment=rating.comment,
            ),
        )
        if data.complaint.strip():
            complaint = Complaint.objects.create(
                visit=visit, text=mask_nik_in_text(data.complaint.strip()), created=moment
            )
            outbox.record(
                ops.COMPLAINT_FILED,
                str(visit.pk),
                ops.ComplaintFiled(
                    tier=complaint.tier, text=complaint.text, reply_to=data.reply_to.strip()
                ),
            )
    return rating

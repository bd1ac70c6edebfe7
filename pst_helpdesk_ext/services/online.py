"""The public request page's rules: verified e-mail, search first, then a complete request.

What it owns: the signed e-mail verification link, the search over helpdesk's knowledge base and
the PST consultation subjects, the completeness rule per subject, and turning a valid request into
a helpdesk ticket; and the PST row of every ticket opened through helpdesk itself (web form,
e-mail: ``record_online_ticket``).

Rules:
- A request is opened through helpdesk's own ``PublicTicketForm`` (not by writing tickets here):
  helpdesk e-mails the visitor the ticket link as for any public ticket, sends ``new_ticket_done``
  with sender ``PublicTicketForm``, and the plugin's existing receiver
  (``record_online_ticket``, below) gives it its PST row on the web channel and the branch whose
  queue it is in. This module then adds the category, subject, visitor and ``OnlineRequest``.
- All of it is one transaction: a request that fails anywhere leaves no ticket behind.
- The queue is the chosen branch office's queue (the visitor asks an office); see docs/online.md.
- Verification proves the visitor reads the address: a link signed with the site's SECRET_KEY
  (``TimestampSigner``), valid ``ONLINE_VERIFY_MAX_AGE_HOURS``. A signed-in helpdesk user with an
  e-mail address needs no link.
- Completeness (docs/online.md): every request needs a question of at least
  ``MIN_QUESTION_CHARS`` characters and a purpose of use; a data request also needs the indicator,
  region and period; metadata and classification requests need the indicator, publication or
  item they are about. A request that meets its rule is "complete at submission" (the SLA clock
  may start at once, ``signals.online_request_submitted``); otherwise staff mark it complete later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from helpdesk.forms import PublicTicketForm
from helpdesk.models import KBItem, Ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    OnlineRequest,
    PSTTicket,
    ServiceCategory,
    Visitor,
)
from pst_helpdesk_ext.personal_data import mask_nik_in_text

logger = logging.getLogger("pst.online")

VERIFY_SALT = "pst_helpdesk_ext.online.verify"
CONSULTATION = "konsultasi"
MIN_QUESTION_CHARS = 20
MAX_SEARCH_RESULTS = 10

#: The completeness rule: besides the question and purpose, what each subject needs.
REQUIRED_FOR_SUBJECT: dict[str, tuple[str, ...]] = {
    "data": ("indicator", "region", "period"),
    "metadata": ("indicator",),
    "classification": ("indicator",),
}
ALWAYS_REQUIRED = ("question", "purpose")


# --- e-mail verification ---------------------------------------------------------------------


def make_verify_token(email: str, name: str) -> str:
    return signing.TimestampSigner(salt=VERIFY_SALT).sign_object(
        {"email": email.strip().lower(), "name": name.strip()}, compress=True
    )


def read_verify_token(token: str) -> dict[str, str]:
    """The verified ``email`` and ``name``; ValidationError saying what to do when the link is
    expired or not ours."""
    max_age = dt.timedelta(hours=pst_settings.ONLINE_VERIFY_MAX_AGE_HOURS)
    try:
        data = signing.TimestampSigner(salt=VERIFY_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise ValidationError(
            gettext("This verification link has expired. Enter your e-mail address again.")
        ) from None
    except signing.BadSignature:
        raise ValidationError(
            gettext(
                "This verification link is not valid. Use the latest link we sent, or enter "
                "your e-mail address again."
            )
        ) from None
    if not isinstance(data, dict) or not data.get("email"):
        raise ValidationError(gettext("This verification link is not valid."))
    return {"email": str(data["email"]), "name": str(data.get("name", ""))}


def claim_verify_token(token: str) -> bool:
    """Use a (valid) verification link up: True the first time, False ever after. The mark lives
    in Django's cache for the link's whole life (a shared cache on a multi-process site, README)."""
    key = "pst:verify-used:" + hashlib.sha256(token.encode()).hexdigest()[:40]
    timeout = pst_settings.ONLINE_VERIFY_MAX_AGE_HOURS * 3600 + 60
    return cache.add(key, 1, timeout=timeout)


def send_verify_link(email: str, name: str, link_for: callable) -> None:  # type: ignore[valid-type]
    """E-mail the verification link (``link_for(token)`` makes it absolute).

    Nothing the visitor typed is in the e-mail: anyone can make the office send it to any
    address, so a name such as "your account is blocked, call ..." must not become the
    opening of an e-mail from BPS (phishing)."""
    link = link_for(make_verify_token(email, name))
    hours = pst_settings.ONLINE_VERIFY_MAX_AGE_HOURS
    send_mail(
        gettext("Confirm your e-mail address for the PST consultation"),
        gettext(
            "Hello,\n\nSomeone (we hope you) asked to send a statistical consultation request "
            "to BPS from this address. To continue, open this link:\n\n%(link)s\n\nThe link "
            "works once and is valid for %(hours)d hours. If you did not ask for it, ignore "
            "this e-mail: nothing happens without the link.\n\nPST BPS"
        )
        % {"link": link, "hours": hours},
        None,
        [email],
    )


# --- search ----------------------------------------------------------------------------------


@dataclass
class SearchResults:
    query: str
    articles: list[KBItem] = field(default_factory=list)
    subjects: list[ServiceCategory] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.articles) + len(self.subjects)


def search(query: str) -> SearchResults:
    """Enabled articles in public knowledge-base categories, and consultation subjects, that
    mention every word of ``query`` (title, question or answer; either subject name)."""
    query = " ".join(query.split())[:200]
    results = SearchResults(query)
    words = [word for word in query.split(" ") if len(word) >= 2][:8]
    if not words:
        return results
    articles = KBItem.objects.filter(enabled=True, category__public=True)
    subjects = ServiceCategory.objects.filter(active=True, kind=ServiceCategory.Kind.SUBJECT)
    for word in words:
        articles = articles.filter(
            Q(title__icontains=word) | Q(question__icontains=word) | Q(answer__icontains=word)
        )
        subjects = subjects.filter(Q(name_id__icontains=word) | Q(name_en__icontains=word))
    results.articles = list(articles.select_related("category").order_by("-votes", "title")[:10])
    results.subjects = list(subjects[:MAX_SEARCH_RESULTS])
    return results


def opened_article(article_id: int) -> KBItem | None:
    return (
        KBItem.objects.filter(pk=article_id, enabled=True, category__public=True)
        .select_related("category")
        .first()
    )


# --- the request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestData:
    email: str
    name: str
    institution: str
    branch: Branch
    subject: ServiceCategory
    title: str
    question: str
    indicator: str = ""
    region: str = ""
    period: str = ""
    purpose: str = ""
    search_query: str = ""
    search_results: int = 0
    articles_opened: tuple[int, ...] = ()


def missing_for_completeness(data: RequestData) -> list[str]:
    """Field names the completeness rule still needs (empty: the request is complete)."""
    missing = [
        name
        for name in (*ALWAYS_REQUIRED, *REQUIRED_FOR_SUBJECT.get(data.subject.code, ()))
        if not getattr(data, name).strip()
    ]
    if "question" not in missing and len(data.question.strip()) < MIN_QUESTION_CHARS:
        missing.insert(0, "question")
    return missing


def _description(data: RequestData) -> str:
    labels = (
        (gettext("Subject"), data.subject.name),
        (gettext("Indicator, publication or item"), data.indicator),
        (gettext("Region"), data.region),
        (gettext("Period"), data.period),
        (gettext("Purpose of use"), data.purpose),
        (gettext("Institution"), data.institution),
    )
    facts = "\n".join(f"{label}: {value}" for label, value in labels if value)
    return f"{data.question.strip()}\n\n{facts}"


@transaction.atomic
def submit_request(data: RequestData) -> PSTTicket:
    """Open the helpdesk ticket of a request and its PST rows; one transaction."""
    queue = data.branch.queue
    with translation.override(queue.locale or settings.LANGUAGE_CODE):
        # A NIK typed into the request is kept as its last 4 digits only.
        description = mask_nik_in_text(_description(data))
        title = mask_nik_in_text(f"[{data.subject.name}] {data.title.strip()}")[:200]
    form = PublicTicketForm(
        data={
            "queue": str(queue.pk),
            "title": title,
            "body": description,
            "priority": "3",
            "submitter_email": data.email,
        }
    )
    # The branch's queue, whether or not helpdesk lists it on its own public form.
    if "queue" in form.fields:
        form.fields["queue"].choices = [(str(queue.pk), queue.title)]
    if not form.is_valid():
        raise ValidationError(
            gettext("helpdesk refused the request: %(errors)s")
            % {"errors": "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())}
        )
    ticket: Ticket = form.save(user=None)
    pst = PSTTicket.objects.select_for_update().filter(ticket=ticket).first()
    if pst is None:  # the receiver is not connected: do what it would have done
        pst = record_online_ticket(ticket, sender="PublicTicketForm")
    if pst.branch_id != data.branch.pk and ticket.queue_id == queue.pk:
        pst.branch = data.branch
    pst.category = ServiceCategory.objects.filter(code=CONSULTATION).first()
    pst.subject = data.subject
    pst.visitor = Visitor.objects.create(
        name=data.name[:200], institution=data.institution[:200], email=data.email
    )
    pst.save()
    missing = missing_for_completeness(data)
    OnlineRequest.objects.create(
        pst_ticket=pst,
        search_query=data.search_query[:200],
        search_results=data.search_results,
        articles_opened=list(data.articles_opened),
        indicator=data.indicator[:200],
        region=data.region[:120],
        period=data.period[:60],
        purpose=data.purpose[:200],
        complete_at_submission=not missing,
        missing_fields=missing,
    )
    at = ticket.created or timezone.now()
    transaction.on_commit(lambda: _announce(pst.pk, complete=not missing, at=at), robust=True)
    return pst


def _announce(pst_id: int, *, complete: bool, at: dt.datetime) -> None:
    pst = PSTTicket.objects.select_related("ticket").get(pk=pst_id)
    for receiver, error in signals.online_request_submitted.send_robust(
        sender=signals.WEB_SENDER, pst_ticket=pst, complete=complete, at=at
    ):
        if isinstance(error, Exception):
            logger.error("online_request_submitted receiver %r failed: %s", receiver, error)


# --- tickets opened through helpdesk itself -------------------------------------------------------

# Who sends helpdesk's ``new_ticket_done``, and the PST channel that means.
ONLINE_SENDER_CHANNELS = {
    "TicketForm": Channel.WEB,
    "PublicTicketForm": Channel.WEB,
    "create_object_from_email_message": Channel.EMAIL,
}


def record_online_ticket(ticket: Ticket, *, sender: object) -> PSTTicket | None:
    """A ticket opened through helpdesk itself (web form, e-mail) gets its PST row: the channel it
    came by and the branch whose queue it is in. Idempotent; the request is not complete yet (the
    online SLA clock starts when staff mark it complete, DOMAIN.md)."""
    channel_code = ONLINE_SENDER_CHANNELS.get(str(sender))
    if channel_code is None:
        return None  # the intake's own tickets, or another app's: not ours to classify
    channel = Channel.objects.filter(code=channel_code).first()
    if channel is None:
        return None
    pst, _created = PSTTicket.objects.get_or_create(
        ticket=ticket,
        defaults={
            "channel": channel,
            "branch": Branch.objects.filter(queue_id=ticket.queue_id).first(),
        },
    )
    return pst

"""The WhatsApp channel: Cloud API webhooks in, staff replies out through a pluggable sender.

What it owns: checking a webhook (the GET handshake, the ``X-Hub-Signature-256`` HMAC of the raw
body), reading the documented ``messages`` payload (``entry[].changes[].value.messages[]`` and
``statuses[]``), turning each incoming message into a helpdesk follow-up on the phone number's
ticket (or a new ticket in the online queue), and sending staff public replies back.

Rules:
- Authentication first: nothing in a POST is read before its signature matched (constant-time
  compare). Without an app secret configured every POST is refused.
- Exactly one follow-up per WhatsApp message id (the Cloud API retries deliveries): the id is
  unique in ``WhatsAppMessage``; a repeat is acknowledged and ignored.
- Whatever else the payload holds (another webhook field, a shape this code does not know, a
  message type without text) is logged and acknowledged, never an error: the API would otherwise
  retry it for days. Media are not downloaded; the follow-up says what came and asks for text.
- A visitor's text is stored as the follow-up's comment as it came (never rendered as a template,
  so it is written like helpdesk's own e-mail ingestion, not through ``update_ticket``); longer
  than ``WHATSAPP_MAX_MESSAGE_CHARS`` it is cut, with a note saying so.
- Replies: every public follow-up with text written through helpdesk's ``update_ticket`` (staff
  replies, automatic public notes such as the 7-day close) on a WhatsApp ticket is sent after
  commit; a failure is recorded on the message row and logged, never raised into the staff's page.
- Personal data: the phone number (WhatsApp id) is stored once, on ``WhatsAppThread``; logs and
  pages show it masked; the profile name the API sends is not kept.

Size: over 500 lines on purpose: webhook verification, payload reading and the sender are one
channel's contract with the Cloud API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from helpdesk.decorators import is_helpdesk_staff
from helpdesk.lib import safe_template_context
from helpdesk.models import FollowUp, Queue, Ticket
from helpdesk.signals import new_ticket_done, update_ticket_done

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import incoming_followup, opening_followup
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    PSTTicket,
    ServiceCategory,
    WhatsAppMessage,
    WhatsAppThread,
)
from pst_helpdesk_ext.personal_data import mask_nik_in_text

logger = logging.getLogger("pst.whatsapp")

SIGNATURE_HEADER = "X-Hub-Signature-256"
CONSULTATION = "konsultasi"
_CLOSED_STATES = (Ticket.CLOSED_STATUS, Ticket.RESOLVED_STATUS)


# --- checking a webhook --------------------------------------------------------------------------


def signature_is_valid(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """True when ``header`` is ``sha256=<hex HMAC-SHA256 of raw_body keyed with app_secret>``."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def handshake_challenge(params: dict[str, str]) -> str | None:
    """The ``hub.challenge`` to echo when the subscription request carries our verify token."""
    token = pst_settings.WHATSAPP_VERIFY_TOKEN
    if not token or params.get("hub.mode") != "subscribe":
        return None
    if not hmac.compare_digest(params.get("hub.verify_token", "").encode(), token.encode()):
        return None
    return params.get("hub.challenge", "")


# --- reading the payload -------------------------------------------------------------------------

#: Far deeper than Meta's payload (about 6 levels), far shallower than what exhausts the parser's
#: recursion (a RecursionError, i.e. a 500, at about 1000).
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")


def json_depth(raw: bytes) -> int:
    """How deeply ``raw`` nests arrays and objects (brackets inside strings do not count), read
    without parsing it: a body too deep for ``json.loads`` is refused before it is parsed."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


@dataclass(frozen=True)
class IncomingMessage:
    wa_id: str
    message_id: str
    received_at: dt.datetime
    kind: str
    text: str  # what the visitor wrote ("" for media without caption)


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str


@dataclass
class WebhookResult:
    created: int = 0  # follow-ups written (new tickets included)
    duplicates: int = 0
    statuses: int = 0
    ignored: int = 0


def read_payload(payload: Any) -> tuple[list[IncomingMessage], list[StatusUpdate], int]:
    """The messages and statuses in a webhook body, and how many parts were not understood."""
    messages: list[IncomingMessage] = []
    statuses: list[StatusUpdate] = []
    ignored = 0
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        logger.warning("WhatsApp webhook: not a whatsapp_business_account body; ignored")
        return [], [], 1
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                logger.info("WhatsApp webhook: field %r ignored", change.get("field"))
                ignored += 1
                continue
            for raw in _dicts(value.get("messages")):
                message = _read_message(raw)
                if message is None:
                    ignored += 1
                else:
                    messages.append(message)
            for raw in _dicts(value.get("statuses")):
                if isinstance(raw.get("id"), str) and isinstance(raw.get("status"), str):
                    statuses.append(StatusUpdate(raw["id"], raw["status"]))
                else:
                    ignored += 1
            for raw in _dicts(value.get("errors")):
                logger.warning(
                    "WhatsApp webhook error %s: %s", raw.get("code"), raw.get("title", "")
                )
    return messages, statuses, ignored


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _read_message(raw: dict[str, Any]) -> IncomingMessage | None:
    wa_id, message_id, kind = raw.get("from"), raw.get("id"), raw.get("type")
    if not (isinstance(wa_id, str) and wa_id.isdigit() and 5 <= len(wa_id) <= 32):
        logger.warning("WhatsApp webhook: message without a usable sender ignored")
        return None
    if not (isinstance(message_id, str) and 0 < len(message_id) <= 128 and isinstance(kind, str)):
        logger.warning("WhatsApp webhook: message without id or type ignored")
        return None
    try:
        received_at = dt.datetime.fromtimestamp(int(raw.get("timestamp", "")), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        received_at = timezone.now()
    if kind == "reaction":
        logger.info("WhatsApp webhook: reaction ignored")
        return None
    return IncomingMessage(wa_id, message_id, received_at, kind[:20], _text_of(raw, kind))


def _text_of(raw: dict[str, Any], kind: str) -> str:
    body = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    if kind == "text":
        text = body.get("body")
    elif kind == "button":
        text = body.get("text")
    elif kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        text = reply.get("title") if isinstance(reply, dict) else None
    else:  # image, document, video, audio, sticker, location, contacts, unsupported...
        text = body.get("caption")
    return text if isinstance(text, str) else ""


# --- incoming messages ---------------------------------------------------------------------------


def handle_webhook(payload: Any) -> WebhookResult:
    """Apply a verified webhook body: each message in its own transaction, so one bad message
    cannot lose the others of a batch."""
    messages, statuses, ignored = read_payload(payload)
    result = WebhookResult(ignored=ignored)
    for message in messages:
        if receive_message(message) is None:
            result.duplicates += 1
        else:
            result.created += 1
    for status in statuses:
        result.statuses += record_status(status)
    return result


def receive_message(message: IncomingMessage) -> FollowUp | None:
    """The follow-up for ``message`` on its phone's ticket (a new ticket if none fits), or None
    when this message id was received before."""
    if WhatsAppMessage.objects.filter(message_id=message.message_id).exists():
        logger.info("WhatsApp message delivered again; ignored")
        return None
    try:
        with transaction.atomic():
            return _receive(message)
    except IntegrityError:  # the same delivery raced us in another worker
        logger.info("WhatsApp message delivered twice at once; kept once")
        return None


def _receive(message: IncomingMessage) -> FollowUp:
    thread = _open_thread_for(message.wa_id)
    # A NIK typed into the chat is kept as its last 4 digits only (DOMAIN.md, personal data).
    text, truncated_from = _bounded(mask_nik_in_text(message.text) if message.text else "")
    if thread is None:
        followup = _open_ticket(message, text, truncated_from)
        thread = followup.ticket.pst.whatsapp
        new = True
    else:
        followup = _continue_ticket(thread, message, text, truncated_from)
        new = False
    WhatsAppMessage.objects.create(
        thread=thread,
        message_id=message.message_id,
        direction=WhatsAppMessage.Direction.IN,
        followup=followup,
        kind=message.kind,
        status=WhatsAppMessage.Status.RECEIVED,
        sent_at=message.received_at,
    )
    transaction.on_commit(lambda: _announce_incoming(followup.pk, new))
    return followup


def _open_thread_for(wa_id: str) -> WhatsAppThread | None:
    """The phone's newest conversation, if its ticket is open or was closed recently enough to
    reopen (``WHATSAPP_REOPEN_DAYS``)."""
    thread = (
        WhatsAppThread.objects.filter(wa_id=wa_id)
        .select_related("pst_ticket__ticket__queue")
        .order_by("-created", "-id")
        .first()
    )
    if thread is None:
        return None
    ticket = thread.pst_ticket.ticket
    if ticket.status in _CLOSED_STATES:
        horizon = timezone.now() - dt.timedelta(days=pst_settings.WHATSAPP_REOPEN_DAYS)
        if ticket.modified < horizon:
            return None
    return thread


def _bounded(text: str) -> tuple[str, int | None]:
    limit = pst_settings.WHATSAPP_MAX_MESSAGE_CHARS
    if len(text) <= limit:
        return text, None
    return text[:limit], len(text)


def _comment(message: IncomingMessage, text: str, truncated_from: int | None) -> str:
    """The follow-up text, in the queue's language (the caller overrides it)."""
    parts = [text] if text else []
    if message.kind not in ("text", "button", "interactive"):
        parts.append(
            gettext(
                "[The visitor sent a WhatsApp %(kind)s; it is not stored here. Ask for the "
                "content as text or by e-mail if it is needed.]"
            )
            % {"kind": message.kind}
        )
    if truncated_from is not None:
        parts.append(
            gettext(
                "[Message truncated: it had %(length)d characters; the first %(kept)d are kept.]"
            )
            % {"length": truncated_from, "kept": len(text)}
        )
    return "\n\n".join(parts)


def online_queue() -> Queue:
    """The queue of online tickets that name no branch (``ONLINE_QUEUE``), created if missing."""
    queue, _created = Queue.objects.get_or_create(
        slug=pst_settings.ONLINE_QUEUE,
        defaults={
            "title": "PST Online",
            "locale": "id",
            "allow_public_submission": False,
            "allow_email_submission": False,
        },
    )
    return queue


def _open_ticket(message: IncomingMessage, text: str, truncated_from: int | None) -> FollowUp:
    queue = online_queue()
    channel = Channel.objects.filter(code=Channel.WHATSAPP).first()
    if channel is None:
        raise ImproperlyConfigured(
            "The whatsapp channel is missing; run `manage.py migrate pst_helpdesk_ext`."
        )
    with translation.override(queue.locale or settings.LANGUAGE_CODE):
        comment = _comment(message, text, truncated_from)
        thread_phone = WhatsAppThread(wa_id=message.wa_id).masked_phone
        ticket = Ticket.objects.create(
            title=(text.splitlines()[0][:80] if text else "")
            or gettext("WhatsApp message from %(phone)s") % {"phone": thread_phone},
            queue=queue,
            submitter_email=None,
            description=comment,
            status=Ticket.OPEN_STATUS,
            priority=3,
            assigned_to=queue.default_owner,
        )
        followup = opening_followup(
            ticket,
            title=gettext("Ticket Opened Via WhatsApp"),
            comment=comment,
            date=timezone.now(),
        )
    pst = PSTTicket.objects.create(
        ticket=ticket,
        channel=channel,
        branch=Branch.objects.filter(queue=queue).first(),
        category=ServiceCategory.objects.filter(code=CONSULTATION).first(),
    )
    WhatsAppThread.objects.create(pst_ticket=pst, wa_id=message.wa_id)
    return followup


def _continue_ticket(
    thread: WhatsAppThread, message: IncomingMessage, text: str, truncated_from: int | None
) -> FollowUp:
    ticket = Ticket.objects.select_for_update().get(pk=thread.pst_ticket.ticket_id)
    reopen = ticket.status in _CLOSED_STATES
    with translation.override(ticket.queue.locale or settings.LANGUAGE_CODE):
        followup = incoming_followup(
            ticket,
            title=gettext("WhatsApp message received"),
            comment=_comment(message, text, truncated_from),
            date=timezone.now(),
            reopen_title=gettext("Ticket re-opened by a WhatsApp message") if reopen else None,
        )
    return followup


def _announce_incoming(followup_id: int, new: bool) -> None:
    """After commit: helpdesk's notifications and signals, then the PST signals."""
    followup = FollowUp.objects.select_related("ticket__queue", "ticket__pst").get(pk=followup_id)
    ticket = followup.ticket
    with translation.override(ticket.queue.locale or settings.LANGUAGE_CODE):
        context = safe_template_context(ticket)
        context["comment"] = followup.comment
        if new:
            roles = {
                "new_ticket_cc": ("newticket_cc", context),
                "ticket_cc": ("newticket_cc", context),
            }
        else:
            roles = {"assigned_to": ("updated_owner", context)}
            if ticket.queue.enable_notifications_on_email_events:
                roles["ticket_cc"] = ("updated_cc", context)
        sent_to: set[str] = set()
        ticket.send(roles, sent_to=sent_to, fail_silently=True)
    if sent_to:
        FollowUp.objects.filter(pk=followup.pk).update(email_recipients=sorted(sent_to))
    if new:
        _send_robust(new_ticket_done, sender=signals.WHATSAPP_SENDER, ticket=ticket)
        _send_robust(
            signals.online_request_submitted,
            sender=signals.WHATSAPP_SENDER,
            pst_ticket=ticket.pst,
            complete=False,
            at=followup.date,
        )
    else:
        _send_robust(update_ticket_done, sender=signals.WHATSAPP_SENDER, followup=followup)
        _send_robust(
            signals.visitor_replied,
            sender=signals.WHATSAPP_SENDER,
            pst_ticket=ticket.pst,
            followup=followup,
            at=followup.date,
            reopened=followup.new_status == Ticket.REOPENED_STATUS,
        )


def _send_robust(signal: Any, **kwargs: Any) -> None:
    for receiver, error in signal.send_robust(**kwargs):
        if isinstance(error, Exception):
            logger.error("%r receiver failed: %s", receiver, error)


def record_status(status: StatusUpdate) -> int:
    """Delivery news about a message we sent (sent, delivered, read, failed): 1 if it was ours."""
    known = {choice for choice, _label in WhatsAppMessage.Status.choices}
    if status.status not in known:
        return 0
    return WhatsAppMessage.objects.filter(
        message_id=status.message_id, direction=WhatsAppMessage.Direction.OUT
    ).update(status=status.status)


# --- senders -------------------------------------------------------------------------------------


class SendError(Exception):
    """The message did not go out; the text says why, for staff and the log."""


class WhatsAppSender(Protocol):
    def send_text(self, to: str, text: str) -> str:
        """Send ``text`` to WhatsApp id ``to``; return the message id or raise SendError."""


class LoggingSender:
    """For the demo and tests: sends nothing, logs (masked number, length) and returns an id.
    The text itself is kept on the ``WhatsAppMessage`` row, which is where tests read it."""

    def send_text(self, to: str, text: str) -> str:
        message_id = f"logged.{uuid.uuid4().hex}"
        logger.info(
            "WhatsApp (logging sender) to %s: %d characters, id %s",
            WhatsAppThread(wa_id=to).masked_phone,
            len(text),
            message_id,
        )
        return message_id


class CloudApiSender:
    """The WhatsApp Business Cloud API: ``POST {WHATSAPP_GRAPH_URL}/{phone number id}/messages``
    with the access token, one text message per call."""

    timeout_seconds = 15

    def send_text(self, to: str, text: str) -> str:
        phone_number_id = pst_settings.WHATSAPP_PHONE_NUMBER_ID
        token = pst_settings.WHATSAPP_ACCESS_TOKEN
        if not phone_number_id or not token:
            raise SendError("WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN must be set")
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        request = urllib.request.Request(  # noqa: S310 (https URL from settings)
            f"{pst_settings.WHATSAPP_GRAPH_URL.rstrip('/')}/{phone_number_id}/messages",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SendError(f"HTTP {exc.code}: {_api_error(exc)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SendError(f"cannot reach the WhatsApp API: {exc}") from None
        except http.client.HTTPException as exc:  # e.g. the answer cut off (IncompleteRead)
            raise SendError(
                f"the WhatsApp API answer was broken off: {type(exc).__name__}"
            ) from None
        except ValueError:
            raise SendError("the WhatsApp API answered with something that is not JSON") from None
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError("the WhatsApp API answer names no message id") from None


def _api_error(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read()).get("error", {})
        return str(error.get("message") or error)[:200]
    except (ValueError, AttributeError, OSError):
        return exc.reason if isinstance(exc.reason, str) else "error"


def get_sender() -> WhatsAppSender | None:
    path = pst_settings.WHATSAPP_SENDER
    return import_string(path)() if path else None


def _parts(text: str) -> list[str]:
    """``text`` cut into messages the API accepts, at line ends where possible."""
    limit = pst_settings.WHATSAPP_MAX_MESSAGE_CHARS
    parts = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text.strip():
        parts.append(text)
    return parts


def send_to_visitor(pst_ticket: PSTTicket, text: str, *, followup: FollowUp | None = None) -> bool:
    """Send ``text`` to the visitor of a WhatsApp ticket through the configured sender.

    True when every part went out. False when the ticket is not a WhatsApp ticket (its visitor
    hears from helpdesk's own e-mails), when no sender is configured, or when sending failed
    (recorded on a ``WhatsAppMessage`` row with the error, and logged). Never raises for those.
    """
    thread = WhatsAppThread.objects.filter(pst_ticket=pst_ticket).first()
    if thread is None or not thread.wa_id:
        return False
    sender = get_sender()
    ok = True
    parts = _parts(text)
    for number, part in enumerate(parts, start=1):
        row = WhatsAppMessage(
            thread=thread,
            direction=WhatsAppMessage.Direction.OUT,
            followup=followup,
            text=part,
            status=WhatsAppMessage.Status.SENT,
        )
        try:
            if sender is None:
                raise SendError("no WhatsApp sender configured (PST_HELPDESK WHATSAPP_SENDER)")
            row.message_id = str(sender.send_text(thread.wa_id, part))[:128]
        except Exception as exc:  # one part that fails never stops the others
            ok = False
            reason = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
            row.status = WhatsAppMessage.Status.FAILED
            row.message_id = ""
            row.error = reason[:300]
            logger.error(
                "WhatsApp reply to %s on ticket %s, part %d of %d, failed: %s",
                thread.masked_phone,
                pst_ticket.ticket_id,
                number,
                len(parts),
                reason,
            )
        try:
            row.save()
        except DatabaseError as exc:
            ok = False
            logger.error(
                "WhatsApp reply on ticket %s, part %d: could not be recorded: %s",
                pst_ticket.ticket_id,
                number,
                exc,
            )
    return ok


def followup_needs_sending(followup: FollowUp, sender: object) -> bool:
    """A public follow-up with text, written through helpdesk's ``update_ticket`` by staff or by
    the system (never the visitor's own message), on a WhatsApp ticket."""
    if sender != "update_ticket" or not followup.public or not (followup.comment or "").strip():
        return False
    if followup.user_id is not None and not is_helpdesk_staff(followup.user):
        return False
    return WhatsAppThread.objects.filter(pst_ticket__ticket_id=followup.ticket_id).exists()


def deliver_followup(followup_id: int) -> bool:
    """Send a committed follow-up to its WhatsApp visitor (runs after commit)."""
    followup = FollowUp.objects.select_related("ticket__pst").filter(pk=followup_id).first()
    if followup is None:
        return False
    text = followup.comment
    if followup.followupattachment_set.exists():
        # A text message cannot carry files (an appointment's .ics, a table): the visitor's own
        # page has them, behind its signed link (services.visitor).
        from pst_helpdesk_ext.services import visitor

        with translation.override(followup.ticket.queue.locale or settings.LANGUAGE_CODE):
            text += "\n\n" + gettext("Files and the whole conversation: %(url)s") % {
                "url": visitor.link_url(followup.ticket)
            }
    return send_to_visitor(followup.ticket.pst, text, followup=followup)


def send_rating_link(pst_ticket: PSTTicket, url: str) -> bool:
    """Invite the visitor of a WhatsApp ticket to rate the service, in the queue's language."""
    queue = pst_ticket.ticket.queue
    with translation.override(queue.locale or settings.LANGUAGE_CODE):
        text = gettext(
            "Thank you for using the BPS statistical service. How was it? Please rate us "
            "(nine short questions, one use only): %(url)s"
        ) % {"url": url}
    return send_to_visitor(pst_ticket, text)


def forget_numbers(cutoff: dt.datetime) -> int:
    """Empty the WhatsApp number of conversations started before ``cutoff`` (the retention rule
    of visitors' personal data); their tickets and messages stay. Returns how many were erased.
    A later message from that phone starts a new ticket."""
    return WhatsAppThread.objects.filter(created__lt=cutoff).exclude(wa_id="").update(wa_id="")

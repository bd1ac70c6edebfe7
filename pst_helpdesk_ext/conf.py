"""The plugin's settings: one ``PST_HELPDESK`` dict, read on every access.

Nothing here is read at import time, so ``override_settings(PST_HELPDESK=...)`` works in tests and
a running site picks up what its settings say. Defaults live in ``DEFAULTS``; ``checks.py``
validates the values and names the key that is wrong.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from sync import codec

DEFAULTS: dict[str, Any] = {
    # Keyed hash of visitor ID numbers (HMAC-SHA256). Must be the same at central and at every
    # branch so returning visitors are recognised; defaults to a key derived from SECRET_KEY.
    "ID_HASH_KEY": None,
    # Visitor personal data older than this is purged by `pst_purge_personal_data`.
    "PERSONAL_DATA_RETENTION_DAYS": 730,
    # Queue (slug) that receives complaints; created by `pst_demo_data` / `pst_branch` if missing.
    "COMPLAINTS_QUEUE": "pst-pengaduan",
    # Default timezone of a new branch.
    "DEFAULT_TIMEZONE": "Asia/Jakarta",
    # Central sync server.
    "SYNC_BIND": "tcp://*:5555",
    "SYNC_KEY_DIR": None,  # directory with server.key_secret / server.key (pst_sync_keys)
    "SYNC_SERVER_SECRET_KEY": None,  # Z85, 40 chars; overrides SYNC_KEY_DIR
    "SYNC_SERVER_PUBLIC_KEY": None,
    # The protocol's own limits (``sync.codec``), said there once.
    "SYNC_MAX_MESSAGE_BYTES": codec.MAX_BODY_BYTES,
    "SYNC_MAX_BATCH_OPS": codec.MAX_BATCH_OPS,
    "SYNC_CLOCK_SKEW_WARN_SECONDS": 120,
    # Plausible branch times: an op whose time is more than SYNC_TIME_PAST_DAYS before or
    # SYNC_TIME_FUTURE_SECONDS after central's receive time, or whose step of a visit is more than
    # SYNC_VISIT_SPAN_DAYS from the visit's issue time, is rejected ("implausible_time").
    "SYNC_TIME_PAST_DAYS": 730,
    "SYNC_TIME_FUTURE_SECONDS": 3 * 86400,
    "SYNC_VISIT_SPAN_DAYS": 8,
    # Down-feed rows older than this are pruned; a branch with an older cursor gets a snapshot.
    "SYNC_FEED_RETENTION_DAYS": 90,
    # Ratings: how long an emailed rating link stays valid, and whether walk-in visitors who left
    # an e-mail address also get one (off: they rate at the branch's rating kiosk).
    "RATING_LINK_MAX_AGE_DAYS": 30,
    # Online channel (docs/online.md). Queue (slug) of WhatsApp tickets, which name no branch;
    # created on the first message if missing.
    "ONLINE_QUEUE": "pst-online",
    # The e-mail verification link of the public request page stays valid this long.
    "ONLINE_VERIFY_MAX_AGE_HOURS": 24,
    # The visitor's own consultation page (docs/online.md): its signed link stops working after
    # this many days in which neither the link was issued nor the consultation had a follow-up
    # (every helpdesk e-mail carries a fresh link; "send me my link again" issues one too).
    "VISITOR_LINK_INACTIVE_DAYS": 30,
    # Largest file a visitor may attach to a reply on that page (helpdesk has no upload limit of
    # its own; its HELPDESK_VALID_EXTENSIONS decides the types).
    "VISITOR_ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
    # WhatsApp Business Cloud API. Webhook handshake token (GET hub.verify_token) and the app
    # secret that signs every POST (X-Hub-Signature-256); the webhook refuses all without them.
    "WHATSAPP_VERIFY_TOKEN": "",
    "WHATSAPP_APP_SECRET": "",
    # Dotted path of the sender class; "" = no WhatsApp replies go out (they are recorded failed).
    # pst_helpdesk_ext.services.whatsapp.CloudApiSender (real) or .LoggingSender (demo, tests).
    "WHATSAPP_SENDER": "",
    "WHATSAPP_PHONE_NUMBER_ID": "",
    "WHATSAPP_ACCESS_TOKEN": "",
    "WHATSAPP_GRAPH_URL": "https://graph.facebook.com/v21.0",
    # Longer incoming messages are truncated (with a note); longer replies go out in parts.
    # 4096 is the Cloud API's limit for a text message body.
    "WHATSAPP_MAX_MESSAGE_CHARS": 4096,
    # A message from a phone whose last ticket was closed or resolved longer ago than this opens
    # a new ticket; a newer one reopens it.
    "WHATSAPP_REOPEN_DAYS": 30,
    "RATING_LINK_WALK_IN": False,
    # Complaints: tier of a complaint filed by a visitor (1 light, 2 days ... 4 field check, 60
    # days), and the shape of an SP4N-LAPOR! reference number (a regular expression).
    "COMPLAINT_DEFAULT_TIER": 1,
    "LAPOR_REF_PATTERN": r"^[A-Z0-9][A-Z0-9/.-]{3,39}$",
    # A complaint's first answer to the complainant is due within this many working days of
    # filing (DOMAIN.md "Complaints"); its settlement by its tier's deadline (docs/sla.md).
    "COMPLAINT_FIRST_RESPONSE_DAYS": 3,
    # Reports show IKM and service-time figures per desk or per officer only for groups with at
    # least this many respondents (ratings are anonymous to the people rated); smaller groups
    # are shown without their figures, saying why.
    "REPORT_MIN_RESPONDENTS": 5,
    # SLA clocks (docs/sla.md). Days without a visitor reply after which `pst_sla_tick` closes an
    # online conversation no policy covers (a policy's own inactivity_close_days wins; 0: never).
    "SLA_INACTIVITY_CLOSE_DAYS": 7,
    # A breach older than this when `pst_sla_tick` first sees it (visits synced late, or
    # `--recompute` over a site's history) is recorded on the ticket without a history note.
    "SLA_BREACH_NOTE_MAX_AGE_DAYS": 7,
    # Tickets `pst_sla_tick` evaluates per query and bulk update.
    "SLA_TICK_BATCH_SIZE": 500,
    # Public pages (SECURITY.md, "The public boundary"): what one client address may do (public
    # actions that send an e-mail or open a ticket) and how many e-mails one address may get, as
    # (count, seconds); and e-mails to one address in 24 hours. Counted in Django's cache.
    "PUBLIC_LIMIT_PER_CLIENT": (10, 600),
    "PUBLIC_LIMIT_PER_EMAIL": (5, 3600),
    "PUBLIC_DAILY_SENDS_PER_EMAIL": 10,
    # Addresses or networks (CIDR) of your reverse proxies: behind them the client address is
    # read from X-Forwarded-For. Empty: REMOTE_ADDR (a site served directly).
    "PUBLIC_TRUSTED_PROXIES": [],
    # The site's public address (scheme and host, optionally a port: "https://pst.example.go.id")
    # for the links in e-mails and WhatsApp messages. `migrate` writes its host into the Sites
    # framework, where helpdesk builds its own links; "" leaves the Site as the admin set it.
    "PUBLIC_BASE_URL": "",
    # The public frame (helpdesk's public home, knowledge base and the PST request pages):
    # the office's name ("" = "BPS Integrated Statistical Services", translated) and its logo, a
    # static file path or an absolute URL ("" = no logo).
    "OFFICE_NAME": "",
    "OFFICE_LOGO": "pst_helpdesk_ext/img/pst-logo.svg",
    # Offer helpdesk's own public "Submit a Ticket" form to visitors. Off: every "ask" link
    # (home, knowledge base, helpdesk's submit page) leads into the PST request flow instead.
    "PUBLIC_TICKET_FORM": False,
}


class PstSettings:
    """Typed access to PST_HELPDESK with defaults; every attribute reads settings afresh."""

    def _get(self, key: str) -> Any:
        user = getattr(settings, "PST_HELPDESK", None) or {}
        return user.get(key, DEFAULTS[key])

    def __getattr__(self, key: str) -> Any:
        if key not in DEFAULTS:
            raise AttributeError(f"PST_HELPDESK has no setting {key!r}")
        return self._get(key)

    @property
    def ID_HASH_KEY(self) -> bytes:
        key = self._get("ID_HASH_KEY")
        if key:
            return key.encode() if isinstance(key, str) else bytes(key)
        import hashlib

        return hashlib.sha256(b"pst-id-hash:" + settings.SECRET_KEY.encode()).hexdigest().encode()


pst_settings = PstSettings()

"""The demo's e-mail backend: one short console line per message, the whole text in a file.

``make demo`` sets ``DJANGO_EMAIL_BACKEND`` to this class and ``PST_DEMO_MAIL_LOG`` to the file
(``var/demo-mail.log``, named in the banner). A line reads::

    mail to siti@example.id: "Konfirmasi alamat e-mail Anda" -> http://127.0.0.1:8000/pst/...

so the verification, ticket and rating links are where a person looks, not buried in headers.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

LINK = re.compile(r"https?://[^\s<>\"')]+")
_lock = threading.Lock()


def mail_log_path() -> Path:
    default = Path(__file__).resolve().parent.parent.parent / "var" / "demo-mail.log"
    return Path(os.environ.get("PST_DEMO_MAIL_LOG", default))


def links(message: EmailMessage) -> list[str]:
    """The distinct links of the message's text (and HTML alternative), in order."""
    texts = [str(message.body)]
    texts += [str(content) for content, _mime in getattr(message, "alternatives", [])]
    seen: dict[str, None] = {}
    for text in texts:
        for url in LINK.findall(text):
            seen.setdefault(url.rstrip(".,;"), None)
    return list(seen)


def summary(message: EmailMessage) -> str:
    line = f'mail to {", ".join(message.recipients())}: "{message.subject}"'
    found = links(message)
    return line + (" -> " + " ".join(found) if found else "")


def full_text(message: EmailMessage) -> str:
    """Headers and the decoded text body (readable, unlike the MIME-encoded original)."""
    head = message.message()
    lines = [f"{name}: {head[name]}" for name in ("Date", "From", "To") if head[name]]
    lines += [f"Subject: {message.subject}", "", str(message.body)]
    for content, mime in getattr(message, "alternatives", []):
        lines += ["", f"[{mime} alternative, {len(str(content))} characters]"]
    return "\n".join(lines) + "\n" + "-" * 79 + "\n"


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        path = mail_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        sent = 0
        with _lock, path.open("a", encoding="utf-8") as log:
            for message in email_messages:
                log.write(full_text(message))
                print(summary(message), file=sys.stdout, flush=True)
                sent += 1
        return sent

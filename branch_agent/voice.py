"""The board's voice: the office's own clip recordings and the voice settings.

The board composes each call from clips (``branch_agent.voice_words``) and plays, per clip, the
first source that works: the office's own recording (stored here) -> the shipped clip
(``static/branch_agent/voice/<key>.ogg``) -> the PC's speech voice, only when the branch admin
picked it -> nothing more (the call's chime has sounded already; the board chimes again).

A recording is checked before it is stored: a known clip, not empty, at most ``MAX_CLIP_BYTES``,
and audio the board can play, recognised by its content (not by the name or type the browser
gave). A refused upload changes nothing: the clip that was there stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from branch_agent.models import VoiceClip, VoiceSettings
from branch_agent.voice_words import CLIPS

MAX_CLIP_BYTES = 512 * 1024  # a few seconds of speech is ~20-60 kB in any browser's recorder


class ClipRefused(ValueError):
    """An upload that cannot be a clip; the message says why, in the user's language."""


def sniff(data: bytes) -> str | None:
    """The audio type of ``data`` from its first bytes, or None if the board cannot play it."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"  # Chromium's MediaRecorder (Opus in WebM)
    if data[:4] == b"OggS":
        return "audio/ogg"  # Firefox's MediaRecorder, the shipped clips
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"  # Safari's MediaRecorder, phone voice memos (.m4a)
    return None


def check_key(key: str) -> str:
    if key not in CLIPS:
        raise ClipRefused(_("There is no voice clip called %(key)s.") % {"key": key})
    return key


def read_upload(upload: Any) -> bytes:
    """The bytes of an uploaded file, refusing one that is too big before reading it all."""
    if upload is None:
        raise ClipRefused(_("Record the clip or choose an audio file first."))
    if upload.size is not None and upload.size > MAX_CLIP_BYTES:
        raise ClipRefused(too_big(upload.size))
    data = upload.read(MAX_CLIP_BYTES + 1)
    if len(data) > MAX_CLIP_BYTES:
        raise ClipRefused(too_big(len(data)))
    return data


def too_big(size: int) -> str:
    return _(
        "The clip is too large (%(size)d kB); at most %(max)d kB, a few seconds of speech."
    ) % {"size": (size + 1023) // 1024, "max": MAX_CLIP_BYTES // 1024}


def save_clip(key: str, data: bytes, recorded_by: str) -> VoiceClip:
    """Store the office's recording of ``key`` (replacing an earlier one)."""
    check_key(key)
    if not data:
        raise ClipRefused(_("The clip is empty: nothing was recorded."))
    if len(data) > MAX_CLIP_BYTES:
        raise ClipRefused(too_big(len(data)))
    kind = sniff(data)
    if kind is None:
        raise ClipRefused(
            _("This is not audio the board can play; use WebM, Ogg, WAV, MP3 or M4A.")
        )
    with transaction.atomic():
        clip, _created = VoiceClip.objects.update_or_create(
            key=key,
            defaults={
                "audio": data,
                "content_type": kind,
                "size": len(data),
                "recorded_by": recorded_by[:200],
                "updated_at": timezone.now(),
            },
        )
    return clip


def delete_clip(key: str) -> bool:
    """Back to the shipped clip; False if the office had no recording of ``key``."""
    check_key(key)
    deleted, _rows = VoiceClip.objects.filter(key=key).delete()
    return bool(deleted)


def settings() -> VoiceSettings:
    return VoiceSettings.objects.filter(pk=1).first() or VoiceSettings(pk=1)


def set_os_voice(on: bool) -> None:
    VoiceSettings.objects.update_or_create(
        pk=1, defaults={"os_voice": on, "updated_at": timezone.now()}
    )


def office_url(clip: VoiceClip) -> str:
    # The version in the URL makes a new recording replace the one the board has cached.
    version = int(clip.updated_at.timestamp())
    return reverse("branch_agent:voice_audio", args=[clip.key]) + f"?v={version}"


def shipped_url(key: str) -> str:
    return static(f"branch_agent/voice/{key}.ogg")


@dataclass(frozen=True)
class ClipRow:
    key: str
    text: str
    shipped: str
    office: VoiceClip | None

    @property
    def office_src(self) -> str | None:
        return office_url(self.office) if self.office else None


def rows() -> list[ClipRow]:
    office = {c.key: c for c in VoiceClip.objects.defer("audio")}
    return [ClipRow(k, t, shipped_url(k), office.get(k)) for k, t in CLIPS.items()]


def board_config() -> dict[str, Any]:
    """What the board needs to speak a call: per clip its sources in order, and whether the PC's
    speech voice may stand in for a clip none of them can play."""
    clips = {}
    for row in rows():
        sources = [row.office_src] if row.office_src else []
        clips[row.key] = {"text": row.text, "sources": [*sources, row.shipped]}
    return {"os_voice": settings().os_voice, "clips": clips}

"""The board's voice: its clip list (no login, like the board) and the branch admin's page to
record the office's own clips with the PC's microphone (``branch_agent.voice``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from branch_agent import roles, voice
from branch_agent.models import ServiceCategory, VoiceClip
from branch_agent.voice_words import CLIPS, compose, sentence


@never_cache
@require_GET
def board_voice(request: HttpRequest) -> JsonResponse:
    return JsonResponse(voice.board_config())


@require_GET
def voice_audio(request: HttpRequest, key: str) -> HttpResponse:
    """The office's recording of one clip (404 when the office has none: the board then plays
    the shipped clip). Versioned URLs, so the board may keep it for a day."""
    clip = VoiceClip.objects.filter(key=key).first()
    if clip is None:
        raise Http404(_("The office has no recording of this clip."))
    response = HttpResponse(bytes(clip.audio), content_type=clip.content_type)
    response["Cache-Control"] = "max-age=86400"
    return response


def _groups(rows: list[voice.ClipRow]) -> list[tuple[str, list[voice.ClipRow]]]:
    used = {
        f"letter_{s.queue_letter.lower()}"
        for s in ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE, active=True)
        if s.queue_letter
    }
    phrases = [r for r in rows if r.key in ("nomor_antrian", "silakan_ke", "meja")]
    letters = [r for r in rows if r.key.startswith("letter_")]
    numbers = [r for r in rows if r not in phrases and r not in letters]
    return [
        (_("Words of every call"), phrases),
        (_("Letters of this office's services"), [r for r in letters if r.key in used]),
        (_("Numbers"), numbers),
        (_("Other letters (services central may add)"), [r for r in letters if r.key not in used]),
    ]


def _page(
    request: HttpRequest, error: str = "", error_key: str = "", status: int = 200
) -> HttpResponse:
    letter = next(
        (
            s.queue_letter
            for s in ServiceCategory.objects.filter(
                kind=ServiceCategory.Kind.SERVICE, active=True
            ).exclude(queue_letter="")
        ),
        "A",
    )
    example = f"{letter}-012"
    return render(
        request,
        "branch_agent/voice_admin.html",
        {
            "groups": _groups(voice.rows()),
            "settings": voice.settings(),
            "error": error,
            "error_key": error_key,
            "max_kb": voice.MAX_CLIP_BYTES // 1024,
            "example": example,
            "example_words": sentence(compose(example, 2)),
        },
        status=status,
    )


@never_cache
@roles.role_required(roles.BRANCH_ADMIN)
def voice_admin(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@roles.role_required(roles.BRANCH_ADMIN)
def voice_save(request: HttpRequest, key: str) -> HttpResponse:
    if key not in CLIPS:
        raise Http404(_("There is no voice clip called %(key)s.") % {"key": key})
    user = request.user
    try:
        data = voice.read_upload(request.FILES.get("audio"))
        voice.save_clip(key, data, user.get_full_name() or user.get_username())
    except voice.ClipRefused as exc:
        return _page(request, str(exc), key, status=400)
    messages.success(
        request, _("Saved the office's recording of “%(text)s”.") % {"text": CLIPS[key]}
    )
    return redirect(reverse("branch_agent:voice_admin") + f"#clip-{key}")


@require_POST
@roles.role_required(roles.BRANCH_ADMIN)
def voice_delete(request: HttpRequest, key: str) -> HttpResponse:
    if key not in CLIPS:
        raise Http404(_("There is no voice clip called %(key)s.") % {"key": key})
    if voice.delete_clip(key):
        messages.success(
            request,
            _("Deleted the office's recording of “%(text)s”; the board plays the shipped clip.")
            % {"text": CLIPS[key]},
        )
    return redirect("branch_agent:voice_admin")


@require_POST
@roles.role_required(roles.BRANCH_ADMIN)
def voice_settings(request: HttpRequest) -> HttpResponse:
    choice = request.POST.get("fallback")
    if choice not in ("os_voice", "chime"):
        return _page(
            request, _("Choose what the board does when a clip cannot be played."), "", 400
        )
    voice.set_os_voice(choice == "os_voice")
    messages.success(request, _("Saved the voice settings."))
    return redirect("branch_agent:voice_admin")

"""The board's voice (issue 18): the call as Indonesian clip words, the shipped clips and their
generator, and the branch admin's page for the office's own recordings (Django's test client)."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from branch_agent import voice
from branch_agent.models import VoiceClip, VoiceSettings
from branch_agent.voice_words import CLIPS, MAX_NUMBER, compose, number_words, sentence

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "branch_agent" / "static" / "branch_agent" / "voice"
OGG = (SHIPPED / "meja.ogg").read_bytes()


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "nol"),
        (1, "satu"),
        (7, "tujuh"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (21, "dua puluh satu"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (110, "seratus sepuluh"),
        (111, "seratus sebelas"),
        (115, "seratus lima belas"),
        (200, "dua ratus"),
        (212, "dua ratus dua belas"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1011, "seribu sebelas"),
        (2305, "dua ribu tiga ratus lima"),
        (9999, "sembilan ribu sembilan ratus sembilan puluh sembilan"),
    ],
)
def test_numbers_are_spoken_indonesian(n, spoken):
    assert sentence(number_words(n)) == spoken


def test_every_number_uses_known_clips_and_never_satu_before_a_unit():
    for n in range(MAX_NUMBER + 1):
        words = number_words(n)
        assert set(words) <= set(CLIPS), n
        text = " " + sentence(words) + " "
        for wrong in (" satu ratus", " satu ribu", " satu belas", " satu puluh", " nol "):
            assert wrong not in text or n == 0, (n, text)
    for bad in (-1, MAX_NUMBER + 1, 1.5, "12", True):
        with pytest.raises(ValueError):
            number_words(bad)


def test_a_call_is_composed_from_clips():
    assert compose("A-012", 2) == [
        "nomor_antrian", "letter_a", "dua", "belas", "silakan_ke", "meja", "dua",
    ]  # fmt: skip
    assert sentence(compose("K-100", "1")) == "nomor antrian ka seratus silakan ke meja satu"
    assert sentence(compose("p-011", 20)) == "nomor antrian pe sebelas silakan ke meja dua puluh"
    for number, desk in (("012", 1), ("A-012", "dua"), ("AB-1", 1), ("A-12345", 1), ("A-1", "")):
        with pytest.raises(ValueError):
            compose(number, desk)


def test_every_clip_is_shipped_small_and_as_the_manifest_says():
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    files = {p.stem: p.read_bytes() for p in SHIPPED.glob("*.ogg")}
    assert set(files) == set(CLIPS) == set(manifest["clips"])
    for key, data in files.items():
        assert data[:4] == b"OggS" and b"OpusHead" in data[:64], key
        assert hashlib.sha256(data).hexdigest() == manifest["clips"][key], key
        assert 500 < len(data) < 12_000, key  # a word, not silence and not a speech
    assert sum(len(d) for d in files.values()) < 300_000  # well under the 1.5 MB budget


def test_the_clip_script_is_reproducible(tmp_path):
    """Regenerates every clip and compares bytes with the shipped ones, when this machine has
    the tool versions the clips were made with (the manifest says which)."""
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    tools = manifest["tools"]
    if not all(shutil.which(t) for t in tools):
        pytest.skip("espeak-ng, sox and opusenc are not installed (offices and CI need none)")
    sys.path.insert(0, str(REPO / "deploy" / "voice"))
    try:
        import make_clips
    finally:
        sys.path.pop(0)
    if make_clips.tool_versions() != tools:
        pytest.skip(f"other tool versions than the shipped clips were made with: {tools}")
    subprocess.run(
        [sys.executable, str(REPO / "deploy" / "voice" / "make_clips.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for key in CLIPS:
        assert (tmp_path / f"{key}.ogg").read_bytes() == (SHIPPED / f"{key}.ogg").read_bytes()
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (OGG, "audio/ogg"),
        (b"\x1a\x45\xdf\xa3" + b"\0" * 40, "audio/webm"),
        (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
        (b"ID3\x04" + b"\0" * 20, "audio/mpeg"),
        (b"\0\0\0\x20ftypM4A ", "audio/mp4"),
        (b"<html>", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_audio_is_recognised_by_its_content(data, kind):
    assert voice.sniff(data) == kind


# --- the pages -------------------------------------------------------------------------------

pages = pytest.mark.django_db


def admin(users, language="id"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(users["branch_admin"])
    return client


def upload(client, key, data, name="clip.webm", content_type="audio/webm"):
    return client.post(
        f"/voice/{key}/save/", {"audio": SimpleUploadedFile(name, data, content_type)}
    )


@pages
def test_only_the_branch_admin_manages_the_voice(users):
    anonymous = Client()
    response = anonymous.get("/voice/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    for role in ("front_office", "desk_officer"):
        client = Client()
        client.force_login(users[role])
        assert client.get("/voice/").status_code == 403
        assert upload(client, "meja", OGG).status_code == 403
        assert client.post("/voice/settings/", {"fallback": "os_voice"}).status_code == 403
    assert not VoiceClip.objects.exists() and not VoiceSettings.objects.exists()
    page = admin(users).get("/voice/")
    assert page.status_code == 200
    html = page.content.decode()
    for key in CLIPS:
        assert f'id="clip-{key}"' in html
    assert "Suara papan antrian" in html
    home = admin(users).get("/").content.decode()
    assert 'href="/voice/"' in home
    desk = Client()
    desk.force_login(users["desk_officer"])
    assert 'href="/voice/"' not in desk.get("/").content.decode()


@pages
def test_a_recording_replaces_the_shipped_clip_on_the_board_until_deleted(users):
    client = admin(users)
    before = Client().get("/board/voice.json").json()
    assert before["os_voice"] is False
    assert before["clips"]["meja"] == {
        "text": "meja",
        "sources": ["/static/branch_agent/voice/meja.ogg"],
    }
    response = upload(client, "meja", OGG, name="meja.ogg", content_type="application/ogg")
    assert response.status_code == 302 and response["Location"].endswith("/voice/#clip-meja")
    stored = VoiceClip.objects.get(key="meja")
    assert stored.content_type == "audio/ogg" and stored.size == len(OGG)
    assert stored.recorded_by == users["branch_admin"].get_full_name()
    sources = Client().get("/board/voice.json").json()["clips"]["meja"]["sources"]
    assert sources[0].startswith("/board/voice/meja.audio?v=") and sources[1].endswith("meja.ogg")
    served = Client().get(sources[0])
    assert served.status_code == 200 and served["Content-Type"] == "audio/ogg"
    assert served.content == OGG
    assert Client().get("/board/voice/silakan_ke.audio").status_code == 404  # none recorded
    assert client.post("/voice/meja/delete/").status_code == 302
    assert not VoiceClip.objects.exists()
    assert Client().get("/board/voice.json").json() == before


@pages
@pytest.mark.parametrize(
    ("language", "expected"),
    [("id", "Ini bukan audio yang dapat diputar papan"), ("en", "This is not audio")],
)
def test_a_file_that_is_not_audio_is_refused_and_the_recording_kept(users, language, expected):
    client = admin(users, language)
    assert upload(client, "meja", OGG).status_code == 302
    response = upload(client, "meja", b"<html>bukan suara</html>", name="x.webm")
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert bytes(VoiceClip.objects.get(key="meja").audio) == OGG  # lost nothing


@pages
@pytest.mark.parametrize(
    ("language", "too_big", "empty", "missing"),
    [
        ("id", "Klip terlalu besar", "Klip kosong", "Rekam klipnya atau pilih berkas"),
        ("en", "The clip is too large", "The clip is empty", "Record the clip or choose"),
    ],
)
def test_too_big_empty_or_missing_clips_get_a_clear_error(users, language, too_big, empty, missing):
    client = admin(users, language)
    big = b"OggS" + b"\0" * voice.MAX_CLIP_BYTES
    response = upload(client, "meja", big)
    assert response.status_code == 400 and too_big in response.content.decode()
    response = upload(client, "meja", b"")
    assert response.status_code == 400 and empty in response.content.decode()
    response = client.post("/voice/meja/save/", {})
    assert response.status_code == 400 and missing in response.content.decode()
    assert upload(client, "tidak_ada", OGG).status_code == 404
    assert client.post("/voice/tidak_ada/delete/").status_code == 404
    assert client.get("/voice/meja/save/").status_code == 405
    assert not VoiceClip.objects.exists()


@pages
def test_the_os_voice_is_used_only_when_the_admin_picks_it(users):
    client = admin(users)
    assert client.post("/voice/settings/", {"fallback": "loud"}).status_code == 400
    assert Client().get("/board/voice.json").json()["os_voice"] is False
    assert client.post("/voice/settings/", {"fallback": "os_voice"}).status_code == 302
    assert Client().get("/board/voice.json").json()["os_voice"] is True
    assert client.post("/voice/settings/", {"fallback": "chime"}).status_code == 302
    assert Client().get("/board/voice.json").json()["os_voice"] is False


@pages
def test_the_board_loads_the_voice_before_its_own_script(users):
    html = Client().get("/board/").content.decode()
    assert 'data-voice-url="/board/voice.json"' in html
    assert html.index("branch_agent/voice.js") < html.index("branch_agent/board.js")

#!/usr/bin/env python3
"""Make the display board's shipped Indonesian voice clips, reproducibly.

    python3 deploy/voice/make_clips.py            # writes branch_agent/static/branch_agent/voice/
    python3 deploy/voice/make_clips.py --out DIR  # somewhere else (to compare)

Needs espeak-ng (its Indonesian voice ``id``), sox and opusenc (Debian: ``apt-get install
espeak-ng sox opus-tools``); offices and CI never do: the clips are committed. Each clip is
espeak-ng's speech of one word or phrase, resampled to 16 kHz mono, trimmed of leading and trailing
silence, normalised to -1 dBFS and encoded as Ogg Opus at 20 kbit/s with a fixed stream serial, so
the same tool versions give the same bytes. ``manifest.json`` records the tool versions and each
clip's SHA-256 (a test regenerates the clips and compares when the same versions are installed).

Which clips exist and what each says: ``branch_agent.voice_words.CLIPS`` (no Django needed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "branch_agent" / "static" / "branch_agent" / "voice"
VOICE = "id"  # espeak-ng's Indonesian voice
SPEED = "135"  # words per minute: a little slower than espeak's 175, for a noisy office
PITCH = "45"
BITRATE = "20"  # kbit/s Opus: speech stays clear, ~2.5 kB per second
TOOLS = ("espeak-ng", "sox", "opusenc")


def clips() -> dict[str, str]:
    """The clip table from ``branch_agent/voice.py``, without importing Django."""
    sys.path.insert(0, str(REPO))
    from branch_agent.voice_words import CLIPS

    return dict(CLIPS)


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install espeak-ng sox opus-tools")
        flag = "--version"
        out = subprocess.run([tool, flag], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()
        versions[tool] = first[0].strip() if first else "?"
    return versions


def make(key: str, text: str, serial: int, work: Path, out: Path) -> bytes:
    raw, clean, target = work / f"{key}.raw.wav", work / f"{key}.wav", out / f"{key}.ogg"
    subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", SPEED, "-p", PITCH, "-w", str(raw), text], check=True
    )
    subprocess.run(
        # -R: repeatable (fixed dither seed). Trim silence at both ends, leave 40 ms of air.
        [
            "sox",
            "-R",
            str(raw),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(clean),
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "norm",
            "-1",
            "pad",
            "0.02",
            "0.04",
        ],
        check=True,
    )
    subprocess.run(
        [
            "opusenc",
            "--quiet",
            "--bitrate",
            BITRATE,
            "--serial",
            str(serial),
            "--comp",
            "10",
            "--title",
            text,
            str(clean),
            str(target),
        ],
        check=True,
    )
    return target.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    versions = tool_versions()
    table = clips()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.ogg"):
        if old.stem not in table:
            old.unlink()
    hashes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for serial, (key, text) in enumerate(sorted(table.items()), start=1):
            data = make(key, text, serial, Path(tmp), args.out)
            hashes[key] = hashlib.sha256(data).hexdigest()
    manifest = {
        "voice": VOICE,
        "speed": SPEED,
        "pitch": PITCH,
        "bitrate_kbps": BITRATE,
        "tools": versions,
        "clips": hashes,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    total = sum((args.out / f"{k}.ogg").stat().st_size for k in table)
    print(f"{len(table)} clips, {total // 1024} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

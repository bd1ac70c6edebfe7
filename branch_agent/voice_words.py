"""The display board's voice call as a sequence of short clips (pure Python, no Django).

A call "A-012, desk 2" is spoken as Indonesian words, each a shipped clip (or the office's own
recording of it): ``nomor antrian · a · dua · belas · silakan ke · meja · dua``. Numbers are read
as words the way an announcer says them, leading zeros dropped: 11 *sebelas*, 12 *dua belas*,
100 *seratus* (never *satu ratus*), 1000 *seribu*. ``static/branch_agent/voice.js`` has the same
composition for the browser (a browser test compares the two for every number up to 9999).

``CLIPS`` is the clip table: key -> what the clip says. ``deploy/voice/make_clips.py`` generates
one ``<key>.ogg`` per entry.
"""

from __future__ import annotations

import re

DIGITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
# How an Indonesian announcer names each letter (the alphabet as taught in school).
LETTERS = {
    "a": "a", "b": "be", "c": "ce", "d": "de", "e": "e", "f": "ef", "g": "ge", "h": "ha",
    "i": "i", "j": "je", "k": "ka", "l": "el", "m": "em", "n": "en", "o": "o", "p": "pe",
    "q": "ki", "r": "er", "s": "es", "t": "te", "u": "u", "v": "fe", "w": "we", "x": "eks",
    "y": "ye", "z": "zet",
}  # fmt: skip
PHRASES = {"nomor_antrian": "nomor antrian", "silakan_ke": "silakan ke", "meja": "meja"}
NUMBER_WORDS = ("sepuluh", "sebelas", "belas", "puluh", "seratus", "ratus", "seribu", "ribu")
MAX_NUMBER = 9999

CLIPS: dict[str, str] = {
    **PHRASES,
    **{f"letter_{k}": v for k, v in LETTERS.items()},
    **dict(zip(DIGITS, DIGITS, strict=True)),
    **{w: w for w in NUMBER_WORDS},
}
CLIP_KEY = re.compile(r"^[a-z_]{1,20}$")
QUEUE_NUMBER = re.compile(r"^([A-Za-z])-?(\d{1,4})$")


def number_words(n: int) -> list[str]:
    """``n`` (0..9999) as spoken Indonesian clip keys: 212 -> dua ratus dua belas."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"a number from 0 to {MAX_NUMBER} is needed, not {n!r}")
    if n == 0:
        return ["nol"]
    words: list[str] = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        words += ["seribu"] if thousands == 1 else [DIGITS[thousands], "ribu"]
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        words += ["seratus"] if hundreds == 1 else [DIGITS[hundreds], "ratus"]
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words += [DIGITS[rest - 10], "belas"]
    elif rest >= 20:
        tens, ones = divmod(rest, 10)
        words += [DIGITS[tens], "puluh"] + ([DIGITS[ones]] if ones else [])
    elif rest:
        words.append(DIGITS[rest])
    return words


def compose(queue_number: str, desk: str | int) -> list[str]:
    """The clip keys of a call: ``compose("A-012", 2)`` -> nomor antrian, a, dua belas, silakan
    ke, meja, dua. A queue number or desk that cannot be spoken raises ``ValueError``."""
    match = QUEUE_NUMBER.match(str(queue_number).strip())
    if not match:
        raise ValueError(f"not a queue number like A-012: {queue_number!r}")
    desk_text = str(desk).strip()
    if not desk_text.isdigit() or not desk_text.isascii():
        raise ValueError(f"not a desk number: {desk!r}")
    letter, number = match.groups()
    return [
        "nomor_antrian",
        f"letter_{letter.lower()}",
        *number_words(int(number)),
        "silakan_ke",
        "meja",
        *number_words(int(desk_text)),
    ]


def sentence(keys: list[str]) -> str:
    """What the clips say together (the OS voice's text, the admin page's preview)."""
    return " ".join(CLIPS[k] for k in keys)

"""Visitors' identity numbers: the NIK rules and the other ID types, without Django.

What it owns: judging a NIK (``parse_nik``) and the other ID numbers (``check_id_number``),
normalising, the keyed hash (``id_hash``), the last 4 digits and how they are shown (``mask``),
and masking NIK-shaped numbers in free text (``mask_nik_in_text``). Central's plugin and the
branch agent judge, hash and mask identically because both call this module; their
``personal_data.py`` modules are thin adapters (settings, gettext, Django's ValidationError).

Rules (UU PDP No. 27/2022, UU Adminduk art. 84; DOMAIN.md "Personal data"):
- The full ID number is never stored, logged, rendered, or put in an exception, its parameters or
  a ``repr``: messages say which digits are wrong and show at most the 2-digit province or regency
  code at fault.
- A refusal is ``IdNumberError(code, message, params)``: ``message`` is an English msgid marked
  with ``gettext_noop`` (each program's catalogue translates it at the edge), ``params`` fill it.
- ``id_hash`` is an HMAC-SHA256 (hex) of the normalised number under the shared key; central and
  every branch use the same key and the same normalisation, so a returning visitor is recognised
  anywhere without the number kept anywhere.
- A NIK is ``PP RR SS DDMMYY NNNN``: Kemendagri province, regency/city and district codes where it
  was first issued, the birth date with 40 added to the day for women, a serial from 0001. The
  province and regency are checked against ``sync.regions`` (retired codes included: a NIK keeps
  its code when its regency moves province).
- python-stdnum's ``stdnum.id.nik`` is used to compact the number; its ``validate`` is not the
  gate, because stdnum 2.2 ships BPS-style region codes: it rejects the NIKs of Kalimantan Utara
  (65) and the new Papua provinces (92, 93, 95, 96), accepts any regency of a known province
  (``1299011708900001``), and takes birth days 81-91 as days 1-11 (``day % 40``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from stdnum.id import nik as stdnum_nik

from sync.regions import PROVINCES, REGENCIES, REGENCY_CODES, RETIRED_REGENCIES


def gettext_noop(message: str) -> str:
    """Marks a msgid for extraction (``make messages``); translated by the caller's catalogue."""
    return message


NIK_LENGTH: Final = 16
MASK_LENGTH: Final = 16  # what Visitor.masked_id shows: 12 stars and the last 4
_SEPARATORS = re.compile(r"[\s./\-]+")
_ALNUM = re.compile(r"^[A-Z0-9]+$")

# ID type -> (min length, max length, digits only, must contain a digit). SIM numbers have 12
# digits (14 on some older cards; since July 2024 new SIMs carry the holder's 16-digit NIK);
# passport numbers are at most 9 characters (ICAO 9303 TD3; Indonesian: a letter and 7 digits).
ID_TYPES: Final[dict[str, tuple[int, int, bool, bool]]] = {
    "sim": (12, 16, True, True),
    "passport": (6, 9, False, True),
    "kitas": (6, 20, False, True),
    "student_card": (4, 20, False, True),
    "other": (4, 30, False, False),
}


class IdNumberError(ValueError):
    """An ID number refused: ``code`` for programs, ``message`` (an English msgid) and ``params``
    for people. Never carries the number."""

    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None) -> None:
        self.code, self.message, self.params = code, message, params or {}
        super().__init__(message % self.params if self.params else message)


def normalize_id_number(value: str) -> str:
    """The number as hashed: separators (spaces, dots, dashes, slashes) removed, upper case."""
    if not isinstance(value, str):
        raise TypeError("an ID number is a str")
    return _SEPARATORS.sub("", value).upper()


@dataclass(frozen=True, slots=True)
class NikInfo:
    """What a valid NIK says. The birth date and serial stay out of ``repr``."""

    province_code: str
    regency_code: str
    district_code: str
    birth_date: dt.date = field(repr=False)
    female: bool = field(repr=False)
    serial: str = field(repr=False)

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province_code]

    @property
    def regency_name(self) -> str:
        regency = REGENCIES.get(self.province_code, {}).get(self.regency_code)
        return regency or RETIRED_REGENCIES[self.province_code][self.regency_code][0]


def _birth_date(digits: str, today: dt.date) -> tuple[dt.date, bool] | None:
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    female = day > 40
    if female:
        day -= 40
    if not 1 <= day <= 31:  # 01-31 men, 41-71 women; nothing else
        return None
    for century in (2000, 1900):  # the latest century that does not put the birth in the future
        try:
            born = dt.date(century + year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born, female
    return None


def compact_nik(value: str) -> str:
    """The NIK's digits as judged and returned (separators removed)."""
    return stdnum_nik.compact(_SEPARATORS.sub("", value))


def parse_nik(value: str, *, today: dt.date | None = None) -> NikInfo:
    """Check a NIK and say what it encodes; raises IdNumberError (never showing the number)."""
    if not isinstance(value, str):
        raise IdNumberError("nik_type", gettext_noop("Enter the NIK as text."))
    number = compact_nik(value)
    if not number:
        raise IdNumberError("nik_required", gettext_noop("Enter the NIK (16 digits)."))
    if not number.isascii() or not number.isdigit():
        raise IdNumberError(
            "nik_format",
            gettext_noop(
                "A NIK has only digits (spaces, dots and dashes are ignored); this one has other "
                "characters."
            ),
        )
    if len(number) != NIK_LENGTH:
        raise IdNumberError(
            "nik_length",
            gettext_noop("A NIK has 16 digits; this one has %(count)s."),
            {"count": len(number)},
        )
    province, regency, district = number[0:2], number[2:4], number[4:6]
    if province not in PROVINCES:
        raise IdNumberError(
            "nik_province",
            gettext_noop("Digits 1-2 (province %(province)s) are not an Indonesian province code."),
            {"province": province},
        )
    if regency not in REGENCY_CODES[province]:
        raise IdNumberError(
            "nik_regency",
            gettext_noop(
                "Digits 3-4 (regency %(regency)s) are not a regency or city of province "
                "%(province)s (%(province_name)s)."
            ),
            {"regency": regency, "province": province, "province_name": PROVINCES[province]},
        )
    if district == "00":
        raise IdNumberError(
            "nik_district",
            gettext_noop(
                "Digits 5-6 (district 00) are not a district code; districts start at 01."
            ),
        )
    born = _birth_date(number[6:12], today or dt.date.today())
    if born is None:
        raise IdNumberError(
            "nik_birth_date",
            gettext_noop(
                "Digits 7-12 are not a birth date (DDMMYY, with 40 added to the day for women, "
                "not in the future)."
            ),
        )
    if number[12:16] == "0000":
        raise IdNumberError(
            "nik_serial",
            gettext_noop(
                "Digits 13-16 (serial 0000) are not a serial number; serials start at 0001."
            ),
        )
    return NikInfo(province, regency, district, born[0], born[1], number[12:16])


def check_nik(value: str) -> str:
    """The normalised 16-digit NIK, or IdNumberError naming what is wrong (not the number)."""
    parse_nik(value)
    return compact_nik(value)


def check_id_number(id_type: str, value: str) -> str:
    """The normalised number for ``id_type`` (``ktp`` is a NIK), or IdNumberError."""
    if id_type == "ktp":
        return check_nik(value)
    if id_type not in ID_TYPES:
        raise IdNumberError(
            "id_type",
            gettext_noop("%(id_type)s is not an ID type; use one of %(known)s."),
            {"id_type": id_type, "known": ", ".join(["ktp", *ID_TYPES])},
        )
    if not isinstance(value, str):
        raise IdNumberError("id_type", gettext_noop("Enter the ID number as text."))
    shortest, longest, digits_only, needs_digit = ID_TYPES[id_type]
    number = normalize_id_number(value)
    if digits_only and not (number.isascii() and number.isdigit()):
        raise IdNumberError(
            "id_format",
            gettext_noop("This ID number has only digits (spaces, dots and dashes are ignored)."),
        )
    if not _ALNUM.match(number):
        raise IdNumberError(
            "id_format",
            gettext_noop(
                "An ID number has only letters and digits (spaces, dots and dashes are ignored)."
            ),
        )
    if not shortest <= len(number) <= longest:
        raise IdNumberError(
            "id_length",
            gettext_noop(
                "This ID number has %(count)s characters; it should have %(min)s to %(max)s."
            ),
            {"count": len(number), "min": shortest, "max": longest},
        )
    if needs_digit and not any(c.isdigit() for c in number):
        raise IdNumberError("id_format", gettext_noop("This ID number has no digit."))
    return number


def id_hash(value: str, key: bytes | str) -> str:
    """HMAC-SHA256 (64 hex digits) of the normalised number under ``key``."""
    if isinstance(key, str):
        key = key.encode()
    if not key:
        raise ValueError("id_hash needs a non-empty key (the shared ID_HASH_KEY)")
    number = normalize_id_number(value)
    if not number:
        raise ValueError("id_hash needs a non-empty ID number")
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def last4(value: str) -> str:
    """The last 4 characters of the normalised number when they are digits, else "".

    (The stored field and the sync payload hold digits only; a passport ending in letters keeps
    nothing.)"""
    tail = normalize_id_number(value)[-4:]
    return tail if len(tail) == 4 and tail.isascii() and tail.isdigit() else ""


def mask(last_four: str) -> str:
    """How an ID is shown: ``************1234``; "" when nothing was kept."""
    if not last_four:
        return ""
    if len(last_four) != 4 or not last_four.isdigit():
        raise ValueError("mask() takes the 4 stored digits, never a full number")
    return "*" * (MASK_LENGTH - 4) + last_four


# A NIK-shaped number in free text: 16 digits, possibly grouped with single spaces, dots or dashes
# ("1222 0117 0890 0001", "12.22.01.170890.0001"). Found in runs of digit groups joined by single
# separators; within a run, groups are taken from the left as NIKs where up to 6 consecutive
# groups of 2 or more digits hold exactly 16 digits.
_DIGIT_RUN = re.compile(r"(?<![\d*])\d+(?:[ .\-]\d+)*(?![\d*])")
_GROUP_SEPARATOR = re.compile(r"([ .\-])")
_MOST_GROUPS = 6


def _mask_run(run: str) -> str:
    parts = _GROUP_SEPARATOR.split(run)  # digits, separator, digits, ...
    groups, separators = parts[0::2], parts[1::2]
    out: list[str] = []
    start = 0
    while start < len(groups):
        digits, end = 0, start
        while end < len(groups) and end - start < _MOST_GROUPS and digits < 16:
            if len(groups[end]) < 2 and end > start:
                break
            digits += len(groups[end])
            end += 1
        if digits == 16 and (end - start == 1 or all(len(g) >= 2 for g in groups[start:end])):
            out.append(mask("".join(groups[start:end])[-4:]))
            start = end
        else:
            out.append(groups[start])
            start += 1
        if start < len(groups):
            out.append(separators[start - 1])
    return "".join(out)


def mask_nik_in_text(text: str) -> str:
    """``text`` with every NIK-shaped number masked to its last 4 digits (``************0001``).

    For free text the product stores (a guest book's purpose, consultation notes, a chat
    message): a visitor or an officer may type a NIK there, and it must not be kept in full. Any
    16 digits count, valid NIK or not (a list of four years written "2020 2021 2022 2023" is
    masked too: erring on the safe side); shorter numbers (phones, dates) and a longer unbroken
    number are kept."""
    if not isinstance(text, str):
        raise TypeError("mask_nik_in_text takes a str")
    return _DIGIT_RUN.sub(lambda match: _mask_run(match.group()), text)


def email_candidate(value: object) -> str:
    """An e-mail address as typed, spaces around it removed; "" when it cannot be one (not text,
    empty, over 254 characters). The syntax check is each program's (Django's validator)."""
    address = value.strip() if isinstance(value, str) else ""
    return address if address and len(address) <= 254 else ""


def normalize_email(address: str) -> str:
    """A checked address with its domain in lower case (the local part is the mailbox's own)."""
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_email(value: object, syntax_ok: Callable[[str], bool]) -> str:
    """The address with surrounding spaces removed and the domain in lower case, or
    IdNumberError (code ``invalid``); ``syntax_ok`` is the program's validator (no localhost)."""
    address = email_candidate(value)
    if not address or not syntax_ok(address):
        raise IdNumberError(
            "invalid", gettext_noop("Enter a valid email address, such as nama@bps.go.id.")
        )
    return normalize_email(address)


class Refusing:
    """The checks above with each refusal turned into the caller's own exception: what a program's
    adapter exposes (Django's ``ValidationError``, its message translated by its catalogue).

    ``email_syntax`` is the program's address validator, raising ``syntax_error`` on a bad one."""

    def __init__(
        self,
        refuse: Callable[[IdNumberError], Exception],
        email_syntax: Callable[[str], object],
        syntax_error: type[Exception],
    ) -> None:
        self._refuse = refuse
        self._email_syntax, self._syntax_error = email_syntax, syntax_error

    def parse_nik(self, value: str, *, today: dt.date | None = None) -> NikInfo:
        """What a NIK encodes, or the caller's exception (never showing the number)."""
        try:
            return parse_nik(value, today=today)
        except IdNumberError as error:
            raise self._refuse(error) from None

    def check_nik(self, value: str) -> str:
        """The normalised NIK, or the caller's exception (a Django field validator may use it)."""
        try:
            return check_nik(value)
        except IdNumberError as error:
            raise self._refuse(error) from None

    def check_id_number(self, id_type: str, value: str) -> str:
        """The normalised number for ``id_type`` (``ktp`` is a NIK), or the caller's exception."""
        try:
            return check_id_number(id_type, value)
        except IdNumberError as error:
            raise self._refuse(error) from None

    def check_email(self, value: str) -> str:
        """The normalised address, or the caller's exception."""
        try:
            return check_email(value, self._email_syntax_ok)
        except IdNumberError as error:
            raise self._refuse(error) from None

    def _email_syntax_ok(self, address: str) -> bool:
        try:
            self._email_syntax(address)
        except self._syntax_error:
            return False
        return True

    def validators(
        self,
    ) -> tuple[
        Callable[..., NikInfo], Callable[[str], str], Callable[..., str], Callable[[str], str]
    ]:
        """``parse_nik``, ``validate_nik``, ``validate_id_number``, ``validate_email``."""
        return self.parse_nik, self.check_nik, self.check_id_number, self.check_email

"""Visitors' identity numbers and email addresses: validate, then keep only what the law allows.

Rules (UU PDP No. 27/2022, UU Adminduk art. 84; DOMAIN.md "Personal data"):
- The full ID number is never stored, logged, rendered, or put in an exception, a ValidationError
  parameter or a ``repr``: messages say which digits are wrong and show at most the 2-digit
  province or regency code at fault. Callers keep ``id_type``, ``id_hash(number, key)`` and
  ``last4(number)``, and show ``mask(last4)``.
- ``id_hash`` is an HMAC-SHA256 (hex) of the normalised number under the
  ``PST_HELPDESK['ID_HASH_KEY']``; central and every branch use the same key and the same
  normalisation, so a returning visitor is recognised anywhere without the number kept anywhere.
- A NIK is ``PP RR SS DDMMYY NNNN``: Kemendagri province, regency/city and district codes where it
  was first issued, the birth date with 40 added to the day for women, a serial from 0001. The
  province and regency are checked against the Kemendagri list in ``pst_helpdesk_ext.data``
  (retired codes included: a NIK keeps its code when its regency moves province).
- python-stdnum's ``stdnum.id.nik`` is used to compact the number; its ``validate`` is not the
  gate, because stdnum 2.2 ships BPS-style region codes: it rejects the NIKs of Kalimantan Utara
  (65) and the new Papua provinces (92, 93, 95, 96), accepts any regency of a known province
  (``1299011708900001``), and takes birth days 81-91 as days 1-11 (``day % 40``).

``branch_agent/personal_data.py`` is the branch's copy of the pure rules below (the branch may not
import this package); tests/central/test_personal_data.py checks that both give the same verdicts
and the same hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Final

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _
from stdnum.id import nik as stdnum_nik

from pst_helpdesk_ext.data.regencies import PROVINCES, REGENCIES, RETIRED_REGENCIES

__all__ = [
    "ID_TYPES",
    "NikInfo",
    "id_hash",
    "last4",
    "mask",
    "mask_nik_in_text",
    "normalize_id_number",
    "parse_nik",
    "validate_email",
    "validate_id_number",
    "validate_nik",
]

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


def parse_nik(value: str, *, today: dt.date | None = None) -> NikInfo:
    """Check a NIK and say what it encodes; raises ValidationError (never showing the number)."""
    if not isinstance(value, str):
        raise ValidationError(_("Enter the NIK as text."), code="nik_type")
    number = stdnum_nik.compact(_SEPARATORS.sub("", value))
    if not number:
        raise ValidationError(_("Enter the NIK (16 digits)."), code="nik_required")
    if not number.isascii() or not number.isdigit():
        raise ValidationError(
            _(
                "A NIK has only digits (spaces, dots and dashes are ignored); this one has other "
                "characters."
            ),
            code="nik_format",
        )
    if len(number) != NIK_LENGTH:
        raise ValidationError(
            _("A NIK has 16 digits; this one has %(count)s."),
            code="nik_length",
            params={"count": len(number)},
        )
    province, regency, district = number[0:2], number[2:4], number[4:6]
    if province not in PROVINCES:
        raise ValidationError(
            _("Digits 1-2 (province %(province)s) are not an Indonesian province code."),
            code="nik_province",
            params={"province": province},
        )
    if regency not in REGENCIES[province] and regency not in RETIRED_REGENCIES.get(province, {}):
        raise ValidationError(
            _(
                "Digits 3-4 (regency %(regency)s) are not a regency or city of province "
                "%(province)s (%(province_name)s)."
            ),
            code="nik_regency",
            params={"regency": regency, "province": province, "province_name": PROVINCES[province]},
        )
    if district == "00":
        raise ValidationError(
            _("Digits 5-6 (district 00) are not a district code; districts start at 01."),
            code="nik_district",
        )
    born = _birth_date(number[6:12], today or dt.date.today())
    if born is None:
        raise ValidationError(
            _(
                "Digits 7-12 are not a birth date (DDMMYY, with 40 added to the day for women, "
                "not in the future)."
            ),
            code="nik_birth_date",
        )
    if number[12:16] == "0000":
        raise ValidationError(
            _("Digits 13-16 (serial 0000) are not a serial number; serials start at 0001."),
            code="nik_serial",
        )
    return NikInfo(province, regency, district, born[0], born[1], number[12:16])


def validate_nik(value: str) -> str:
    """The normalised 16-digit NIK, or a ValidationError naming what is wrong (not the number).

    Usable as a Django field validator (its return value is then ignored)."""
    parse_nik(value)
    return stdnum_nik.compact(_SEPARATORS.sub("", value))


def validate_id_number(id_type: str, value: str) -> str:
    """The normalised number for ``id_type`` (``ktp`` is a NIK), or a ValidationError."""
    if id_type == "ktp":
        return validate_nik(value)
    if id_type not in ID_TYPES:
        raise ValidationError(
            _("%(id_type)s is not an ID type; use one of %(known)s."),
            code="id_type",
            params={"id_type": id_type, "known": ", ".join(["ktp", *ID_TYPES])},
        )
    if not isinstance(value, str):
        raise ValidationError(_("Enter the ID number as text."), code="id_type")
    shortest, longest, digits_only, needs_digit = ID_TYPES[id_type]
    number = normalize_id_number(value)
    if digits_only and not (number.isascii() and number.isdigit()):
        raise ValidationError(
            _("This ID number has only digits (spaces, dots and dashes are ignored)."),
            code="id_format",
        )
    if not _ALNUM.match(number):
        raise ValidationError(
            _("An ID number has only letters and digits (spaces, dots and dashes are ignored)."),
            code="id_format",
        )
    if not shortest <= len(number) <= longest:
        raise ValidationError(
            _("This ID number has %(count)s characters; it should have %(min)s to %(max)s."),
            code="id_length",
            params={"count": len(number), "min": shortest, "max": longest},
        )
    if needs_digit and not any(c.isdigit() for c in number):
        raise ValidationError(_("This ID number has no digit."), code="id_format")
    return number


def id_hash(value: str, key: bytes | str) -> str:
    """HMAC-SHA256 (64 hex digits) of the normalised number under ``key``."""
    if isinstance(key, str):
        key = key.encode()
    if not key:
        raise ValueError("id_hash needs a non-empty key (PST_HELPDESK['ID_HASH_KEY'])")
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


_email_validator = EmailValidator(
    message=_("Enter a valid email address, such as nama@bps.go.id."),
    allowlist=[],  # no "user@localhost": the seed asks for an active address
)


def validate_email(value: str) -> str:
    """The address with surrounding spaces removed and the domain in lower case, or a
    ValidationError. Stricter than Django's default: no ``localhost``, at most 254 characters."""
    address = value.strip() if isinstance(value, str) else ""
    if not address or len(address) > 254:
        raise ValidationError(_email_validator.message, code="invalid")
    _email_validator(address)
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"

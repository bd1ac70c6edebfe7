"""The branch's copy of the central rules for visitors' identity numbers and email addresses.

The branch agent may not import ``pst_helpdesk_ext`` (DESIGN.md's import rules), yet a NIK must
be judged, hashed and masked exactly as central does, or returning visitors would not be
recognised. So this module repeats ``pst_helpdesk_ext/personal_data.py`` function for function,
with the Kemendagri region codes (current and retired) inlined as codes only.
tests/central/test_personal_data.py checks that both copies hold the same codes and give the
same verdicts, messages and hashes; change both together.

Rules (UU PDP No. 27/2022, UU Adminduk art. 84; DOMAIN.md "Personal data"):
- The full ID number is never stored, logged, rendered, or put in an exception, a ValidationError
  parameter or a ``repr``: messages say which digits are wrong and show at most the 2-digit
  province or regency code at fault. The guest book keeps ``id_type``, ``id_hash`` and ``last4``.
- ``id_hash`` is an HMAC-SHA256 (hex) of the normalised number under the agent's
  ``ID_HASH_KEY``, which must equal central's ``PST_HELPDESK['ID_HASH_KEY']``.
- A NIK is ``PP RR SS DDMMYY NNNN``: Kemendagri province, regency/city and district codes, the
  birth date with 40 added to the day for women, a serial from 0001.
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

# Province -> (name, its regency/city codes, retired ones included). Generated from
# pst_helpdesk_ext/data/regencies.py (Kepmendagri No. 300.2.2-2138 Tahun 2025).
_REGIONS: Final[dict[str, tuple[str, str]]] = {
    "11": (
        "Aceh",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 71 72 73 74 75",
    ),
    "12": (
        "Sumatera Utara",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 71 72 73 "
        "74 75 76 77 78",
    ),
    "13": (
        "Sumatera Barat",
        "01 02 03 04 05 06 07 08 09 10 11 12 71 72 73 74 75 76 77",
    ),
    "14": (
        "Riau",
        "01 02 03 04 05 06 07 08 09 10 71 72",
    ),
    "15": (
        "Jambi",
        "01 02 03 04 05 06 07 08 09 71 72",
    ),
    "16": (
        "Sumatera Selatan",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 71 72 73 74",
    ),
    "17": (
        "Bengkulu",
        "01 02 03 04 05 06 07 08 09 71",
    ),
    "18": (
        "Lampung",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 71 72",
    ),
    "19": (
        "Kepulauan Bangka Belitung",
        "01 02 03 04 05 06 71",
    ),
    "21": (
        "Kepulauan Riau",
        "01 02 03 04 05 71 72",
    ),
    "31": (
        "Daerah Khusus Ibukota Jakarta",
        "01 71 72 73 74 75",
    ),
    "32": (
        "Jawa Barat",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 71 72 73 74 75 76 77 78 79",
    ),
    "33": (
        "Jawa Tengah",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 "
        "29 71 72 73 74 75 76",
    ),
    "34": (
        "Daerah Istimewa Yogyakarta",
        "01 02 03 04 71",
    ),
    "35": (
        "Jawa Timur",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 "
        "29 71 72 73 74 75 76 77 78 79",
    ),
    "36": (
        "Banten",
        "01 02 03 04 71 72 73 74",
    ),
    "51": (
        "Bali",
        "01 02 03 04 05 06 07 08 71",
    ),
    "52": (
        "Nusa Tenggara Barat",
        "01 02 03 04 05 06 07 08 71 72",
    ),
    "53": (
        "Nusa Tenggara Timur",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 71",
    ),
    "61": (
        "Kalimantan Barat",
        "01 02 03 04 05 06 07 08 09 10 11 12 71 72",
    ),
    "62": (
        "Kalimantan Tengah",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 71",
    ),
    "63": (
        "Kalimantan Selatan",
        "01 02 03 04 05 06 07 08 09 10 11 71 72",
    ),
    "64": (
        "Kalimantan Timur",
        "01 02 03 04 05 06 07 08 09 10 11 71 72 73 74",
    ),
    "65": (
        "Kalimantan Utara",
        "01 02 03 04 71",
    ),
    "71": (
        "Sulawesi Utara",
        "01 02 03 04 05 06 07 08 09 10 11 71 72 73 74",
    ),
    "72": (
        "Sulawesi Tengah",
        "01 02 03 04 05 06 07 08 09 10 11 12 71",
    ),
    "73": (
        "Sulawesi Selatan",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 71 72 73",
    ),
    "74": (
        "Sulawesi Tenggara",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 71 72",
    ),
    "75": (
        "Gorontalo",
        "01 02 03 04 05 71",
    ),
    "76": (
        "Sulawesi Barat",
        "01 02 03 04 05 06",
    ),
    "81": (
        "Maluku",
        "01 02 03 04 05 06 07 08 09 71 72",
    ),
    "82": (
        "Maluku Utara",
        "01 02 03 04 05 06 07 08 71 72",
    ),
    "91": (
        "Papua",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 71",
    ),
    "92": (
        "Papua Barat",
        "01 02 03 04 05 06 07 08 09 10 11 12 71",
    ),
    "93": (
        "Papua Selatan",
        "01 02 03 04",
    ),
    "94": (
        "Papua Tengah",
        "01 02 03 04 05 06 07 08",
    ),
    "95": (
        "Papua Pegunungan",
        "01 02 03 04 05 06 07 08",
    ),
    "96": (
        "Papua Barat Daya",
        "01 02 03 04 05 71",
    ),
}
PROVINCES: Final[dict[str, str]] = {code: name for code, (name, _codes) in _REGIONS.items()}
REGENCY_CODES: Final[dict[str, frozenset[str]]] = {
    code: frozenset(codes.split()) for code, (_name, codes) in _REGIONS.items()
}

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
    if regency not in REGENCY_CODES[province]:
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

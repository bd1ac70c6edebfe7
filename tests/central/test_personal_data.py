"""NIK and other ID numbers, keyed hashes, masking and email; the number never leaks into errors;
the branch's copy of the rules agrees with central's."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import traceback

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_agent import personal_data as branch
from pst_helpdesk_ext import personal_data as central
from pst_helpdesk_ext.data.regencies import PROVINCES, REGENCIES, RETIRED_REGENCIES, regency_name
from pst_helpdesk_ext.personal_data import (
    id_hash,
    last4,
    mask,
    normalize_id_number,
    parse_nik,
    validate_email,
    validate_id_number,
    validate_nik,
)

KEY = "test-id-hash-key-0123456789abcdef0123456789"
MAN = "1222011708900001"  # Labuhanbatu Selatan, district 01, born 17-08-1990, serial 0001
WOMAN = "1222015708900002"  # the same date with 40 added to the day


def rejection(value: str, validate=validate_nik) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate(value)
    return caught.value


def rendered(err: ValidationError) -> str:
    """Everything an error could show: messages, params, repr, a formatted traceback."""
    with translation.override("en"):
        parts = [*err.messages, repr(err), str(getattr(err, "params", ""))]
    parts.extend(traceback.format_exception(err))
    return "\n".join(parts)


# --- Region data -----------------------------------------------------------------------------


def test_region_list_is_complete():
    assert len(PROVINCES) == 38
    assert sum(len(r) for r in REGENCIES.values()) == 514
    assert set(REGENCIES) == set(PROVINCES)
    assert regency_name("12", "22") == "Kabupaten Labuhanbatu Selatan"
    assert regency_name("12", "99") is None
    assert PROVINCES["96"] == "Papua Barat Daya" and PROVINCES["65"] == "Kalimantan Utara"


def test_retired_codes_point_to_current_regencies():
    for province, codes in RETIRED_REGENCIES.items():
        for code, (name, now) in codes.items():
            assert code not in REGENCIES[province], f"{province}.{code} is still current"
            new_province, new_code = now.split(".")
            assert new_province != province and new_code in REGENCIES[new_province], now
            assert name
    assert RETIRED_REGENCIES["91"]["01"] == ("Kabupaten Merauke", "93.01")
    assert RETIRED_REGENCIES["64"]["73"] == ("Kota Tarakan", "65.71")


# --- NIK -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [MAN, "12.22.01.170890.0001", "1222 0117 0890 0001", " 12-22-01-170890-0001 "]
)
def test_valid_nik_is_normalised(value):
    assert validate_nik(value) == MAN


def test_woman_birth_date_has_40_added():
    info = parse_nik(WOMAN)
    assert info.female and info.birth_date == dt.date(1990, 8, 17)
    man = parse_nik(MAN)
    assert not man.female and man.birth_date == dt.date(1990, 8, 17)
    assert (man.province_name, man.regency_name) == (
        "Sumatera Utara",
        "Kabupaten Labuhanbatu Selatan",
    )


def test_nik_info_repr_shows_no_birth_date_or_number():
    text = repr(parse_nik(WOMAN))
    assert "1990" not in text and WOMAN not in text and "0002" not in text
    assert "'12'" in text and "'22'" in text


@pytest.mark.parametrize(
    ("value", "province", "regency"),
    [
        ("6501011708900001", "Kalimantan Utara", "Kabupaten Bulungan"),  # stdnum 2.2 rejects 65
        ("9301011708900001", "Papua Selatan", "Kabupaten Merauke"),
        ("9601011708900001", "Papua Barat Daya", "Kabupaten Sorong"),
        ("9101011708900001", "Papua", "Kabupaten Merauke"),  # issued before Merauke became 93.01
        ("6404011708900001", "Kalimantan Timur", "Kabupaten Bulungan"),  # before Kaltara (2012)
        ("3171011708450001", "Daerah Khusus Ibukota Jakarta", "Kota Administrasi Jakarta Pusat"),
    ],
)
def test_all_provinces_and_retired_codes_are_accepted(value, province, regency):
    info = parse_nik(value)
    assert (info.province_name, info.regency_name) == (province, regency)


def test_domain_example_regency_99_is_rejected():
    err = rejection("1299011708900001")
    assert err.code == "nik_regency"
    with translation.override("en"):
        (message,) = err.messages
    assert message == (
        "Digits 3-4 (regency 99) are not a regency or city of province 12 (Sumatera Utara)."
    )


def test_birth_century_is_the_latest_not_in_the_future():
    today = dt.date(2026, 7, 14)
    assert parse_nik("1222011708050001", today=today).birth_date == dt.date(2005, 8, 17)
    assert parse_nik("1222011708300001", today=today).birth_date == dt.date(1930, 8, 17)
    assert parse_nik("1222011407260001", today=today).birth_date == dt.date(2026, 7, 14)
    assert parse_nik("1222011507260001", today=today).birth_date == dt.date(1926, 7, 15)
    assert parse_nik("1222012902000001", today=today).birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1299011708900001", "nik_regency"),  # DOMAIN.md: stdnum accepts it, we do not
        ("9901011708900001", "nik_province"),
        ("2001011708900001", "nik_province"),
        ("1222001708900001", "nik_district"),
        ("1222011708900000", "nik_serial"),
        ("1222013208900001", "nik_birth_date"),  # day 32
        ("1222014008900001", "nik_birth_date"),  # day 40: neither a man's nor a woman's day
        ("1222017208900001", "nik_birth_date"),  # day 72 (a woman's 32)
        ("1222018108900001", "nik_birth_date"),  # day 81: stdnum reads it as day 1
        ("1222010008900001", "nik_birth_date"),  # day 00
        ("1222011713900001", "nik_birth_date"),  # month 13
        ("1222012902010001", "nik_birth_date"),  # 29 Feb 1901 / 2001 do not exist
        ("1222017002900001", "nik_birth_date"),  # a woman born 30 Feb
        ("122201170890000", "nik_length"),
        ("12220117089000011", "nik_length"),
        ("", "nik_required"),
        (" . ", "nik_required"),
        ("12220117089OOO01", "nik_format"),  # letter O for zero
        ("1222011708900001\x00", "nik_format"),
        ("١٢٢٢٠١١٧٠٨٩٠٠٠٠١", "nik_format"),  # Arabic-Indic digits
    ],
)
def test_invalid_nik_is_refused_without_echoing_it(value, code):
    err = rejection(value)
    assert err.code == code
    text = rendered(err)
    normalised = re.sub(r"[\s.\-/]", "", value)
    for needle in {value, normalised} - {""}:
        assert needle not in text
    # Not even a long run of its digits (the birth date, the serial with the date...).
    digits = re.sub(r"\D", "", normalised)
    for i in range(max(len(digits) - 5, 0)):
        assert digits[i : i + 6] not in text, (digits[i : i + 6], text)


def test_messages_name_what_is_wrong():
    with translation.override("en"):
        assert rejection("122201170890000").messages == ["A NIK has 16 digits; this one has 15."]
        assert "serial 0000" in rejection("1222011708900000").messages[0]
        assert "province 99" in rejection("9901011708900001").messages[0]
        assert "40 added to the day for women" in rejection("1222013208900001").messages[0]
        assert "district 00" in rejection("1222001708900001").messages[0]


def test_nik_validator_in_a_django_form():
    class GuestForm(forms.Form):
        nik = forms.CharField(validators=[validate_nik])

    form = GuestForm({"nik": "1299011708900001"})
    with translation.override("en"):
        assert not form.is_valid()
        assert form.errors["nik"] == [
            "Digits 3-4 (regency 99) are not a regency or city of province 12 (Sumatera Utara)."
        ]
    assert GuestForm({"nik": MAN}).is_valid()


def test_not_a_string():
    assert rejection(1222011708900001).code == "nik_type"


# --- Other ID types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "value", "expected"),
    [
        ("ktp", "12.22.01.170890.0001", MAN),
        ("sim", "1234-5678-9012", "123456789012"),
        ("sim", MAN, MAN),  # since July 2024 a SIM carries the holder's NIK
        ("passport", "c 1234567", "C1234567"),
        ("passport", "123456789", "123456789"),
        ("kitas", "2C21AB1234-Y", "2C21AB1234Y"),
        ("student_card", "g64190001", "G64190001"),
        ("other", "abcd", "ABCD"),
    ],
)
def test_valid_other_ids(id_type, value, expected):
    assert validate_id_number(id_type, value) == expected


@pytest.mark.parametrize(
    ("id_type", "value", "code"),
    [
        ("ktp", "1299011708900001", "nik_regency"),
        ("sim", "12345678901", "id_length"),
        ("sim", "12345678901234567", "id_length"),
        ("sim", "1234567890AB", "id_format"),
        ("passport", "ABCDEFG", "id_format"),
        ("passport", "A12345678X", "id_length"),
        ("passport", "A12#45678", "id_format"),
        ("passport", "A1234", "id_length"),
        ("kitas", "2C21AB1234-Y!", "id_format"),
        ("other", "ab", "id_length"),
        ("npwp", "123456789012345", "id_type"),
    ],
)
def test_invalid_other_ids(id_type, value, code):
    err = rejection(value, lambda v: validate_id_number(id_type, v))
    assert err.code == code
    if len(value) >= 6:
        assert normalize_id_number(value) not in rendered(err)


# --- Hash, last 4, mask ----------------------------------------------------------------------


def test_id_hash_is_hmac_sha256_of_the_normalised_number():
    expected = hmac.new(KEY.encode(), MAN.encode(), hashlib.sha256).hexdigest()
    assert id_hash(MAN, KEY) == expected
    assert id_hash("12.22.01.170890.0001", KEY.encode()) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert id_hash(MAN, KEY + "x") != expected
    assert id_hash("c1234567", KEY) == id_hash("C 1234567", KEY)


def test_id_hash_refuses_empty_key_or_number():
    with pytest.raises(ValueError, match="key") as caught:
        id_hash(MAN, "")
    assert MAN not in str(caught.value)
    with pytest.raises(ValueError, match="number"):
        id_hash(" . ", KEY)


def test_last4_and_mask():
    assert last4(MAN) == "0001" and last4("12 22 01 170890 0001") == "0001"
    assert last4("C1234567") == "4567"
    assert last4("AB12345C") == "" and last4("123") == ""
    assert mask("0001") == "************0001"
    assert mask("") == ""
    with pytest.raises(ValueError) as caught:
        mask(MAN)
    assert MAN not in str(caught.value)


def test_mask_matches_what_the_visitor_model_shows():
    from pst_helpdesk_ext.models import Visitor

    assert Visitor(id_last4="0001").masked_id == mask("0001")


# --- Email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" Nama.Lengkap@BPS.GO.ID ", "Nama.Lengkap@bps.go.id"),
        ("pst1222@bps.go.id", "pst1222@bps.go.id"),
        ("siswa+pst@sekolah.sch.id", "siswa+pst@sekolah.sch.id"),
    ],
)
def test_valid_email(value, expected):
    assert validate_email(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "user@localhost",
        "user@bps",
        "no-at-sign",
        "a@b.c",
        "",
        "   ",
        "x" * 250 + "@bps.go.id",
        None,
    ],
)
def test_invalid_email(value):
    err = rejection(value, validate_email)
    assert err.code == "invalid"


# --- The branch's copy agrees ----------------------------------------------------------------


def test_branch_copy_has_the_same_region_codes():
    assert dict(PROVINCES) == branch.PROVINCES
    for province in PROVINCES:
        expected = set(REGENCIES[province]) | set(RETIRED_REGENCIES.get(province, {}))
        assert branch.REGENCY_CODES[province] == expected, province
    assert branch.ID_TYPES == central.ID_TYPES


def verdict(module, id_type: str, value: str):
    try:
        return ("ok", module.validate_id_number(id_type, value))
    except ValidationError as err:
        with translation.override("en"):
            return (err.code, err.messages)


two_digits = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
plausible_nik = st.builds(
    lambda province, regency, district, day, month, year, serial: (
        province + regency + district + day + month + year + serial
    ),
    st.sampled_from(sorted(PROVINCES)) | two_digits,
    st.sampled_from(["01", "22", "71", "73", "04"]) | two_digits,
    two_digits,
    two_digits,
    st.sampled_from(["01", "02", "08", "12"]) | two_digits,
    two_digits,
    st.sampled_from(["0000", "0001", "1234"]),
)
id_numbers = plausible_nik | st.text(alphabet="0123456789ABCXYZ .-/#", min_size=0, max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ktp", "sim", "passport", "kitas", "student_card", "other"]), id_numbers)
def test_branch_copy_gives_the_same_verdicts_and_hashes(id_type, value):
    assert verdict(branch, id_type, value) == verdict(central, id_type, value)
    if normalize_id_number(value):
        assert branch.id_hash(value, KEY) == central.id_hash(value, KEY)
    assert branch.last4(value) == central.last4(value)
    if central.last4(value):
        assert branch.mask(central.last4(value)) == central.mask(central.last4(value))


@settings(max_examples=100, deadline=None)
@given(plausible_nik)
def test_verdicts_never_show_the_number(value):
    try:
        validate_nik(value)
    except ValidationError as err:
        assert value not in rendered(err)


def test_branch_copy_on_the_domain_cases():
    for value in ("1299011708900001", WOMAN, "1222011708900000", "6501011708900001"):
        assert verdict(branch, "ktp", value) == verdict(central, "ktp", value)
    assert branch.parse_nik(WOMAN).female
    assert branch.validate_email(" A@BPS.GO.ID ") == "A@bps.go.id"


# --- NIK in free text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"NIK saya {MAN}.", "NIK saya ************0001."),
        ("nik: 1222 0117 0890 0001, terima kasih", "nik: ************0001, terima kasih"),
        ("12.22.01.170890.0001", "************0001"),
        ("1222-0117-0890-0001 dan 1222015708900002", "************0001 dan ************0002"),
        ("telepon 081234567890", "telepon 081234567890"),  # 12 digits: a phone number
        ("rekening 12345678901234567890", "rekening 12345678901234567890"),  # 20 digits
        ("1234 5678 9012 3456 7890", "************3456 7890"),  # the first 16: on the safe side
        ("0812 1222011708900001", "0812 ************0001"),
        ("1 2 3 4 5 6 7 8 9 10 11 12 13", "1 2 3 4 5 6 7 8 9 10 11 12 13"),
        ("tanggal 2026-03-17 pukul 08.00", "tanggal 2026-03-17 pukul 08.00"),
        ("", ""),
    ],
)
def test_nik_shaped_numbers_in_free_text_are_masked_to_the_last_4(text, expected):
    assert central.mask_nik_in_text(text) == expected
    assert branch.mask_nik_in_text(text) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        plausible_nik.map(lambda n: " ".join([n[:4], n[4:8], n[8:12], n[12:]]))
        | plausible_nik
        | st.text(alphabet="0123456789 .-abc", max_size=30),
        max_size=4,
    ).map(" ".join)
)
def test_branch_copy_masks_free_text_as_central_does(text):
    masked = central.mask_nik_in_text(text)
    assert branch.mask_nik_in_text(text) == masked
    assert central.mask_nik_in_text(masked) == masked  # masking twice changes nothing
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", masked)

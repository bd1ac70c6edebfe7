"""``sync.nik`` without Django: the refusals carry a code, an English msgid and parameters, never
the number; both programs' adapters are this module (tests/central/test_personal_data.py checks
the adapters' verdicts, messages and hashes)."""

import datetime as dt

import pytest

from sync import nik
from sync.regions import PROVINCES, REGENCY_CODES

MAN = "1222011708900001"  # Labuhanbatu Selatan, district 01, born 17-08-1990, serial 0001


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        (1222011708900001, "nik_type", {}),
        ("", "nik_required", {}),
        ("12220117O8900001", "nik_format", {}),
        ("122201170890001", "nik_length", {"count": 15}),
        ("9922011708900001", "nik_province", {"province": "99"}),
        (
            "1299011708900001",
            "nik_regency",
            {"regency": "99", "province": "12", "province_name": "Sumatera Utara"},
        ),
        ("1222001708900001", "nik_district", {}),
        ("1222013208900001", "nik_birth_date", {}),
        ("1222011708900000", "nik_serial", {}),
    ],
)
def test_a_refused_nik_says_why_without_the_number(value, code, params):
    with pytest.raises(nik.IdNumberError) as caught:
        nik.check_nik(value)
    error = caught.value
    assert (error.code, error.params) == (code, params)
    shown = f"{error} {error.message} {error.params} {error!r}"
    assert len(str(value)) < 12 or str(value)[:12] not in shown


def test_a_valid_nik_says_what_it_encodes():
    info = nik.parse_nik("1222 0157 0890 0002", today=dt.date(2026, 3, 17))
    assert (info.province_name, info.regency_name) == (
        "Sumatera Utara",
        "Kabupaten Labuhanbatu Selatan",
    )
    assert info.female and info.birth_date == dt.date(1990, 8, 17)
    assert nik.check_nik("12.22.01.170890.0001") == MAN
    assert nik.last4(MAN) == "0001" and nik.mask("0001") == "************0001"


def test_a_retired_regency_code_is_still_a_valid_nik():
    assert "73" in REGENCY_CODES["64"]  # Kota Tarakan, now 65.71
    assert nik.parse_nik("6473011708900001").regency_name == "Kota Tarakan"
    assert len(PROVINCES) == 38


def test_other_id_types_and_e_mail():
    assert nik.check_id_number("passport", "b 1234567") == "B1234567"
    with pytest.raises(nik.IdNumberError) as caught:
        nik.check_id_number("sim", "12AB5678901")
    assert caught.value.code == "id_format"
    assert nik.email_candidate("  Sari@BPS.go.id ") == "Sari@BPS.go.id"
    assert nik.email_candidate(None) == "" and nik.email_candidate("x" * 255) == ""
    assert nik.normalize_email("Sari@BPS.go.id") == "Sari@bps.go.id"

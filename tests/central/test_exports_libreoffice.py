"""The downloads open in LibreOffice with the right numbers and decimals (issue 19): the visit
list's CSV in the Indonesian dialect (semicolon, decimal comma, BOM) read by LibreOffice Calc with
the Indonesian locale gives numeric cells 7.5 and 1.6, not text; the XLSX converted headless to
CSV and to PDF keeps 7.5 and 1.6 and the accents.

Needs ``soffice`` (Debian: ``apt-get install --no-install-recommends libreoffice-calc-nogui``).
Without it the tests skip, saying so; CI (``.ci/run``) installs it and sets
``PST_REQUIRE_SOFFICE=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.central.test_ui import branch, make_pst_ticket, make_staff, make_visitor  # noqa: F401

pytestmark = pytest.mark.django_db
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
VISITS = "/pst/visits/"
WAIT_COLUMN = 9  # "Wait (minutes)" in the visit list (list_exports.visits_table)
INDONESIAN = 1057  # LibreOffice's language id for Indonesian (id-ID)

if SOFFICE is None:
    if os.environ.get("PST_REQUIRE_SOFFICE") == "1":
        raise RuntimeError("PST_REQUIRE_SOFFICE=1 but soffice is not installed")
    pytest.skip(
        "LibreOffice (soffice) is not installed: apt-get install --no-install-recommends "
        "libreoffice-calc-nogui",
        allow_module_level=True,
    )


def soffice(tmp_path: Path, source: Path, target: str, *infilter: str) -> Path:
    """Convert ``source`` headless into ``target`` format; returns the file it wrote."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    profile = (tmp_path / "profile").as_uri()  # its own profile: no clash with a running one
    command = [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore"]
    command += [f"--infilter={f}" for f in infilter]
    command += ["--convert-to", target, "--outdir", str(out), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    extension = target.split(":", 1)[0]
    produced = out / f"{source.stem}.{extension}"
    assert done.returncode == 0 and produced.exists(), (done.stdout, done.stderr)
    return produced


@pytest.fixture
def download(client, branch, tmp_path) -> Any:  # noqa: F811
    make_pst_ticket(
        branch, visitor=make_visitor("Siti Aminah", last4="0001"), walk_in={"wait_seconds": 450}
    )
    make_pst_ticket(
        branch,
        title="Data inflasi",
        visitor=make_visitor("Rahmat Hidayat", last4="0002"),
        walk_in={"queue_number": "K-008", "wait_seconds": 95},
    )
    client.force_login(make_staff("kasubag", superuser=True))

    def fetch(fmt: str, name: str, **params: str) -> Path:
        response = client.get(VISITS, {"format": fmt, **params}, HTTP_ACCEPT_LANGUAGE="id")
        assert response.status_code == 200
        path = tmp_path / name
        path.write_bytes(b"".join(response.streaming_content))
        return path

    return fetch


def test_indonesian_csv_opens_in_calc_as_numbers(download, tmp_path):
    source = download("csv", "kunjungan.csv")
    assert b";" in source.read_bytes() and b"7,5" in source.read_bytes()
    # Calc's CSV import as an Indonesian user opens it: separator 59 (;), quote 34 ("), UTF-8
    # (76), from line 1, default column types, Indonesian locale (decimal comma).
    converted = soffice(tmp_path, source, "xlsx", f"CSV:59,34,76,1,,{INDONESIAN}")
    sheet = openpyxl.load_workbook(converted).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][WAIT_COLUMN] == "Tunggu (menit)"
    waits = sorted(row[WAIT_COLUMN] for row in rows[1:])
    assert waits == [1.6, 7.5], "the waits must be numbers in Calc, not text"
    assert {row[0] for row in rows[1:]} == {"Labuhanbatu Selatan"}


def test_xlsx_converts_to_csv_and_pdf_with_its_numbers(download, tmp_path):
    source = download("xlsx", "kunjungan.xlsx")
    as_csv = soffice(tmp_path, source, "csv:Text - txt - csv (StarCalc):44,34,76,1")
    rows = list(csv.reader(io.StringIO(as_csv.read_text(encoding="utf-8"))))
    assert rows[0][WAIT_COLUMN] == "Tunggu (menit)"
    assert sorted(row[WAIT_COLUMN] for row in rows[1:]) == ["1.6", "7.5"]
    assert {row[0] for row in rows[1:]} == {"Labuhanbatu Selatan"}
    as_pdf = soffice(tmp_path, source, "pdf")
    data = as_pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000

"""The shipped catalogs: Indonesian complete, placeholders intact, English present."""

import gettext
import re
from pathlib import Path

import pytest

import branch_agent

LOCALE = Path(branch_agent.__file__).parent / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language):
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def po_msgids(language):
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
    return len(re.findall(r"^msgid ", text, flags=re.M)) - 1  # minus the header


@pytest.mark.parametrize("language", ["id", "en"])
def test_catalog_is_complete_and_compiled(language):
    entries = catalog(language)
    singular = {k: v for k, v in entries.items() if isinstance(k, str) and k}
    plural_ids = {k[0] for k in entries if isinstance(k, tuple)}
    assert len(singular) + len(plural_ids) == po_msgids(language), "compile the .po again"
    for msgid, msgstr in entries.items():
        if msgid == "":
            continue
        assert msgstr.strip(), msgid
        source = msgid if isinstance(msgid, str) else msgid[0]
        assert set(PLACEHOLDER.findall(msgstr)) <= set(PLACEHOLDER.findall(source)) | {"n"}, (
            msgid,
            msgstr,
        )


def test_indonesian_voice_call_is_exact():
    entries = catalog("id")
    assert entries["Queue number %(number)s, please go to desk %(desk)s"] == (
        "Nomor antrian %(number)s, silakan ke meja %(desk)s"
    )

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


def po_keys(path):
    """The msgids of a .po file (multi-line ones joined), without the header and obsolete ones."""
    keys, current, collecting = set(), None, False
    for line in Path(path).read_text().splitlines():
        if line.startswith("msgid "):
            current, collecting = line[7:-1], True
        elif collecting and line.startswith('"'):
            current += line[1:-1]
        else:
            if collecting and current:
                keys.add(current)
            collecting = False
    if collecting and current:
        keys.add(current)
    return keys


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_the_catalogs_have_every_string_of_the_source(language, tmp_path, monkeypatch, settings):
    """makemessages run on today's source finds no msgid the shipped catalogs lack (and the
    catalogs keep none the source no longer uses)."""
    import shutil

    from django.core.management import call_command

    assert shutil.which("xgettext"), "install GNU gettext (apt-get install gettext) to check this"
    copy = tmp_path / "branch_agent"
    shutil.copytree(
        LOCALE.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "locale")
    )
    (copy / "locale").mkdir()
    import sync  # its modules with msgids are read too (make messages does the same)

    (copy / "_sync_messages").mkdir()
    for name in sync.MESSAGE_MODULES:
        shutil.copy(Path(sync.__file__).parent / name, copy / "_sync_messages" / name)
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = []
    call_command("makemessages", locale=[language], no_obsolete=True, verbosity=0)
    fresh = po_keys(copy / "locale" / language / "LC_MESSAGES" / "django.po")
    shipped = po_keys(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert sorted(fresh - shipped) == [], "add these to branch_agent/locale/*/django.po"
    assert sorted(shipped - fresh) == [], "the catalog has msgids the source no longer uses"

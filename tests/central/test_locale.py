"""Indonesian and English: the plugin's id catalog is complete and compiled, and helpdesk's e-mails
for a queue with locale ``id`` are sent, in Indonesian, through helpdesk's own code paths."""

from __future__ import annotations

import ast
import gettext
import json
import re
import shutil
from pathlib import Path

import helpdesk
import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from helpdesk.lib import safe_template_context
from helpdesk.models import EmailTemplate, Queue, Ticket
from helpdesk.templated_email import send_templated_mail
from helpdesk.update_ticket import update_ticket

import pst_helpdesk_ext
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
APP_DIR = Path(pst_helpdesk_ext.__file__).parent
PO = APP_DIR / "locale" / "id" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

# --- a small reader of .po files (the test needs no gettext tools for these checks) -------------


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr ({index: text}), flags.

    Obsolete entries (``#~``) are skipped.
    """
    entries: list[dict] = []
    entry: dict = {}
    field = None

    def finish() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                finish()
            continue
        if line.startswith("#,"):
            if "msgid" in entry:
                finish()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += text
            else:
                entry[field] += text
            continue
        keyword, _space, value = line.partition(" ")
        text = ast.literal_eval(value)
        if keyword.startswith("msgstr["):
            index = int(keyword[7:-1])
            entry.setdefault("msgstr", {})[index] = text
            field = ("msgstr", index)
        elif keyword == "msgstr":
            entry["msgstr"] = {0: text}
            field = ("msgstr", 0)
        else:
            if keyword in ("msgctxt", "msgid") and "msgid" in entry and "msgstr" in entry:
                finish()
            entry[keyword] = text
            field = keyword
    finish()
    for item in entries:
        item.setdefault("flags", set())
    return entries


def catalog_key(entry: dict) -> str:
    return f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]


# --- the catalog --------------------------------------------------------------------------------


def test_every_msgid_is_translated_and_none_is_fuzzy():
    entries = read_po(PO)
    assert len(entries) > 100
    header = next(e for e in entries if e["msgid"] == "")
    assert "fuzzy" not in header["flags"], "the header is fuzzy: msgfmt would drop plural forms"
    assert "Language: id" in header["msgstr"][0]
    problems = []
    for entry in entries:
        if entry["msgid"] == "":
            continue
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        if not all(entry["msgstr"].values()):
            problems.append(f"untranslated: {entry['msgid']!r}")
    assert problems == [], "\n".join(problems)


def test_placeholders_are_kept_in_every_translation():
    placeholder = re.compile(r"%\(\w+\)[sdr]|%\(\w+\)0\d[sd]|\{\w+\}")
    problems = []
    for entry in read_po(PO):
        if not entry["msgid"]:
            continue
        wanted = sorted(placeholder.findall(entry.get("msgid_plural", entry["msgid"])))
        for text in entry["msgstr"].values():
            if sorted(placeholder.findall(text)) != wanted:
                problems.append(f"{entry['msgid']!r} -> {text!r}")
    assert problems == [], "\n".join(problems)


def test_the_mo_file_is_compiled_from_the_po_file():
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    expected: dict = {}
    for entry in read_po(PO):
        key = catalog_key(entry)
        if "msgid_plural" in entry:
            for index, text in entry["msgstr"].items():
                expected[(key, index)] = text
        else:
            expected[key] = entry["msgstr"][0]
    # msgfmt leaves POT-Creation-Date out of the compiled header.
    expected[""] = "".join(
        line for line in expected[""].splitlines(True) if not line.startswith("POT-Creation-Date")
    )
    assert compiled == expected, "django.mo is stale: run msgfmt -o django.mo django.po"


def copy_sync_messages(app_copy: Path) -> None:
    """The shared ``sync`` modules with msgids, where makemessages reads them (as make messages)."""
    import sync

    (app_copy / "_sync_messages").mkdir()
    for name in sync.MESSAGE_MODULES:
        shutil.copy(Path(sync.__file__).parent / name, app_copy / "_sync_messages" / name)


def test_the_po_file_has_every_string_of_the_source(tmp_path, monkeypatch, settings):
    """makemessages run on today's source finds no msgid the shipped catalog lacks."""
    assert shutil.which("xgettext"), "install GNU gettext (apt-get install gettext) to check this"
    copy = tmp_path / "pst_helpdesk_ext"
    shutil.copytree(APP_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    copy_sync_messages(copy)
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = []
    call_command("makemessages", locale=["id"], no_obsolete=True, verbosity=0)
    fresh = {catalog_key(e) for e in read_po(copy / "locale/id/LC_MESSAGES/django.po")}
    shipped = {catalog_key(e) for e in read_po(PO)}
    assert sorted(fresh - shipped) == [], (
        "run makemessages -l id in pst_helpdesk_ext/ and translate"
    )
    assert sorted(shipped - fresh) == [], "the catalog has msgids the source no longer uses"


def test_both_languages_are_served(client):
    staff = make_staff("petugas")
    client.force_login(staff)
    indonesian = client.get(reverse("pst:tickets"), HTTP_ACCEPT_LANGUAGE="id").content.decode()
    english = client.get(reverse("pst:tickets"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tiket PST" in indonesian and "Kantor cabang" in indonesian
    assert "PST tickets" in english and "Branch office" in english
    with translation.override("id"):
        assert str(Ticket.STATUS_CHOICES[0][1]) == "Terbuka"  # helpdesk's own label, via us


# --- helpdesk's e-mails for a queue with locale id ----------------------------------------------


def helpdesk_template_names() -> set[str]:
    fixture = Path(helpdesk.__file__).parent / "fixtures" / "emailtemplate.json"
    rows = json.loads(fixture.read_text(encoding="utf-8"))
    names = {row["fields"]["template_name"] for row in rows if row["fields"]["locale"] == "en"}
    assert len(names) == 16
    return names | {"merged"}  # added by helpdesk's migration 0034


@pytest.fixture
def id_queue() -> Queue:
    return Queue.objects.create(
        title="PST 1222 Labuhanbatu Selatan",
        slug="pst-1222",
        locale="id",
        email_address="pst1222@example.bps.go.id",
        allow_public_submission=True,
    )


def test_an_indonesian_template_for_every_helpdesk_template():
    names = set(EmailTemplate.objects.filter(locale="id").values_list("template_name", flat=True))
    assert names == helpdesk_template_names()


@pytest.mark.parametrize("name", sorted(helpdesk_template_names()))
def test_each_indonesian_template_renders(name, id_queue):
    ticket = Ticket.objects.create(
        title="Data kemiskinan",
        queue=id_queue,
        submitter_email="siti@example.com",
        description="Mohon data <kemiskinan> & IPM",
        resolution="Data dikirim lewat surel",
    )
    merged_into = Ticket.objects.create(title="Induk", queue=id_queue)
    ticket.merged_to = merged_into
    context = safe_template_context(ticket)
    context.update(resolution="Data dikirim lewat surel", comment="Terima kasih", private=False)
    with translation.override("en"):  # the request that triggered it may be in English
        send_templated_mail(name, context, recipients="siti@example.com", fail_silently=False)
    (message,) = mail.outbox
    template = EmailTemplate.objects.get(template_name=name, locale="id")
    assert template.subject in message.subject
    body, (html, _mime) = message.body, message.alternatives[0]
    assert body.startswith("Halo,") and "Hormat kami" in body and "Hello" not in body
    assert "{{" not in body and "{%" not in body and "{{" not in html
    assert template.heading in html and "Hormat kami" in html and "Regards" not in html
    if "<kemiskinan> & IPM" in body:  # plain text is not HTML-escaped, the HTML part is
        assert "&lt;kemiskinan&gt; &amp; IPM" in html
    if "Status:" in body:
        assert "Status: Terbuka" in body and "Prioritas: 3. Normal" in body


def test_a_ticket_submitted_on_the_public_form_gets_an_indonesian_email(client, id_queue, settings):
    # A site that offers helpdesk's own public form (PST_HELPDESK['PUBLIC_TICKET_FORM']).
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "PUBLIC_TICKET_FORM": True}
    response = client.post(
        reverse("helpdesk:home"),
        {
            "queue": id_queue.pk,
            "title": "Permintaan data kemiskinan",
            "body": "Mohon data kemiskinan per kecamatan.",
            "priority": 3,
            "submitter_email": "siti@example.com",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    to_visitor = [m for m in mail.outbox if m.to == ["siti@example.com"]]
    assert len(to_visitor) == 1
    message = to_visitor[0]
    assert "(Dibuka)" in message.subject and "Permintaan data kemiskinan" in message.subject
    assert "telah kami terima" in message.body and "pst-1222-" in message.body
    assert "Tiket Anda Telah Dibuka" in message.alternatives[0][0]


def test_a_staff_reply_through_update_ticket_is_in_indonesian(id_queue):
    staff = make_staff("petugas")
    ticket = Ticket.objects.create(
        title="Permintaan metadata", queue=id_queue, submitter_email="siti@example.com"
    )
    update_ticket(
        staff,
        ticket,
        comment="Metadata SUSENAS terlampir.",
        public=True,
        new_status=Ticket.RESOLVED_STATUS,
    )
    to_visitor = [m for m in mail.outbox if m.to == ["siti@example.com"]]
    assert len(to_visitor) == 1
    message = to_visitor[0]
    assert "(Diselesaikan)" in message.subject
    assert "Metadata SUSENAS terlampir." in message.body
    assert "Mohon konfirmasikan" in message.body

"""E-mails link to the visitor's own consultation page (issue 15), not helpdesk's public view.

Every e-mail template (the plugin's Indonesian ones of 0004, helpdesk's own, and any an admin
wrote) that gives the submitter ``{{ ticket.ticket_url }}`` now gives ``{% pst_visitor_url ticket %}``:
the signed link of ``pst:visitor_page`` for a PST ticket, helpdesk's ``ticket_url`` for any other.
Reversible: the tag goes back to ``{{ ticket.ticket_url|safe }}``.
"""

import re

from django.db import migrations

TICKET_URL = re.compile(r"\{\{\s*ticket\.ticket_url\s*(\|\s*safe\s*)?\}\}")
TAG = "{% pst_visitor_url ticket %}"
LOAD = "{% load pst_helpdesk %}"
LOADED = re.compile(r"\{%\s*load\s[^%]*\bpst_helpdesk\b[^%]*%\}")


def _point(text):
    if not text or not TICKET_URL.search(text):
        return text
    text = TICKET_URL.sub(TAG, text)
    return text if LOADED.search(text) else LOAD + text


def _unpoint(text):
    return (text or "").replace(TAG, "{{ ticket.ticket_url|safe }}")


def _apply(apps, schema_editor, change):
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    db = schema_editor.connection.alias
    for template in EmailTemplate.objects.using(db).all():
        plain, html = change(template.plain_text), change(template.html)
        if (plain, html) != (template.plain_text, template.html):
            template.plain_text, template.html = plain, html
            template.save(update_fields=["plain_text", "html"])


def forwards(apps, schema_editor):
    _apply(apps, schema_editor, _point)


def backwards(apps, schema_editor):
    _apply(apps, schema_editor, _unpoint)


class Migration(migrations.Migration):
    dependencies = [
        ("pst_helpdesk_ext", "0009_visitor_branch"),
        ("helpdesk", "0043_fix_on_delete_behaviour"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

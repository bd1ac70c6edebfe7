"""Indonesian (``id``) versions of every django-helpdesk e-mail template.

django-helpdesk looks up an e-mail template by name and the queue's locale and, failing that, one
with no locale; it ships none for ``id``, so a PST queue (locale ``id``) would send nothing. This
adds the 16 templates of helpdesk's fixture plus ``merged`` (helpdesk migration 0034), skipping any
an admin has already written. The bodies switch to Indonesian for their own rendering
(``{% language "id" %}``) so dates and helpdesk's status names are Indonesian whatever language the
request that triggered the e-mail used, and plain-text bodies are not HTML-escaped. Their frame
(greeting, signature, privacy note) is ``templates/helpdesk/id/email_*``.

PostgreSQL trap: helpdesk loads its fixture with explicit ids and never resets the id sequence, so
a plain insert collides with id 1. We reset the sequence first (a no-op on SQLite).
"""

from django.core.management.color import no_style
from django.db import migrations

HELLO = "Halo,"
DETAILS = [
    ("ID tiket", "{{ ticket.ticket }}"),
    ("Antrean", "{{ queue.title }}"),
    ("Judul", "{{ ticket.title }}"),
    ("Dibuka", '{{ ticket.created|date:"DATETIME_FORMAT" }}'),
    ("Pengaju", '{{ ticket.submitter_email|default:"tidak diketahui" }}'),
    ("Prioritas", "{{ ticket.priority|pst_ticket_priority }}"),
    ("Status", '{{ ticket.status|pst_ticket_status }}{% if ticket.on_hold %} - {% translate "On Hold" %}{% endif %}'),
]
DESCRIPTION = ("Deskripsi awal tiket:", "{{ ticket.description }}")
RESOLUTION = ("Penyelesaian yang diberikan:", "{% firstof resolution ticket.resolution %}")
COMMENT = ("Komentar berikut ditambahkan:", "{{ comment }}")
STAFF_LINK = "Untuk melihat atau memperbarui tiket ini secara daring (perlu masuk), kunjungi {{ ticket.staff_url }}."
PUBLIC_LINK = "Untuk melihat tiket ini secara daring, kunjungi {{ ticket.ticket_url|safe }}."
SUBMITTED = 'Anda belum lama ini mengajukan tiket dengan judul "{{ ticket.title }}" kepada kami.'
NOTICE = "Dengan surel ini kami memberitahukan bahwa"
REPLY = "silakan balas surel ini tanpa mengubah subjeknya"
SENT_TO_SUBMITTER = "Penyelesaian ini telah dikirim kepada pengaju, yang akan memeriksanya sebelum tiket ini dapat ditutup."
UPDATE_SENT = "Informasi ini {% if private %}tidak {% endif %}dikirim kepada pengaju."

# name, subject, heading, paragraphs before, show details, sections, paragraphs after
TEMPLATES = [
    (
        "assigned_cc",
        "(Ditugaskan)",
        "Tiket Ditugaskan",
        [f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") dari {{{{ ticket.submitter_email }}}} telah {{% if ticket.assigned_to %}}ditugaskan kepada {{{{ ticket.assigned_to }}}}{{% else %}}berubah penugasannya{{% endif %}}.'],
        True,
        [DESCRIPTION],
        [STAFF_LINK],
    ),
    (
        "assigned_owner",
        "(Ditugaskan kepada Anda)",
        "Tiket Ditugaskan kepada Anda",
        [f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") dari {{{{ ticket.submitter_email }}}} telah ditugaskan kepada Anda.'],
        True,
        [DESCRIPTION],
        [STAFF_LINK],
    ),
    (
        "closed_cc",
        "(Ditutup)",
        "Tiket Ditutup",
        ['Tiket {{ ticket.ticket }} ("{{ ticket.title }}") telah ditutup.'],
        True,
        [DESCRIPTION, RESOLUTION],
        [STAFF_LINK],
    ),
    (
        "closed_owner",
        "(Ditutup)",
        "Tiket Ditutup",
        ["Tiket berikut, yang saat ini ditugaskan kepada Anda, telah ditutup."],
        True,
        [DESCRIPTION, RESOLUTION],
        [STAFF_LINK],
    ),
    (
        "closed_submitter",
        "(Ditutup)",
        "Tiket Ditutup",
        [f"{SUBMITTED} Surel ini mengonfirmasi bahwa tiket tersebut telah ditutup."],
        False,
        [RESOLUTION],
        [
            f"Jika menurut Anda tiket ini masih memerlukan tindak lanjut, {REPLY}.",
            PUBLIC_LINK,
        ],
    ),
    (
        "escalated_cc",
        "(Dieskalasi)",
        "Tiket Dieskalasi",
        [f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") telah dieskalasi secara otomatis.'],
        True,
        [DESCRIPTION],
        [STAFF_LINK],
    ),
    (
        "escalated_submitter",
        "(Dieskalasi)",
        "Tiket Anda Telah Dieskalasi",
        [
            f"{SUBMITTED} Surel ini memberitahukan bahwa tiket tersebut dieskalasi secara "
            "otomatis karena sudah terbuka lebih lama dari yang diperkirakan.",
            "Kami akan segera meninjau tiket Anda dan berupaya memberikan penyelesaian secepatnya.",
        ],
        False,
        [],
        [PUBLIC_LINK],
    ),
    (
        "escalated_owner",
        "(Dieskalasi)",
        "Tiket yang Ditugaskan kepada Anda Telah Dieskalasi",
        [
            "Tiket yang saat ini ditugaskan kepada Anda telah dieskalasi secara otomatis karena "
            "sudah terbuka lebih lama dari yang diperkirakan."
        ],
        True,
        [DESCRIPTION],
        ["Mohon tinjau tiket ini dan berikan penyelesaian secepatnya.", STAFF_LINK],
    ),
    (
        "newticket_cc",
        "(Dibuka)",
        "Tiket Baru Dibuka",
        [f"{NOTICE} sebuah tiket baru telah dibuka."],
        True,
        [("Deskripsi:", "{{ ticket.description }}")],
        [STAFF_LINK],
    ),
    (
        "newticket_submitter",
        "(Dibuka)",
        "Tiket Anda Telah Dibuka",
        [
            f'{NOTICE} permintaan Anda dengan judul "{{{{ ticket.title }}}}" telah kami terima.',
            "Saat ini Anda tidak perlu melakukan apa pun. Tiket Anda bernomor "
            "{{ ticket.ticket }} dan akan segera ditanggapi.",
            "Jika Anda ingin mengirim keterangan tambahan atau memiliki pertanyaan tentang tiket "
            "ini, cantumkan nomor tiket '{{ ticket.ticket }}' pada subjek surel. Cara termudah "
            'adalah menekan tombol "balas" pada pesan ini.',
            "Untuk melihat tiket ini secara daring, menambahkan keterangan, melampirkan berkas, "
            "atau melihat perkembangan terbaru, kunjungi {{ ticket.ticket_url|safe }}.",
            "Kami akan menelaah permintaan Anda dan berupaya menyelesaikannya secepatnya. Kabar "
            "selanjutnya dan penyelesaiannya akan dikirim ke alamat surel ini.",
        ],
        False,
        [],
        [],
    ),
    (
        "resolved_cc",
        "(Diselesaikan)",
        "Tiket Diselesaikan",
        ["Tiket berikut telah diselesaikan."],
        True,
        [DESCRIPTION, RESOLUTION],
        [SENT_TO_SUBMITTER, STAFF_LINK],
    ),
    (
        "resolved_owner",
        "(Diselesaikan)",
        "Tiket Diselesaikan",
        ["Tiket yang saat ini ditugaskan kepada Anda telah diselesaikan."],
        True,
        [DESCRIPTION, RESOLUTION],
        [SENT_TO_SUBMITTER, STAFF_LINK],
    ),
    (
        "resolved_submitter",
        "(Diselesaikan)",
        "Tiket Anda Telah Diselesaikan",
        [f"{SUBMITTED} Surel ini memberitahukan penyelesaian atas tiket tersebut."],
        False,
        [("Penyelesaian berikut ditambahkan pada tiket {{ ticket.ticket }}:", "{% firstof resolution ticket.resolution %}")],
        [
            "Mohon konfirmasikan apakah penyelesaian ini sudah menjawab kebutuhan Anda agar "
            "tiket dapat kami tutup. Jika Anda masih memiliki pertanyaan atau penyelesaian ini "
            f"belum memadai, {REPLY}.",
            PUBLIC_LINK,
        ],
    ),
    (
        "updated_cc",
        "(Diperbarui)",
        "Tiket Diperbarui",
        [f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") dari {{{{ ticket.submitter_email }}}} telah diperbarui.'],
        True,
        [DESCRIPTION, COMMENT],
        [UPDATE_SENT, STAFF_LINK],
    ),
    (
        "updated_owner",
        "(Diperbarui)",
        "Tiket Diperbarui",
        [f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") dari {{{{ ticket.submitter_email }}}}, yang ditugaskan kepada Anda, telah diperbarui.'],
        True,
        [DESCRIPTION, COMMENT],
        [UPDATE_SENT, STAFF_LINK],
    ),
    (
        "updated_submitter",
        "(Diperbarui)",
        "Tiket Anda Telah Diperbarui",
        [f"{SUBMITTED} Surel ini memberitahukan adanya pembaruan pada tiket tersebut."],
        False,
        [("Komentar berikut ditambahkan pada tiket {{ ticket.ticket }}:", "{{ comment }}")],
        [
            f"Jika Anda perlu memberikan keterangan tambahan, {REPLY}. Anda juga dapat melihat "
            "dan memperbarui tiket ini secara daring di {{ ticket.ticket_url|safe }}."
        ],
    ),
    (
        "merged",
        "(Digabungkan)",
        "Tiket Digabungkan",
        [
            f'{NOTICE} tiket {{{{ ticket.ticket }}}} ("{{{{ ticket.title }}}}") dari {{{{ ticket.submitter_email }}}} telah digabungkan ke tiket {{{{ ticket.merged_to.ticket }}}}.',
            "Mulai sekarang, silakan tanggapi tiket tersebut, atau cantumkan "
            "{{ ticket.merged_to.ticket }} pada subjek surel Anda.",
        ],
        False,
        [],
        [],
    ),
]

LOAD = '{% load i18n pst_helpdesk %}{% language "id" %}'
END = "{% endlanguage %}"
P = '<p style="font-family: sans-serif; font-size: 1em;">'
QUOTE = '<blockquote style="font-family: sans-serif; font-size: 1em;">'


def plain_text(before, details, sections, after):
    parts = [HELLO, *before]
    if details:
        parts.append("\n".join(f"{label}: {value}" for label, value in DETAILS))
    for heading, value in sections:
        parts.append(f"{heading}\n\n{value}")
    parts.extend(after)
    body = "\n\n".join(parts)
    return f"{LOAD}{{% autoescape off %}}{body}\n{{% endautoescape %}}{END}"


def linked(text):
    # Make the ticket links clickable in HTML.
    for url in ("{{ ticket.staff_url }}", "{{ ticket.ticket_url|safe }}"):
        text = text.replace(url, f'<a href="{url}">{url}</a>')
    return text


def html(before, details, sections, after):
    parts = [f"{P}{HELLO}</p>", *(f"{P}{linked(p)}</p>" for p in before)]
    if details:
        rows = "<br>\n".join(f"<b>{label}</b>: {value}" for label, value in DETAILS)
        parts.append(f"{P}\n{rows}</p>")
    for heading, value in sections:
        shown = value.replace("}}", "|linebreaksbr }}") if value == "{{ ticket.description }}" else value
        parts.append(f"{P}{heading}</p>\n\n{QUOTE}{shown}</blockquote>")
    parts.extend(f"{P}{linked(p)}</p>" for p in after)
    return LOAD + "\n\n".join(parts) + END


def reset_sequence(apps, schema_editor):
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    connection = schema_editor.connection
    for sql in connection.ops.sequence_reset_sql(no_style(), [EmailTemplate]):
        schema_editor.execute(sql)


def add_templates(apps, schema_editor):
    reset_sequence(apps, schema_editor)
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    db = schema_editor.connection.alias
    existing = set(
        EmailTemplate.objects.using(db).filter(locale="id").values_list("template_name", flat=True)
    )
    EmailTemplate.objects.using(db).bulk_create(
        EmailTemplate(
            template_name=name,
            subject=subject,
            heading=heading,
            plain_text=plain_text(before, details, sections, after),
            html=html(before, details, sections, after),
            locale="id",
        )
        for name, subject, heading, before, details, sections, after in TEMPLATES
        if name not in existing
    )


def remove_templates(apps, schema_editor):
    EmailTemplate = apps.get_model("helpdesk", "EmailTemplate")
    EmailTemplate.objects.using(schema_editor.connection.alias).filter(
        locale="id", template_name__in=[t[0] for t in TEMPLATES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pst_helpdesk_ext", "0003_feed_head_writer_lock"),
        ("helpdesk", "0043_fix_on_delete_behaviour"),
    ]
    operations = [migrations.RunPython(add_templates, remove_templates)]

"""The shared vocabulary of the PST domain: the codes both programs and the wire agree on.

What it owns: the codes of services, visit outcomes, follow-up modes, ticket owners and IKM
(survey) elements, each said once. Both programs import them from here (``sync`` is the one
package both may import); ``sync.ops`` types its payloads with them. Pure: no Django.

Rules:
- Codes are wire values and database values: never rename one, only add.
- Labels people read stay in the Django adapters (``gettext_lazy`` there, e.g. each program's
  model choices), except where a label is itself shared data: the IKM elements' official names
  are given here in both languages. A shared msgid would be marked with ``gettext_noop`` and its
  module listed in ``sync.MESSAGE_MODULES`` (see ``sync.nik``), so ``make messages`` finds it.
"""

from __future__ import annotations

# Whose a ticket is (sync.ownership): the branch's, or central's.
BRANCH = "branch"
CENTRAL = "central"
OWNERS = (BRANCH, CENTRAL)

# A walk-in visit's outcome as central records it (``waiting`` while it is in progress).
OUTCOME_WAITING = "waiting"
OUTCOME_NO_SHOW = "no_show"
OUTCOME_RESOLVED = "resolved"
OUTCOME_REFERRED = "referred"
OUTCOME_ESCALATED = "escalated"
OUTCOMES = (
    OUTCOME_WAITING,
    OUTCOME_NO_SHOW,
    OUTCOME_RESOLVED,
    OUTCOME_REFERRED,
    OUTCOME_ESCALATED,
)

# How an escalated visit is followed up.
FOLLOW_UP_ONLINE = "online"
FOLLOW_UP_IN_PERSON = "in_person"
FOLLOW_UP_ZOOM = "zoom"
FOLLOW_UP_MODES = (FOLLOW_UP_ONLINE, FOLLOW_UP_IN_PERSON, FOLLOW_UP_ZOOM)

# The four PST services a walk-in can ask for.
SERVICES = ("konsultasi", "perpustakaan", "penjualan", "rekomendasi")

# The nine elements of the satisfaction survey (IKM, PermenPAN-RB 14/2017), scored 1-4, with
# their official names in Indonesian and English (names of the regulation, shown as data in both
# languages by reports and exports; the visitor-facing questions are each form's own msgids).
IKM_ELEMENT_NAMES: dict[str, tuple[str, str]] = {
    "U1": ("Persyaratan", "Requirements"),
    "U2": ("Sistem, mekanisme, dan prosedur", "Systems, mechanisms and procedures"),
    "U3": ("Waktu penyelesaian", "Completion time"),
    "U4": ("Biaya/tarif", "Cost/tariff"),
    "U5": ("Produk spesifikasi jenis pelayanan", "Service products"),
    "U6": ("Kompetensi pelaksana", "Staff competence"),
    "U7": ("Perilaku pelaksana", "Staff behaviour"),
    "U8": ("Sarana dan prasarana", "Facilities"),
    "U9": (
        "Penanganan pengaduan, saran dan masukan",
        "Handling of complaints, suggestions and feedback",
    ),
}
IKM_ELEMENTS = tuple(IKM_ELEMENT_NAMES)  # U1..U9

"""The shared vocabulary of the PST domain: the codes both programs and the wire agree on.

What it owns: the codes of services, visit outcomes, follow-up modes, ticket owners and IKM
(survey) elements, each said once. Both programs import them from here (``sync`` is the one
package both may import); ``sync.ops`` types its payloads with them. Pure: no Django.

Rules:
- Codes are wire values and database values: never rename one, only add.
- Labels people read stay in the Django adapters (``gettext_lazy`` there), except where a label
  table is itself shared data; such msgids are marked with ``gettext_noop`` below so ``make
  messages`` finds them, and each program translates them at the edge with its own catalogue.
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

# The nine elements of the satisfaction survey (IKM, PermenPANRB 14/2017), scored 1-4.
IKM_ELEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")

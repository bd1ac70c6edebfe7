"""Visitors' identity numbers and email addresses, for the branch: Django's side of ``sync.nik``.

What it owns: nothing of the rules. The NIK and ID number rules, the region table, the keyed hash,
the last 4 digits, masking (also of NIKs in free text) are ``sync.nik`` and ``sync.regions``,
shared with central (the branch may not import ``pst_helpdesk_ext``, and needs no copy), so a
returning visitor is recognised anywhere. Here: ``sync.nik``'s refusals as Django
``ValidationError`` with the message translated by the agent's catalogue, and the e-mail check.

Rules (UU PDP No. 27/2022, UU Adminduk art. 84; DOMAIN.md "Personal data"):
- The full ID number is never stored, logged, rendered, or put in an exception, a ValidationError
  parameter or a ``repr``. The guest book keeps ``id_type``, ``id_hash`` and ``last4``;
  ``id_hash`` is keyed with the agent's ``ID_HASH_KEY``, which must equal central's
  ``PST_HELPDESK['ID_HASH_KEY']``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from sync import nik
from sync.nik import ID_TYPES, id_hash, last4, mask, mask_nik_in_text  # noqa: F401 (re-exported)
from sync.regions import PROVINCES, REGENCY_CODES  # noqa: F401 (re-exported)


def _refused(error: nik.IdNumberError) -> ValidationError:
    """A ``sync.nik`` refusal as Django's, its message translated by this program's catalogue."""
    return ValidationError(_(error.message), code=error.code, params=error.params or None)


# Django's e-mail syntax, without its "user@localhost" (the seed asks for an active address).
_checks = nik.Refusing(_refused, EmailValidator(allowlist=[]), ValidationError)
parse_nik, validate_nik, validate_id_number, validate_email = _checks.validators()

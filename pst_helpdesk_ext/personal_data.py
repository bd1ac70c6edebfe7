"""Visitors' identity numbers and email addresses, for central: Django's side of ``sync.nik``.

What it owns: nothing of the rules. The NIK and ID number rules, the region table, the keyed hash,
the last 4 digits, masking (also of NIKs in free text) are ``sync.nik`` and ``sync.regions``,
shared with the branch agent (whose ``personal_data.py`` is the same adapter), so both judge, hash
and mask identically. Here: ``sync.nik``'s refusals as Django ``ValidationError`` with the message
translated by this plugin's catalogue, and the e-mail check (Django's validator).

Rules (UU PDP No. 27/2022, UU Adminduk art. 84; DOMAIN.md "Personal data"):
- The full ID number is never stored, logged, rendered, or put in an exception, a ValidationError
  parameter or a ``repr``. Callers keep ``id_type``, ``id_hash(number, key)`` and
  ``last4(number)``, and show ``mask(last4)``; the key is ``PST_HELPDESK['ID_HASH_KEY']``, the
  same at every branch.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from sync import nik
from sync.nik import (  # noqa: F401 (re-exported)
    ID_TYPES,
    MASK_LENGTH,
    NIK_LENGTH,
    NikInfo,
    id_hash,
    last4,
    mask,
    mask_nik_in_text,
    normalize_id_number,
)


def _refused(error: nik.IdNumberError) -> ValidationError:
    """A ``sync.nik`` refusal as Django's, its message translated by this program's catalogue."""
    return ValidationError(_(error.message), code=error.code, params=error.params or None)


# Django's e-mail syntax, without its "user@localhost" (the seed asks for an active address).
_checks = nik.Refusing(_refused, EmailValidator(allowlist=[]), ValidationError)
parse_nik, validate_nik, validate_id_number, validate_email = _checks.validators()

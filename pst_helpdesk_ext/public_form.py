"""helpdesk's public "Submit a Ticket" form, closed unless the admin wants it.

Through helpdesk's own seam: ``HELPDESK_PUBLIC_TICKET_FORM_CLASS =
"pst_helpdesk_ext.public_form.PublicTicketForm"``. With ``PST_HELPDESK['PUBLIC_TICKET_FORM']``
off (the default) a post to helpdesk's public form (a bookmark, a bot, an old page) creates no
ticket and names the PST request page instead; with it on, helpdesk's form works unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from helpdesk.forms import PublicTicketForm as HelpdeskPublicTicketForm

from pst_helpdesk_ext.conf import pst_settings


class PublicTicketForm(HelpdeskPublicTicketForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not pst_settings.PUBLIC_TICKET_FORM:
            try:
                url = reverse("pst:online_start")
            except NoReverseMatch:  # the PST flow is not mounted: helpdesk's form is the way in
                return cleaned
            raise ValidationError(
                _(
                    "This form is closed: ask your question through the consultation request "
                    "at %(url)s (nothing was sent)."
                )
                % {"url": url},
                code="public_form_closed",
            )
        return cleaned

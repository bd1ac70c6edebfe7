"""Staff page of an online ticket: the chat-style conversation and the follow-up appointment form.

For helpdesk staff with access to the ticket's queue (helpdesk's own per-queue rule). The thread
itself is the ``{% pst_online_thread %}`` include, which the ticket page can show too. Thin: the
rules live in ``services.appointments``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from helpdesk.decorators import helpdesk_staff_member_required
from helpdesk.models import Ticket
from helpdesk.user import HelpdeskUser

from pst_helpdesk_ext.models import Branch
from pst_helpdesk_ext.services import appointments
from pst_helpdesk_ext.views.online import mark_invalid


class AppointmentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Follow-up"),
        choices=[(appointments.IN_PERSON, _("In person")), (appointments.ZOOM, _("Zoom meeting"))],
        widget=forms.RadioSelect,
    )
    start = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"invalid": _("Enter the date and time, e.g. 2026-03-20 10:00.")},
    )
    minutes = forms.IntegerField(
        label=_("Duration (minutes)"), initial=30, min_value=5, max_value=480
    )
    branch = forms.ModelChoiceField(
        label=_("Branch office (in person)"),
        queryset=Branch.objects.filter(active=True),
        required=False,
        to_field_name="code",
    )
    meeting_url = forms.URLField(label=_("Zoom link"), required=False, assume_scheme="https")
    note = forms.CharField(
        label=_("Note to the visitor"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, tz_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz_name = tz_name
        for name, field in self.fields.items():
            if name != "kind":
                field.widget.attrs["class"] = "form-control"
        self.fields["start"].help_text = gettext("Local time (%(tz)s)") % {"tz": tz_name}

    def appointment(self) -> appointments.Appointment:
        data = self.cleaned_data
        start: dt.datetime = data["start"]
        start = start.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(self.tz_name))
        return appointments.Appointment(
            kind=data["kind"],
            start=start,
            duration=dt.timedelta(minutes=data["minutes"]),
            branch=data.get("branch"),
            meeting_url=data.get("meeting_url") or "",
            note=data.get("note") or "",
        )


def _ticket_for(request: HttpRequest, ticket_id: int) -> Ticket:
    ticket = get_object_or_404(Ticket.objects.select_related("queue"), pk=ticket_id)
    if not HelpdeskUser(request.user).can_access_ticket(ticket):
        raise PermissionDenied
    return ticket


@helpdesk_staff_member_required
def conversation(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_for(request, ticket_id)
    branch = Branch.objects.filter(queue=ticket.queue).first()
    tz_name = branch.timezone if branch else settings.TIME_ZONE
    form = AppointmentForm(request.POST or None, tz_name=tz_name, initial={"branch": branch})
    if request.method == "POST" and form.is_valid():
        try:
            appointments.record_appointment(ticket, form.appointment(), user=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, gettext("Appointment recorded and sent to the visitor."))
            return redirect("pst:online_conversation", ticket_id=ticket.pk)
    return render(
        request,
        "pst_helpdesk_ext/online/conversation.html",
        {"ticket": ticket, "form": mark_invalid(form)},
        status=400 if form.is_bound else 200,
    )

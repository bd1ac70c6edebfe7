"""Forms of the local UI. They validate and shape input; the rules and writes are in services.

The guest-book form checks the ID number for real (a NIK against its structure and region codes)
and then keeps only its keyed hash and last 4 digits: the number itself never reaches the model,
the outbox, a log line, or the page re-rendered after an error. The browser keeps what the officer
typed in it when the form is refused (``agent.js``, ``data-keep-typed``): it never goes back out.

A complaint written at the rating kiosk is anonymous unless the visitor chooses to give an e-mail
address for the answer.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from branch_agent import personal_data
from branch_agent.conf import agent_settings
from branch_agent.models import Complaint, Consultation, ServiceCategory, Visit
from sync import ops

ID_TYPES = [
    ("ktp", _("KTP (identity card)")),
    ("sim", _("SIM (driving licence)")),
    ("passport", _("Passport")),
    ("kitas", _("KITAS (residence permit)")),
    ("student_card", _("Student card")),
    ("other", _("Other")),
]
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,24}$")

# The nine IKM elements as plain questions a visitor understands (PermenPAN-RB 14/2017).
IKM_QUESTIONS = {
    "U1": _("Were the requirements for this service easy to meet?"),
    "U2": _("Was the procedure clear and easy to follow?"),
    "U3": _("Were you served quickly enough?"),
    "U4": _("Was the cost fair? (this service is free: choose 4 if you paid nothing)"),
    "U5": _("Did you get what the service promises (the information you asked for)?"),
    "U6": _("Did the officer know the subject well?"),
    "U7": _("Was the officer polite and helpful?"),
    "U8": _("Were the room and facilities comfortable?"),
    "U9": _("Is it easy to complain or make suggestions here?"),
}
SCORE_CHOICES = [
    (1, _("1 · Poor")),
    (2, _("2 · Fair")),
    (3, _("3 · Good")),
    (4, _("4 · Very good")),
]


class TokenField(forms.CharField):
    """The per-render idempotency token of a form (hidden)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, min_length=16, **kwargs)


class NoEchoTextInput(forms.TextInput):
    """A text input that never writes its value back into the page (for ID numbers)."""

    def format_value(self, value: Any) -> None:
        return None


class IssueForm(forms.Form):
    service = forms.ChoiceField(label=_("service"), choices=())
    token = TokenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [
            (s.code, s.name)
            for s in ServiceCategory.objects.filter(
                kind=ServiceCategory.Kind.SERVICE, active=True
            ).exclude(queue_letter="")
        ]


class GuestBookForm(forms.Form):
    name = forms.CharField(label=_("full name"), max_length=200)
    institution = forms.CharField(label=_("institution"), max_length=200, required=False)
    email = forms.EmailField(
        label=_("email"),
        max_length=254,
        help_text=_("An active address: answers and follow-ups are sent there."),
    )
    phone = forms.CharField(label=_("phone / WhatsApp"), max_length=30, required=False)
    id_type = forms.ChoiceField(label=_("ID type"), choices=ID_TYPES, initial="ktp")
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=NoEchoTextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "data-secret": ""}
        ),
        help_text=_("Checked, then only a keyed fingerprint and the last 4 digits are kept."),
    )
    purpose = forms.CharField(
        label=_("purpose of the visit"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    consent = forms.BooleanField(
        label=_(
            "The visitor agrees that BPS processes these data to provide and improve the"
            " service, as explained in the notice."
        ),
        required=True,
        error_messages={"required": _("The visitor must agree before the entry can be saved.")},
    )
    token = TokenField()

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Enter the visitor's name."))
        return name

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE_RE.match(phone):
            raise ValidationError(
                _("%(value)s is not a phone number (digits, spaces, + and - only)."),
                params={"value": phone},
            )
        return phone

    def clean_email(self) -> str:
        return personal_data.validate_email(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = data.pop("id_number", None) or ""
        id_type = data.get("id_type")
        if not raw or not id_type:
            return data
        try:
            number = personal_data.validate_id_number(id_type, raw)
        except ValidationError as exc:
            self.add_error("id_number", exc)
            return data
        data["id_hash"] = personal_data.id_hash(number, agent_settings.id_hash_key)
        data["id_last4"] = personal_data.last4(number)
        return data


class FinishForm(forms.Form):
    subject = forms.ChoiceField(
        label=_("subject"), choices=Consultation.Subject.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("what was asked and answered"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
        required=False,
    )
    outcome = forms.ChoiceField(
        label=_("outcome"),
        choices=Visit.Outcome.choices,
        widget=forms.RadioSelect,
        initial=Visit.Outcome.RESOLVED,
    )
    follow_up = forms.ChoiceField(
        label=_("follow-up by"),
        choices=[("", "—"), *Visit.FollowUp.choices],
        required=False,
    )
    referred_to = forms.ChoiceField(label=_("referred to"), choices=(), required=False)
    send_to_rating = forms.BooleanField(
        label=_("send the visitor to the rating kiosk"), initial=True, required=False
    )
    token = TokenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["referred_to"].choices = [("", "—")] + [
            (s.code, s.name)
            for s in ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE, active=True)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == Visit.Outcome.ESCALATED and not data.get("follow_up"):
            self.add_error("follow_up", _("Choose how the follow-up happens."))
        if outcome == Visit.Outcome.REFERRED and not data.get("referred_to"):
            self.add_error("referred_to", _("Choose the service the visitor goes to."))
        if outcome == Visit.Outcome.ESCALATED and not (data.get("notes") or "").strip():
            self.add_error("notes", _("Write what must be followed up."))
        return data


ANONYMOUS = "anonymous"
REPLY = "reply"


class RatingForm(forms.Form):
    overall = forms.TypedChoiceField(
        label=_("Overall, how satisfied are you with the service?"),
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("suggestions (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )
    complaint = forms.CharField(
        label=_("complaint (optional): tell us what went wrong and we will follow it up"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        required=False,
    )
    contact = forms.ChoiceField(
        label=_("Do you want an answer to your complaint?"),
        choices=[
            (ANONYMOUS, _("No, keep me anonymous")),
            (REPLY, _("Yes, answer me by e-mail")),
        ],
        initial=ANONYMOUS,
        widget=forms.RadioSelect,
        required=False,
    )
    reply_email = forms.EmailField(
        label=_("your e-mail address for the answer"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    visit = forms.UUIDField(widget=forms.HiddenInput)
    token = TokenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for element in ops.IKM_ELEMENTS:
            self.fields[element.lower()] = forms.TypedChoiceField(
                label=IKM_QUESTIONS[element],
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Please answer this question.")},
            )
        order = [e.lower() for e in ops.IKM_ELEMENTS] + [
            "overall",
            "comment",
            "complaint",
            "contact",
            "reply_email",
            "visit",
            "token",
        ]
        self.order_fields(order)

    def clean_reply_email(self) -> str:
        email = self.cleaned_data["reply_email"]
        return personal_data.validate_email(email) if email else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        wants_reply = data.get("contact") == REPLY and (data.get("complaint") or "").strip()
        if wants_reply and not data.get("reply_email") and "reply_email" not in self.errors:
            self.add_error(
                "reply_email",
                _("Write the e-mail address for the answer, or choose to stay anonymous."),
            )
        # Anonymous unless the visitor chose an answer for a complaint they wrote.
        data["reply_to"] = data.get("reply_email", "") if wants_reply else ""
        return data

    @property
    def element_fields(self) -> list[forms.BoundField]:
        return [self[e.lower()] for e in ops.IKM_ELEMENTS]


COMPLAINT_TIERS = Complaint.Tier.choices

"""Public pages of the satisfaction survey: the rating form behind a signed link, and a complaint
page of its own. Thin: links, storage and complaints live in ``services.ratings``/``complaints``.

Rules:
- For visitors, not staff: no login; a rating needs a link issued by central (signed, single use).
- Works on a phone and on a kiosk tablet with no JavaScript: one column, large radio buttons
  styled as touch targets, native ``<details>`` for the optional complaint.
- Every question is shown in Indonesian with its English translation under it, and every refusal
  page says what happened in both languages, whatever language the browser asks for.
- Refused input stores nothing: an invalid form is shown again with the reason by the field
  (400); a forged (400), expired (410), used or already rated (409) link gets a page explaining it.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from pst_helpdesk_ext import throttle
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import Branch, Complaint, Rating
from pst_helpdesk_ext.services import complaints, ratings
from sync.ops import IKM_ELEMENTS

DONE_SALT = "pst_helpdesk_ext.rating-done"
ELEMENT_FIELD = re.compile(r"^[Uu]\d+$")

# PermenPAN-RB 14/2017's sample questionnaire, in plain words: the question of each element and
# its four answers, from 1 (worst) to 4 (best). For cost, "free" is the best answer: PST is free.
QUESTIONS: dict[str, tuple[Any, tuple[Any, Any, Any, Any]]] = {
    "U1": (
        _("Did the requirements of this service fit what you asked for?"),
        (_("Not suitable"), _("Less suitable"), _("Suitable"), _("Very suitable")),
    ),
    "U2": (
        _("How easy was the procedure of this service?"),
        (_("Not easy"), _("Less easy"), _("Easy"), _("Very easy")),
    ),
    "U3": (
        _("How fast were you served?"),
        (_("Not fast"), _("Less fast"), _("Fast"), _("Very fast")),
    ),
    "U4": (
        _("How fair was the cost of this service?"),
        (_("Very expensive"), _("Fairly expensive"), _("Cheap"), _("Free")),
    ),
    "U5": (
        _("Did you get what the service standard promises (the data or answer you asked for)?"),
        (_("Not suitable"), _("Less suitable"), _("Suitable"), _("Very suitable")),
    ),
    "U6": (
        _("How competent was the officer who served you?"),
        (_("Not competent"), _("Less competent"), _("Competent"), _("Very competent")),
    ),
    "U7": (
        _("How polite and friendly was the officer?"),
        (
            _("Not polite and friendly"),
            _("Less polite and friendly"),
            _("Polite and friendly"),
            _("Very polite and friendly"),
        ),
    ),
    "U8": (
        _("How good were the facilities (room, computers, website)?"),
        (_("Poor"), _("Adequate"), _("Good"), _("Very good")),
    ),
    "U9": (
        _("How are complaints and suggestions handled here?"),
        (
            _("There is no way to complain"),
            _("There is one, but it does not work"),
            _("It works, but not fully"),
            _("Well managed"),
        ),
    ),
}
OVERALL = (_("Not satisfied"), _("Less satisfied"), _("Satisfied"), _("Very satisfied"))


def both_languages(text: Any) -> tuple[str, str]:
    """A lazy string in Indonesian and in English."""
    with translation.override("id"):
        indonesian = str(text)
    with translation.override("en"):
        english = str(text)
    return indonesian, english


class ScoreField(forms.TypedChoiceField):
    def __init__(self, answers: tuple[Any, ...], **kwargs: Any) -> None:
        super().__init__(
            choices=[(str(n), label) for n, label in enumerate(answers, start=1)],
            coerce=int,
            widget=forms.RadioSelect,
            error_messages={
                "required": _("Choose one answer."),
                "invalid_choice": _("%(value)s is not an answer to this question; choose 1 to 4."),
            },
            **kwargs,
        )


class RatingForm(forms.Form):
    overall = ScoreField(OVERALL, label=_("Overall, how satisfied are you with our service?"))
    comment = forms.CharField(
        label=_("Comment or suggestion (optional)"),
        required=False,
        max_length=ratings.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    complaint_text = forms.CharField(
        label=_("Your complaint"),
        required=False,
        max_length=complaints.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    lapor_ref = forms.CharField(
        label=_("SP4N-LAPOR! reference number (optional)"),
        required=False,
        max_length=64,
        help_text=_("Only if you already reported this on lapor.go.id."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code in IKM_ELEMENTS:
            question, answers = QUESTIONS[code]
            self.fields[code] = ScoreField(answers, label=question)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.data:
            unknown = sorted(k for k in self.data if ELEMENT_FIELD.match(k) and k not in QUESTIONS)
            if unknown:
                raise ValidationError(
                    _("%(elements)s is not one of the nine survey questions (U1 to U9).")
                    % {"elements": ", ".join(unknown)}
                )
        if data.get("lapor_ref") and not data.get("complaint_text"):
            self.add_error(
                "complaint_text",
                _("Describe your complaint, or leave the LAPOR! number empty."),
            )
        if data.get("lapor_ref"):
            try:
                data["lapor_ref"] = complaints.clean_lapor_ref(data["lapor_ref"])
            except ValidationError as exc:
                self.add_error("lapor_ref", exc.message_dict["lapor_ref"])
        return data

    def questions(self) -> list[dict[str, Any]]:
        """Each element's field with its question in both languages, for the template."""
        rows = []
        for code in IKM_ELEMENTS:
            question, answers = QUESTIONS[code]
            question_id, question_en = both_languages(question)
            rows.append(
                {
                    "code": code,
                    "field": self[code],
                    "question_id": question_id,
                    "question_en": question_en,
                    "answers": [(str(n), *both_languages(a)) for n, a in enumerate(answers, 1)],
                }
            )
        return rows

    def overall_answers(self) -> list[tuple[str, str, str]]:
        return [(str(n), *both_languages(a)) for n, a in enumerate(OVERALL, 1)]


REFUSAL_STATUS = {"forged": 400, "expired": 410, "used": 409, "rated": 409, "invalid": 400}


def refused(request: HttpRequest, code: str) -> HttpResponse:
    """A clear page in both languages: what is wrong with the link and what the visitor can do."""
    texts = []
    for language in ("id", "en"):
        with translation.override(language):
            texts.append((language, refusal_title(code), refusal_text(code)))
    return render(
        request,
        "pst_helpdesk_ext/ratings/refused.html",
        {"texts": texts, "code": code},
        status=REFUSAL_STATUS.get(code, 400),
    )


def refusal_title(code: str) -> str:
    return {
        "forged": gettext("This rating link is not valid"),
        "expired": gettext("This rating link has expired"),
        "used": gettext("This rating link has already been used"),
        "rated": gettext("This service has already been rated"),
    }.get(code, gettext("This rating cannot be accepted"))


def refusal_text(code: str) -> str:
    if code == "expired":
        return gettext(
            "Links are valid for %(days)s days. Thank you all the same; you can still send us a "
            "complaint or suggestion."
        ) % {"days": pst_settings.RATING_LINK_MAX_AGE_DAYS}
    if code in ("used", "rated"):
        return gettext(
            "Each request can be rated once, and your rating is already saved. Thank you!"
        )
    return gettext(
        "It may have been cut off or changed. Open the link exactly as it is in the message we "
        "sent you; nothing was saved."
    )


@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = ratings.invitation_for_token(token)
    except ratings.RatingRefused as exc:
        return refused(request, exc.code)
    form = RatingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        limited = throttle.hit("rating", request) if form.is_valid() else None
        if limited is not None:
            form.add_error(None, limited.both_languages())
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            complaint = None
            if data.get("complaint_text"):
                complaint = ratings.ComplaintRequest(data["complaint_text"], data["lapor_ref"])
            try:
                rating = ratings.submit_rating(
                    invitation,
                    scores={code: data[code] for code in IKM_ELEMENTS},
                    overall=data["overall"],
                    comment=data["comment"],
                    complaint=complaint,
                )
            except ratings.RatingRefused as exc:
                if exc.code in ("used", "rated"):
                    return refused(request, exc.code)
                form.add_error(None, exc.message)
            else:
                done = signing.dumps({"r": rating.pk}, salt=DONE_SALT)
                return redirect("pst:rate_done", done=done)
            status = 400
        else:
            status = 400
    return render(
        request,
        "pst_helpdesk_ext/ratings/form.html",
        {"form": form, "ticket": invitation.ticket},
        status=status,
    )


def rate_done(request: HttpRequest, done: str) -> HttpResponse:
    """Thanks, and the complaint's ticket and deadline when one was filed."""
    try:
        data = signing.loads(done, salt=DONE_SALT, max_age=3600)
    except signing.BadSignature:
        return refused(request, "forged")
    rating = Rating.objects.select_related("ticket").filter(pk=data.get("r")).first()
    complaint = None
    if rating is not None:
        complaint = (
            Complaint.objects.select_related("ticket", "branch")
            .filter(about=rating.ticket)
            .order_by("-pk")
            .first()
        )
    return render(
        request,
        "pst_helpdesk_ext/ratings/done.html",
        {"rating": rating, "complaint": complaint},
    )


class ComplaintForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"), help_text=_("We answer your complaint there.")
    )
    branch = forms.ModelChoiceField(
        label=_("BPS office"),
        queryset=Branch.objects.filter(active=True),
        required=False,
        to_field_name="code",
        empty_label=_("(not about one office)"),
        error_messages={"invalid_choice": _("Unknown BPS office %(value)s.")},
    )
    text = forms.CharField(
        label=_("Your complaint"),
        max_length=complaints.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    lapor_ref = forms.CharField(
        label=_("SP4N-LAPOR! reference number (optional)"),
        required=False,
        max_length=64,
        help_text=_("Only if you already reported this on lapor.go.id."),
    )

    def clean_lapor_ref(self) -> str:
        try:
            return complaints.clean_lapor_ref(self.cleaned_data["lapor_ref"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["lapor_ref"]) from None


@require_http_methods(["GET", "POST"])
def complain(request: HttpRequest) -> HttpResponse:
    """A complaint on its own (not after a rating)."""
    form = ComplaintForm(request.POST or None)
    status = 400
    if request.method == "POST":
        limited = None
        if form.is_valid():
            # A complaint opens a ticket and helpdesk e-mails the address given.
            limited = throttle.hit("complaint", request, form.cleaned_data["email"])
        if limited is not None:
            form.add_error(None, limited.both_languages())
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                complaint = complaints.file_complaint(
                    text=data["text"],
                    email=data["email"],
                    branch=data["branch"],
                    lapor_ref=data["lapor_ref"],
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            else:
                return render(
                    request, "pst_helpdesk_ext/ratings/done.html", {"complaint": complaint}
                )
        return render(
            request, "pst_helpdesk_ext/ratings/complaint.html", {"form": form}, status=status
        )
    return render(request, "pst_helpdesk_ext/ratings/complaint.html", {"form": form})

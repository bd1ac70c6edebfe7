"""Query-string filters of the PST API, validated like request bodies.

A bad value is a 400 whose body names the field and the value (``{"branch": ["Unknown branch
office 9999."]}``); nothing is silently ignored and nothing reaches the database unvalidated.
The same serializers document the parameters in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request

from pst_helpdesk_ext.dates import INVALID_DAY, validate_day
from pst_helpdesk_ext.models import Branch, Channel, ServiceCategory
from pst_helpdesk_ext.services.queries import (
    TicketFilters,
    VisitFilters,
    branches_for,
    date_order_error,
    ticket_status_choices,
)


class CodeField(serializers.SlugRelatedField):
    """A reference by code whose error names the value and what kind of thing was expected."""

    def __init__(self, *, unknown_message: Any, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.error_messages["does_not_exist"] = unknown_message
        self.error_messages["invalid"] = _("Not a valid code.")

    def to_internal_value(self, data: Any) -> Any:
        # A code is a short printable slug. Refuse anything else before the database sees it:
        # PostgreSQL cannot even compare a text containing NUL (a DataError, i.e. a 500).
        if isinstance(data, str) and not data.isprintable():
            self.fail("invalid")
        return super().to_internal_value(data)


class BranchScopedSerializer(serializers.Serializer):
    """Branch codes resolve only among the branches the requesting user may see."""

    branch = CodeField(
        queryset=Branch.objects.none(),
        unknown_message=_("Unknown branch office {value}."),
        help_text=_("Branch office code, e.g. 1222."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request: Request | None = self.context.get("request")
        if request is not None:
            self.fields["branch"].queryset = branches_for(request.user)
        for field in self.fields.values():
            if isinstance(field, serializers.DateField):
                # Days no record can have are a 400 naming the parameter (``dates``).
                field.validators.append(validate_day)
                field.error_messages["invalid"] = INVALID_DAY


class TicketQuerySerializer(BranchScopedSerializer):
    channel = CodeField(
        queryset=Channel.objects.all(),
        unknown_message=_("Unknown channel {value}."),
        help_text=_("Channel code: walk_in, web, whatsapp, email."),
    )
    category = CodeField(
        queryset=ServiceCategory.objects.all(),
        unknown_message=_("Unknown service or subject {value}."),
        help_text=_("Service or consultation subject code, e.g. konsultasi, data."),
    )
    status = serializers.CharField(
        required=False,
        help_text=_("helpdesk status numbers, comma-separated, e.g. 1,2."),
    )
    date_from = serializers.DateField(
        required=False, help_text=_("First day of ticket creation (YYYY-MM-DD).")
    )
    date_to = serializers.DateField(
        required=False, help_text=_("Last day of ticket creation (YYYY-MM-DD).")
    )

    def validate_status(self, value: str) -> tuple[int, ...]:
        known = {number for number, _label in ticket_status_choices()}
        statuses: list[int] = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if not part.isdigit() or int(part) not in known:
                raise serializers.ValidationError(
                    _("Unknown status %(value)s; use one of %(known)s.")
                    % {"value": part, "known": ", ".join(str(n) for n in sorted(known))}
                )
            statuses.append(int(part))
        return tuple(statuses)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        order_error = date_order_error(attrs.get("date_from"), attrs.get("date_to"))
        if order_error:
            raise serializers.ValidationError({"date_to": order_error})
        return attrs

    def filters(self) -> TicketFilters:
        return TicketFilters.from_data(self.validated_data)


class VisitQuerySerializer(BranchScopedSerializer):
    day = serializers.DateField(required=False, help_text=_("Service day (YYYY-MM-DD)."))

    def filters(self) -> VisitFilters:
        return VisitFilters(
            branch=self.validated_data.get("branch"), day=self.validated_data.get("day")
        )


def query_data(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The filter parameters present in the query string; repeated ones joined by commas."""
    data: dict[str, str] = {}
    for name in names:
        values = [v for v in request.query_params.getlist(name) if v != ""]
        if values:
            data[name] = ",".join(values)
    return data

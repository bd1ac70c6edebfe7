"""Plugin pages inside the helpdesk UI. Thin: queries and rules live in the service layer."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from helpdesk.decorators import helpdesk_staff_member_required

from pst_helpdesk_ext.models import Branch


@helpdesk_staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    branches = Branch.objects.select_related("queue", "sync_state").order_by("code")
    return render(request, "pst_helpdesk_ext/overview.html", {"branches": branches})

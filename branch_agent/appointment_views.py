"""The kiosk's appointment check-in page (``branch_agent.appointments`` holds the rules).

Thin on purpose: the kiosk page links here through ``includes/appointment_checkin.html``; a
refused code is answered on this page with the reason, the code as typed and a way to take a
normal number instead. It speaks the visitor's language like the kiosk (``lang``), back to the
office's default after the ticket.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from branch_agent import appointments, floor_settings, services, throttle

MAX_TYPED = 40


@never_cache
@floor_settings.visitor_language
def kiosk_appointment(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"code": "", "error": "", "token": services.new_form_token()}
    if request.method != "POST":
        return render(request, "branch_agent/kiosk_appointment.html", context)
    typed = request.POST.get("code", "")[:MAX_TYPED]
    token = request.POST.get("token", "")[:64] or None
    context["code"] = typed
    place = throttle.take_issue_place(request)
    if not isinstance(place, throttle.Place):
        repeat = throttle.issued_before(token)
        if repeat is not None:
            return redirect("branch_agent:ticket", visit_id=repeat.pk)  # type: ignore[attr-defined]
        context["error"] = throttle.wait_message(place)
        response = render(request, "branch_agent/kiosk_appointment.html", context, status=429)
        response["Retry-After"] = str(max(1, int(place + 0.999)))
        return response
    try:
        issued = appointments.check_in(typed, token=token)
    except services.Refused as exc:
        # A wrong code keeps its place in the kiosk's limit (no guessing codes by the hundred);
        # a real code refused for a reason does not.
        if exc.code != "unknown_code":
            place.release()
        context.update(error=exc.message, refusal=exc.code)
        return render(request, "branch_agent/kiosk_appointment.html", context, status=400)
    except BaseException:
        place.release()
        raise
    if not issued.created:
        place.release()
    return redirect("branch_agent:ticket", visit_id=issued.visit.pk)

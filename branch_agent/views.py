"""The local web UI: thin views over ``branch_agent.services``; each page is made for its screen.

Rules:
- No view touches the network; every write is one service call (one local transaction).
- Every form carries a per-render token, so a double click or a browser resubmit is answered with
  the first result instead of a second number, entry or call.
- The kiosk, display board and rating kiosk need no login and can do nothing else; staff pages
  check roles (``branch_agent.roles``).
- JSON endpoints polled by screens return only what the screen shows (never personal data).

Size: over 500 lines on purpose: one thin view per page of the local UI; the logic is in
``branch_agent.services`` and the floor modules.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from branch_agent import floor_settings, floor_views, pauses, roles, services, throttle
from branch_agent.conf import agent_settings
from branch_agent.forms import FinishForm, GuestBookForm, IssueForm, RatingForm
from branch_agent.models import (
    GuestBookEntry,
    KnowledgeArticle,
    Rating,
    ServiceCategory,
    TicketUpdate,
    Visit,
)

MIN_RATINGS_SHOWN = 5  # below this many ratings a day, an average would point at a visitor
WAITING_SHOWN = 12  # the desk lists the next visitors; the rest is a count
DIGITS_ID = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")


def _services() -> list[ServiceCategory]:
    return list(
        ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE, active=True).exclude(
            queue_letter=""
        )
    )


def _officer(request: HttpRequest) -> str:
    user = request.user
    return (user.get_full_name() or user.get_username())[:200]


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "branch_agent/home.html",
        {
            "desks": range(1, agent_settings.desks + 1),
            "can_front": roles.has_role(request.user, roles.FRONT_OFFICE),
            "can_desk": roles.has_role(request.user, roles.DESK_OFFICER),
            "can_head": roles.has_role(request.user, roles.BRANCH_HEAD),
            "is_staff_member": roles.is_staff_member(request.user),
            "today": services.day_summary() if roles.is_staff_member(request.user) else None,
            "target_minutes": agent_settings.wait_target_seconds // 60,
            "min_ratings_shown": MIN_RATINGS_SHOWN,
        },
    )


# --- Kiosk -----------------------------------------------------------------------------------


@never_cache
@floor_settings.visitor_language
def kiosk(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = IssueForm(request.POST)
        if form.is_valid():
            token = form.cleaned_data["token"]
            place = throttle.take_issue_place(request)
            if not isinstance(place, throttle.Place):
                repeat = throttle.issued_before(token)
                if repeat is not None:
                    return redirect("branch_agent:ticket", visit_id=repeat.pk)  # type: ignore[attr-defined]
                # Answered here, not redirected: the kiosk shows why and the visitor tries again.
                messages.error(request, throttle.wait_message(place))
                response = render(
                    request,
                    "branch_agent/kiosk.html",
                    {"services": _services(), "token": services.new_form_token()},
                    status=429,
                )
                response["Retry-After"] = str(max(1, int(place + 0.999)))
                return response
            try:
                issued = services.issue_number(form.cleaned_data["service"], token=token)
            except services.Refused as exc:
                place.release()
                messages.error(request, exc.message)
            except BaseException:
                place.release()
                raise
            else:
                if not issued.created:
                    place.release()
                return redirect("branch_agent:ticket", visit_id=issued.visit.pk)
        else:
            messages.error(request, _("Please choose a service again."))
        return redirect("branch_agent:kiosk")
    return render(
        request,
        "branch_agent/kiosk.html",
        {"services": _services(), "token": services.new_form_token()},
    )


@never_cache
@floor_settings.visitor_language
def ticket(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    visit = Visit.objects.select_related("service").filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    ahead = Visit.objects.filter(
        service=visit.service,
        service_day=visit.service_day,
        status=Visit.Status.WAITING,
        number__lt=visit.number,
    ).count()
    context = {"visit": visit, "ahead": ahead, **floor_views.ticket_context(request, visit)}
    return render(request, "branch_agent/ticket.html", context)


# --- Display board ---------------------------------------------------------------------------


def spoken_number(queue_number: str) -> str:
    """'K-007' as an Indonesian voice says it clearly: 'K, nol, nol, tujuh'."""
    letter, _sep, digits = queue_number.partition("-")
    return ", ".join([letter, *(DIGITS_ID[int(d)] for d in digits)])


def board_state() -> dict[str, Any]:
    today = services.now_local().date()
    calling = (
        Visit.objects.select_related("service")
        .filter(service_day=today, status__in=(Visit.Status.CALLED, Visit.Status.SERVING))
        .order_by("desk")
    )
    desks: dict[str, Any] = {str(d): None for d in range(1, agent_settings.desks + 1)}
    paused = pauses.open_pauses()
    calls = []
    for visit in calling:
        entry = {
            "queue_number": visit.queue_number,
            "service": visit.service.name,
            "status": visit.status,
            "call_id": f"{visit.pk}:{visit.call_count}",
            "called_at": visit.last_call_at.isoformat() if visit.last_call_at else None,
        }
        desks[visit.desk] = entry
        if visit.status == Visit.Status.CALLED:
            with override("id"):
                text = _("Queue number %(number)s, please go to desk %(desk)s") % {
                    "number": visit.queue_number,
                    "desk": visit.desk,
                }
                speech = _("Queue number %(number)s, please go to desk %(desk)s") % {
                    "number": spoken_number(visit.queue_number),
                    "desk": visit.desk,
                }
            calls.append({**entry, "desk": visit.desk, "text": text, "speech": speech})
    waiting = {s.code: {"name": s.name, "letter": s.queue_letter, "count": 0} for s in _services()}
    for row in services.waiting_list():
        if row.visit.service_id in waiting:
            waiting[row.visit.service_id]["count"] += 1
    local = services.now_local()
    offset = local.utcoffset()
    return {
        "now": timezone.now().isoformat(),
        # The board shows the branch's clock, whatever time zone the TV itself is set to.
        "utc_offset_minutes": int(offset.total_seconds() // 60) if offset else 0,
        "time_zone": local.tzname() or "",
        "desks": [
            {
                "desk": k,
                "visit": v,
                "paused": paused[k].get_reason_display() if k in paused else None,
            }
            for k, v in desks.items()
        ],
        "calls": calls,
        "waiting": list(waiting.values()),
        "recent": floor_settings.recent_calls(),
        "running_text": floor_settings.load().running_text,
    }


@never_cache
@floor_settings.visitor_language
def board(request: HttpRequest) -> HttpResponse:
    """The TV board, in the office's language whatever the TV's browser is set to (``?lang=en``
    for a board meant to be in English)."""
    chosen = request.LANGUAGE_CODE != settings.LANGUAGE_CODE
    query = "?" + urlencode({"lang": request.LANGUAGE_CODE}) if chosen else ""
    return render(
        request, "branch_agent/board.html", {"state": board_state(), "state_query": query}
    )


@never_cache
@require_GET
@floor_settings.visitor_language
def board_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(board_state())


# --- Rating kiosk ----------------------------------------------------------------------------


@never_cache
def rating_choose(request: HttpRequest) -> HttpResponse:
    """Which desk this rating kiosk stands at (set up once per tablet; then bookmark it)."""
    return render(
        request,
        "branch_agent/rating_choose.html",
        {"desks": range(1, agent_settings.desks + 1)},
    )


@never_cache
def rating(request: HttpRequest, desk: str) -> HttpResponse:
    try:
        desk = services.check_desk(desk)
    except services.Refused:
        raise Http404 from None
    pending = services.rating_pending(desk)
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            visit_id = form.cleaned_data["visit"]
            if pending is None or pending.pk != visit_id:
                if Rating.objects.filter(visit_id=visit_id).exists():
                    # Saved already (a double tap): thank again, never save twice.
                    return redirect("branch_agent:rating_thanks", desk=desk)
                # The desk sent another visitor since this form was shown: nothing is saved
                # under the wrong number; the current visitor gets a fresh form.
                messages.info(
                    request, _("Please answer again: this form is now for the visitor just served.")
                )
                return redirect("branch_agent:rating", desk=desk)
            data = services.RatingData(
                scores={
                    e.upper(): form.cleaned_data[e]
                    for e in ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")
                },
                overall=form.cleaned_data["overall"],
                comment=form.cleaned_data["comment"],
                complaint=form.cleaned_data["complaint"],
                reply_to=form.cleaned_data["reply_to"],
            )
            try:
                services.give_rating(visit_id, data, token=form.cleaned_data["token"])
            except services.Refused as exc:
                messages.error(request, exc.message)
                return redirect("branch_agent:rating", desk=desk)
            return redirect("branch_agent:rating_thanks", desk=desk)
        return render(
            request,
            "branch_agent/rating.html",
            {"form": form, "desk": desk, "visit": pending},
            status=400,
        )
    if pending is None:
        return render(request, "branch_agent/rating_wait.html", {"desk": desk})
    form = RatingForm(initial={"visit": pending.pk, "token": services.new_form_token()})
    return render(
        request, "branch_agent/rating.html", {"form": form, "desk": desk, "visit": pending}
    )


@never_cache
def rating_thanks(request: HttpRequest, desk: str) -> HttpResponse:
    return render(request, "branch_agent/rating_thanks.html", {"desk": desk})


@never_cache
@require_GET
def rating_json(request: HttpRequest, desk: str) -> JsonResponse:
    try:
        desk = services.check_desk(desk)
    except services.Refused:
        raise Http404 from None
    pending = services.rating_pending(desk)
    return JsonResponse(
        {
            "desk": desk,
            "pending": bool(pending),
            "queue_number": pending.queue_number if pending else None,
        }
    )


# --- Front office ----------------------------------------------------------------------------


@roles.role_required(roles.FRONT_OFFICE)
def front(request: HttpRequest) -> HttpResponse:
    today = services.now_local().date()
    visits = list(
        Visit.objects.select_related("service", "guestbook")
        .filter(service_day=today)
        .exclude(status=Visit.Status.NO_SHOW)
        .order_by("issued_at")
    )
    missing = [v for v in visits if not hasattr(v, "guestbook")]
    done = [v for v in visits if hasattr(v, "guestbook")]
    return render(
        request,
        "branch_agent/front.html",
        {"missing": missing, "done": list(reversed(done))[:30]},
    )


@sensitive_post_parameters("id_number")  # never in error reports or logs
@never_cache  # a refused form shows the ID number again: never kept in a cache
@roles.role_required(roles.FRONT_OFFICE)
def guestbook(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    visit = Visit.objects.select_related("service").filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    if request.method != "POST":
        existing = GuestBookEntry.objects.filter(visit=visit).first()
        if existing is not None:
            return render(
                request, "branch_agent/guestbook_done.html", {"visit": visit, "entry": existing}
            )
    if request.method == "POST":
        form = GuestBookForm(request.POST)
        if form.is_valid():
            data = services.GuestBookData(
                **{
                    k: form.cleaned_data[k]
                    for k in (
                        "name",
                        "institution",
                        "email",
                        "phone",
                        "id_type",
                        "id_hash",
                        "id_last4",
                        "purpose",
                        "consent",
                    )
                }
            )
            try:
                entry = services.record_guestbook(
                    visit.pk,
                    data,
                    recorded_by=request.user.get_username(),
                    token=form.cleaned_data["token"],
                )
            except services.Refused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                returning = services.returning_visits(entry.id_hash, exclude=visit)
                messages.success(
                    request,
                    _(
                        "Guest book saved for %(number)s. Please ask the visitor to wait for the"
                        " call."
                    )
                    % {"number": visit.queue_number},
                )
                if returning:
                    messages.info(
                        request,
                        _("Returning visitor: seen %(count)d time(s) before.")
                        % {"count": returning},
                    )
                return redirect("branch_agent:front")
        status = 400
    else:
        form = GuestBookForm(initial={"token": services.new_form_token(), "id_type": "ktp"})
        status = 200
    return render(
        request, "branch_agent/guestbook.html", {"visit": visit, "form": form}, status=status
    )


# --- Desk ------------------------------------------------------------------------------------


@roles.role_required(roles.DESK_OFFICER)
def desk_choose(request: HttpRequest) -> HttpResponse:
    return render(
        request, "branch_agent/desk_choose.html", {"desks": range(1, agent_settings.desks + 1)}
    )


def _desk_or_404(desk: str) -> str:
    try:
        return services.check_desk(desk)
    except services.Refused:
        raise Http404 from None


@roles.role_required(roles.DESK_OFFICER)
def desk(request: HttpRequest, desk: str) -> HttpResponse:
    return _desk_page(request, _desk_or_404(desk))


def _desk_page(
    request: HttpRequest, desk: str, finish_form: FinishForm | None = None, status: int = 200
) -> HttpResponse:
    """The desk page; after a refused "save and finish", with the officer's form as typed."""
    current = services.at_desk(desk)
    chosen = request.session.get(f"desk_services_{desk}") or []
    today = services.now_local().date()
    finished = list(
        Visit.objects.select_related("service")
        .filter(desk=desk, service_day=today, status=Visit.Status.FINISHED)
        .order_by("-finished_at")[:8]
    )
    escalated = list(
        Visit.objects.select_related("service")
        .filter(outcome=Visit.Outcome.ESCALATED)
        .filter(Q(desk=desk) | Q(central_updates__seen=False))
        .distinct()
        .order_by("-finished_at")[:10]
    )
    updates = list(
        TicketUpdate.objects.select_related("visit")
        .filter(visit__in=escalated)
        .order_by("-at")[:20]
    )
    entry = GuestBookEntry.objects.filter(visit=current).first() if current else None
    waiting = services.waiting_list(services=chosen or None)
    context = {
        "desk": desk,
        "current": current,
        "entry": entry,
        "returning": services.returning_visits(entry.id_hash, exclude=current) if entry else 0,
        "waiting": waiting[:WAITING_SHOWN],
        "waiting_more": max(0, len(waiting) - WAITING_SHOWN),
        "services": _services(),
        "chosen": chosen,
        "finished": finished,
        # Anonymous ratings: the desk sees whether its kiosk is in use, never who rated or how.
        "rating_kiosk_busy": services.rating_pending(desk) is not None,
        "updates": updates,
        "token": services.new_form_token(),
        "finish_form": finish_form
        or FinishForm(initial={"token": services.new_form_token(), "send_to_rating": True}),
        "target_minutes": agent_settings.wait_target_seconds // 60,
        # A refused form is shown at .../action/: the language switch returns to the desk.
        "page_path": reverse("branch_agent:desk", args=[desk]),
        **floor_views.desk_context(desk),
    }
    return render(request, "branch_agent/desk.html", context, status=status)


@roles.role_required(roles.DESK_OFFICER)
@require_POST
def desk_action(request: HttpRequest, desk: str) -> HttpResponse:
    desk = _desk_or_404(desk)
    action = request.POST.get("action", "")
    token = request.POST.get("token") or None
    visit_id = request.POST.get("visit") or ""
    back = redirect("branch_agent:desk", desk=desk)
    try:
        if action == "services":
            codes = {s.code for s in _services()}
            request.session[f"desk_services_{desk}"] = [
                c for c in request.POST.getlist("services") if c in codes
            ]
        elif action == "call_next":
            chosen = request.session.get(f"desk_services_{desk}") or None
            visit = services.call_next(desk, services=chosen, token=token)
            if visit is None:
                messages.info(request, _("Nobody is waiting."))
        elif action == "recall":
            services.recall(visit_id, desk, token=token)
        elif action == "no_show":
            visit = services.no_show(visit_id, desk, token=token)
            messages.info(
                request, _("%(number)s marked as not present.") % {"number": visit.queue_number}
            )
        elif action == "start":
            services.start_service(visit_id, desk, officer=_officer(request), token=token)
        elif action == "finish":
            return _finish(request, desk, visit_id)
        elif action == "rate":
            visit = services.send_to_rating(visit_id, desk)
            messages.success(
                request,
                _("The rating kiosk of desk %(desk)s now asks %(number)s.")
                % {"desk": desk, "number": visit.queue_number},
            )
        elif action == "seen":
            services.mark_updates_seen(visit_id)
        else:
            messages.error(request, _("Unknown action %(action)s.") % {"action": action})
    except services.Refused as exc:
        messages.error(request, exc.message)
    return back


def _finish(request: HttpRequest, desk: str, visit_id: str) -> HttpResponse:
    """Save and finish; a refusal shows the desk again with everything the officer entered."""
    form = FinishForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit = services.finish(
                visit_id,
                desk,
                services.Conclusion(
                    subject=data["subject"],
                    notes=data["notes"],
                    outcome=data["outcome"],
                    follow_up=data["follow_up"],
                    referred_to=data["referred_to"],
                    send_to_rating=data["send_to_rating"],
                ),
                officer=_officer(request),
                token=data["token"],
            )
        except services.Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("%(number)s finished.") % {"number": visit.queue_number})
            return redirect("branch_agent:desk", desk=desk)
    errors = "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}".lstrip(": ")
        for f, e in form.errors.items()
    )
    messages.error(request, _("Not saved: %(errors)s") % {"errors": errors})
    return _desk_page(request, desk, finish_form=form, status=400)


@roles.role_required(roles.DESK_OFFICER)
@never_cache
@require_GET
def desk_json(request: HttpRequest, desk: str) -> JsonResponse:
    desk = _desk_or_404(desk)
    chosen = request.session.get(f"desk_services_{desk}") or None
    current = services.at_desk(desk)
    waiting = services.waiting_list(services=chosen)
    return JsonResponse(
        {
            "desk": desk,
            "current": current.queue_number if current else None,
            "target_seconds": agent_settings.wait_target_seconds,
            "waiting_total": len(waiting),
            "waiting": [
                {
                    "queue_number": w.visit.queue_number,
                    "service": w.visit.service.name,
                    "wait_seconds": w.wait_seconds,
                    "level": w.level,
                    "guestbook": w.has_guestbook,
                }
                for w in waiting[:WAITING_SHOWN]
            ],
        }
    )


# --- Sync status, search ---------------------------------------------------------------------


@roles.role_required()
def sync_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not roles.has_role(request.user, roles.BRANCH_ADMIN):
            return render(
                request,
                "branch_agent/forbidden.html",
                {"needed": roles.ROLES[roles.BRANCH_ADMIN]},
                status=403,
            )
        if request.POST.get("dismiss") == "central_lost":
            services.dismiss_central_lost()
        else:
            services.dismiss_rejected(request.POST.get("op_id", ""))
        return redirect("branch_agent:sync")
    view = services.sync_view(include_dismissed=True)
    updates = TicketUpdate.objects.select_related("visit").order_by("-at")[:30]
    return render(
        request,
        "branch_agent/sync.html",
        {
            "view": view,
            "updates": updates,
            "can_dismiss": roles.has_role(request.user, roles.BRANCH_ADMIN),
        },
    )


@roles.role_required()
@never_cache
@require_GET
def sync_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(services.sync_view().as_json())


@roles.role_required()
def search(request: HttpRequest) -> HttpResponse:
    query = " ".join(request.GET.get("q", "").split())[:200]
    articles: list[KnowledgeArticle] = []
    categories: list[ServiceCategory] = []
    if query:
        words = query.split()[:8]
        article_q = KnowledgeArticle.objects.select_related("category")
        category_q = ServiceCategory.objects.filter(active=True)
        for word in words:
            article_q = article_q.filter(
                Q(title__icontains=word)
                | Q(question__icontains=word)
                | Q(answer__icontains=word)
                | Q(category__title__icontains=word)
                | Q(category__name__icontains=word)
            )
            category_q = category_q.filter(
                Q(name_id__icontains=word) | Q(name_en__icontains=word) | Q(code__icontains=word)
            )
        articles = list(article_q[:50])
        categories = list(category_q[:20])
    return render(
        request,
        "branch_agent/search.html",
        {
            "query": query,
            "articles": articles,
            "categories": categories,
            "article_count": KnowledgeArticle.objects.count(),
        },
    )


FAVICON = Path(__file__).parent / "static" / "branch_agent" / "favicon.svg"


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "branch_agent/csrf_failure.html", status=403)

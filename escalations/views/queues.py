"""My queue and the team queue: most urgent first, filtered, paged without counting."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from .. import forms, selectors
from .base import staff_page

FILTER_FIELDS = ("q", "status", "priority", "level", "team", "assigned")


def _queue(request: HttpRequest, scope: str) -> HttpResponse:
    user = request.user
    levels = selectors.visible_levels(user)
    form = forms.QueueFilterForm(request.GET or None, levels=levels, teams=selectors.filter_teams(user))
    data = {}
    if form.is_bound:
        form.is_valid()  # an invalid filter is reported beside it; the valid ones still apply
        data = form.cleaned_data
    filters = selectors.QueueFilters(
        q=data.get("q") or "", status=data.get("status") or "", priority=data.get("priority"),
        level_id=data["level"].pk if data.get("level") else None,
        team_id=data["team"].pk if data.get("team") else None, assigned=data.get("assigned") or "",
    )
    page = selectors.queue_page(user, scope=scope, filters=filters, now=timezone.now(), cursor=data.get("cursor"))
    kept = {k: request.GET[k] for k in FILTER_FIELDS if request.GET.get(k) and k in data}
    context = {
        "scope": scope, "nav": scope, "form": form, "page": page, "filtered": bool(kept),
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None,
        "first_url": f"?{urlencode(kept)}" if kept else "?",
        "show_levels": len(levels) > 1,
        "read_only": selectors.is_read_only(user),
    }
    if scope == "mine":
        context["awaiting"] = selectors.awaiting_acceptance(user)
        context["approvals"] = selectors.approvals_to_decide(user)
    return render(request, "escalations/queue.html", context, status=400 if form.errors else 200)


@require_GET
@staff_page
def my_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, "mine")


@require_GET
@staff_page
def team_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, "team")

"""My queue and the team queue: most urgent first, filtered, paged without counting."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from escalations import selectors
from escalations.models import Team
from escalations.views.base import staff_page
from escalations.views.forms import QueueFilterForm

FILTER_FIELDS = ("q", "status", "priority", "level", "team", "assigned")
TRAIL_LIMIT = 30  # pages remembered for "Previous page"; further back, "First page" remains
FIRST = "-"  # the first page on the trail


def _pager(kept: dict, cursor: str, back: str, next_cursor: str | None) -> dict:
    """Links to the next and previous pages. The next page's link carries this page's
    cursor on a trail of the ones before it; the previous page's link pops the trail."""
    trail = back.split("~") if back else []
    if any(c != FIRST and selectors.parse_cursor(c) is None for c in trail):
        trail = []  # a damaged trail: no "Previous page", nothing else changes
    links = {"next_url": None, "previous_url": None}
    if next_cursor:
        onward = (trail + [cursor or FIRST])[-TRAIL_LIMIT:]
        links["next_url"] = f"?{urlencode({**kept, 'cursor': next_cursor, 'back': '~'.join(onward)})}"
    if cursor and trail:
        previous = dict(kept)
        if trail[-1] != FIRST:
            previous.update(cursor=trail[-1], back="~".join(trail[:-1]))
        links["previous_url"] = f"?{urlencode(previous)}"
    return links


def _queue(request: HttpRequest, scope: str) -> HttpResponse:
    user = request.user
    levels, teams = selectors.visible_levels(user), list(selectors.filter_teams(user))
    form = QueueFilterForm(request.GET or None, levels=levels, teams=Team.objects.filter(pk__in=[t.pk for t in teams]))
    data = {}
    if form.is_bound:
        form.is_valid()  # an invalid filter is reported beside it; the valid ones still apply
        data = form.cleaned_data
    filters = selectors.QueueFilters(
        q=data.get("q") or "",
        status=data.get("status") or "",
        priority=data.get("priority"),
        level_id=data["level"].pk if data.get("level") else None,
        team_id=data["team"].pk if data.get("team") else None,
        assigned=data.get("assigned") or "",
    )
    page = selectors.queue_page(user, scope=scope, filters=filters, now=timezone.now(), cursor=data.get("cursor"))
    kept = {k: request.GET[k] for k in FILTER_FIELDS if request.GET.get(k) and k in data}
    context = {
        "scope": scope,
        "nav": scope,
        "form": form,
        "controls": _controls(form, levels, teams),
        "page": page,
        "filtered": bool(kept),
        **_pager(kept, data.get("cursor") or "", data.get("back") or "", page.next_cursor),
        "first_url": f"?{urlencode(kept)}" if kept else "?",
        "show_levels": len(levels) > 1,
        "read_only": selectors.is_read_only(user),
    }
    if scope == "mine":
        context["awaiting"] = selectors.awaiting_acceptance(user)
        context["approvals"] = selectors.approvals_to_decide(user)
    return render(request, "escalations/queue.html", context, status=400 if form.errors else 200)


def _controls(form: QueueFilterForm, levels, teams) -> list[dict]:
    """The filter controls as plain data. Django's widget templates render each option
    through a template of its own, which cost more than the queue's query; the queue
    template renders these few controls itself."""
    raw = form.data if form.is_bound else {}
    choices = {
        "level": [("", "My level" if len(levels) > 1 else "")] + [(lv.code, f"{lv.code} {lv.name}") for lv in levels],
        "team": [("", "Any team")] + [(str(t.pk), str(t)) for t in teams],
    }
    controls = []
    for name in FILTER_FIELDS:
        bound = form[name]
        current = str(raw.get(name, "") or "")
        options = choices.get(name)
        if options is None:
            options = [] if name == "q" else [(str(v), str(label)) for v, label in bound.field.choices]
        controls.append(
            {
                "name": name,
                "id": bound.auto_id,
                "label": bound.label,
                "value": current,
                "errors": bound.errors if form.is_bound else [],
                "options": [(v, label, v == current) for v, label in options],
            }
        )
    return controls


@require_GET
@staff_page
def my_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, "mine")


@require_GET
@staff_page
def team_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, "team")


@require_GET
@staff_page
def collab_queue(request: HttpRequest) -> HttpResponse:
    """Cases the user was invited to help on (swarming): they add notes, the owner stays accountable."""
    rows = selectors.collaborating_rows(request.user, timezone.now())
    return render(request, "escalations/collab_queue.html", {"nav": "collab", "rows": rows})


@require_GET
@staff_page
def following_queue(request: HttpRequest) -> HttpResponse:
    """Cases the user follows: read access after they moved on, with level, owner and SLA state."""
    rows = selectors.following_rows(request.user, timezone.now())
    return render(request, "escalations/following_queue.html", {"nav": "following", "rows": rows})

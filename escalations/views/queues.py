"""My queue and the team queue: most urgent first, filtered, paged without counting."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from escalations import selectors
from escalations.models import Team
from escalations.views.base import staff_page
from escalations.views.forms import QueueFilterForm
from escalations.workflow import preferences

FILTER_FIELDS = ("q", "status", "priority", "level", "team", "assigned")
TRAIL_LIMIT = 30  # pages remembered for "Previous page"; further back, "First page" remains
FIRST = "-"  # the first page on the trail
CLEAR = "clear=1"  # "no filter", said explicitly: a bare queue URL applies the filter last used
LIVE_URL = {
    "mine": "my-queue-live",
    "team": "team-queue-live",
    "collab": "collab-queue-live",
    "following": "following-queue-live",
}


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
    if not request.GET:
        last = selectors.last_used_query(user, scope)
        if last:  # the filter last used on this queue, kept per user
            return redirect(f"{request.path}?{last}")
    mark = selectors.case_mark()
    levels, teams = selectors.visible_levels(user), list(selectors.filter_teams(user))
    form = QueueFilterForm(request.GET or None, levels=levels, teams=Team.objects.filter(pk__in=[t.pk for t in teams]))
    data = {}
    if form.is_bound:
        form.is_valid()  # an invalid filter is reported beside it; the valid ones still apply
        data = form.cleaned_data
    filters = queue_filters(data)
    page = selectors.queue_page(user, scope=scope, filters=filters, now=timezone.now(), cursor=data.get("cursor"))
    kept = {k: request.GET[k] for k in FILTER_FIELDS if request.GET.get(k) and k in data}
    preferences.filter_remember(user, scope, urlencode(kept))
    context = {
        "scope": scope,
        "nav": scope,
        "form": form,
        "controls": _controls(form, levels, teams),
        "page": page,
        "filtered": bool(kept),
        **_pager(kept, data.get("cursor") or "", data.get("back") or "", page.next_cursor),
        "first_url": f"?{urlencode(kept)}" if kept else f"?{CLEAR}",
        "show_levels": len(levels) > 1,
        "read_only": selectors.is_read_only(user),
        **tools(request, scope, {**kept, **({"cursor": data["cursor"]} if data.get("cursor") else {})}, mark),
        "current_query": urlencode(kept),
        "clear_url": f"?{CLEAR}",
        "saved_filters": selectors.saved_filters(user, scope),
    }
    if scope == "mine":
        context["awaiting"] = selectors.awaiting_acceptance(user)
        context["approvals"] = selectors.approvals_to_decide(user)
    return render(request, "escalations/queue.html", context, status=400 if form.errors else 200)


def tools(request: HttpRequest, scope: str, query: dict, mark: int) -> dict:
    """What the live updates and the bulk bar need on a queue page (``mark``: the newest
    case number, read before the rows, so no case opened meanwhile goes uncounted)."""
    live = reverse(LIVE_URL[scope]) + "?" + urlencode({**query, "mark": mark})
    writer = not selectors.is_read_only(request.user)
    return {
        "live_url": live,
        "live_seconds": settings.QUEUE_LIVE_SECONDS,
        "bulk": writer,
        "assignees": selectors.assignable_colleagues(request.user) if writer else [],
        "back_url": request.get_full_path(),
    }


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


def filter_form(form_class, user, data):
    """The queue filter form (or a form built on it) with the levels and teams the user sees."""
    levels = selectors.visible_levels(user)
    teams = Team.objects.filter(pk__in=selectors.filter_teams(user).values("pk"))
    return form_class(data, levels=levels, teams=teams)


def queue_filters(data: dict) -> selectors.QueueFilters:
    """The filters of a (validated) queue filter form, for the queue selectors."""
    return selectors.QueueFilters(
        q=data.get("q") or "",
        status=data.get("status") or "",
        priority=data.get("priority"),
        level_id=data["level"].pk if data.get("level") else None,
        team_id=data["team"].pk if data.get("team") else None,
        assigned=data.get("assigned") or "",
    )


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
    mark = selectors.case_mark()
    rows = selectors.collaborating_rows(request.user, timezone.now())
    context = {"nav": "collab", "rows": rows, **tools(request, "collab", {}, mark)}
    return render(request, "escalations/collab_queue.html", context)


@require_GET
@staff_page
def following_queue(request: HttpRequest) -> HttpResponse:
    """Cases the user follows: read access after they moved on, with level, owner and SLA state."""
    mark = selectors.case_mark()
    rows = selectors.following_rows(request.user, timezone.now())
    context = {"nav": "following", "rows": rows, **tools(request, "following", {}, mark)}
    return render(request, "escalations/following_queue.html", context)

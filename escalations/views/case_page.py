"""The case page: summary, the SLA clock in words, the timeline, knowledge, and a form
for every action the user may take. A refused POST re-renders this page with the
user's form bound, so nothing they typed is lost."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from escalations import selectors
from escalations.actions import catalogue, forms
from escalations.domain import authority, clock
from escalations.intelligence import routing
from escalations.models import Case
from escalations.selectors import swarming
from escalations.views.base import staff_page
from escalations.workflow import major


@dataclass
class Panel:
    name: str
    title: str
    button: str
    form: forms.DeskForm
    open: bool = False


@dataclass
class Failure:
    """A refused submission to show on the page: which form, the message, and, for a
    stale form, what changed since the version it carried."""

    form_key: str
    form: forms.DeskForm
    message: str
    conflict: bool = False
    changes: list | None = None
    draft: bool = False  # not refused: the form comes back to be finished (a canned reply inserted)


def build_panels(case: Case, user, available: set[str], failure: Failure | None) -> tuple[list[Panel], list[Panel]]:
    """Buttons and form panels for the available actions; a failed form replaces its
    fresh twin (and is shown even when the action is no longer available)."""
    buttons, panels = [], []
    for action in catalogue.case_page_actions():
        name = action.slug
        failed = failure is not None and failure.form_key == name
        if name not in available and not failed:
            continue
        form = failure.form if failed else action.make_form(case, user, prefix=name)
        panel = Panel(name, action.name, action.button, form, open=failed)
        (buttons if action.one_click and not failed else panels).append(panel)
    return buttons, panels


def decision_forms(approvals: list, user, failure: Failure | None) -> list[tuple]:
    """Per pending request: the decision form for who may decide it, and the withdraw
    form for the person who requested it (a failed one comes back bound)."""
    out = []
    for approval in approvals:
        key, wkey = f"decide{approval.pk}", f"withdraw{approval.pk}"
        if failure is not None and failure.form_key == key:
            decide = failure.form
        elif selectors.decidable(approval, user):
            decide = catalogue.ACTIONS["decide"].make_form(None, user, prefix=key)
        else:
            decide = None
        if failure is not None and failure.form_key == wkey:
            withdraw = failure.form
        elif approval.requested_by_id == user.pk and not selectors.is_read_only(user):
            withdraw = catalogue.ACTIONS["withdraw-approval"].make_form(None, user, prefix=wkey)
        else:
            withdraw = None
        out.append((approval, decide, withdraw))
    return out


def timeline_newest_first(request: HttpRequest) -> bool:
    """The timeline's order: ``?timeline=newest`` or ``=oldest`` switches it and the choice is
    remembered for the session; anything else keeps the last choice (oldest first at first)."""
    asked = request.GET.get("timeline")
    if asked in ("newest", "oldest"):
        request.session["timeline_newest"] = asked == "newest"
    return bool(request.session.get("timeline_newest", False))


def render_case(request: HttpRequest, case: Case, failure: Failure | None = None, status: int = 200) -> HttpResponse:
    user, now = request.user, timezone.now()
    available = catalogue.available(case, user)
    buttons, panels = build_panels(case, user, available, failure)
    records = selectors.case_records(case)
    link_form = failure.form if failure and failure.form_key == "link" else forms.ArticleLinkForm(prefix="link")
    timeline, newest_first = catalogue.name_entries(records.timeline), timeline_newest_first(request)
    context = {
        "case": case,
        "now": now,
        "clock_lines": clock.describe(case, now),
        "time_left": selectors.sla_text(case, now),
        "timeline": timeline[::-1] if newest_first else timeline,
        "newest_first": newest_first,
        "buttons": buttons,
        "panels": panels,
        "failure": failure,
        "decisions": decision_forms(records.pending_approvals, user, failure),
        "pending_escalation": records.pending_escalation,
        "linked_articles": selectors.linked_articles(case),
        "suggested_articles": selectors.suggested_articles(case),
        "can_link": "link-article" in available,
        "can_review": "review" in available,
        "link_form": link_form,
        "read_only": selectors.is_read_only(user),
        "follow_only": not selectors.is_read_only(user) and not authority.can_note(case, user),
        "review": getattr(case, "review", None) if case.status == "closed" or case.major_declared_at else None,
        "routing": routing.explain(case),
        "collaborators": list(swarming.collaborators_of(case)),
        "review_required": major.review_required(case),
    }
    return render(request, "escalations/case_detail.html", context, status=status)


@require_GET
@staff_page
def case_similar_resolved(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolved cases like this one. The case page fetches it after loading (the search is
    the page's most expensive query, and the page should not wait for it); without
    JavaScript it is a page of its own, linked from the case."""
    case = selectors.case_for(request.user, pk)
    fragment = request.headers.get("X-Requested-With") == "fetch"
    return render(
        request,
        "escalations/_similar_resolved.html" if fragment else "escalations/case_similar.html",
        {"case": case, "similar_cases": selectors.similar_resolved_cases(case, request.user)},
    )


@require_GET
@staff_page
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_case(request, selectors.case_for(request.user, pk))

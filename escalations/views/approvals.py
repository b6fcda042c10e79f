"""The approvals list: every pending request the user may decide, with the case's summary
and its latest handoff beside it, decided in place through the catalogue's ``decide``
action (the same form and workflow function as on the case page)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from escalations import selectors
from escalations.actions import catalogue
from escalations.selectors.approvals import latest_handoffs
from escalations.views.base import staff_page

LIMIT = 100


@require_GET
@staff_page
def approvals_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    pending = selectors.approvals_to_decide(user, limit=LIMIT)
    handoffs = latest_handoffs([a.case_id for a in pending])
    decide = catalogue.ACTIONS["decide"]
    rows = [
        {
            "approval": a,
            "handoff": handoffs.get(a.case_id),
            "form": decide.make_form(None, user, prefix=f"decide{a.pk}") if selectors.decidable(a, user) else None,
        }
        for a in pending
    ]
    return render(request, "escalations/approvals.html", {"nav": "approvals", "rows": rows, "limit": LIMIT})

"""Initial identification: the new-case form, with similar open cases shown before the
case is created (live with JavaScript, or by the "Check for similar cases" button)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from escalations import selectors, workflow
from escalations.actions import catalogue, forms
from escalations.models import Impact, Priority, Urgency, priority_for
from escalations.views.base import READ_ONLY, forbidden, staff_page, status_for
from escalations.views.forms import SimilarQueryForm


def priority_matrix() -> dict[str, str]:
    """impact-urgency -> priority label, for the live preview (the workflow sets the real one)."""
    return {f"{i}-{u}": Priority(priority_for(i, u)).label for i in Impact.values for u in Urgency.values}


def _similar(user, data) -> list:
    query = SimilarQueryForm(data)
    if not query.is_valid():
        return []
    d = query.cleaned_data
    if not (d["title"] or d["description"]):
        return []
    return selectors.similar_open_cases(user, title=d["title"], description=d["description"], category_id=d["category"])


def _page(request: HttpRequest, form: forms.NewCaseForm, status: int = 200, similar=None, checked=False):
    priority = None
    if (
        form.is_bound
        and not form.errors.get("impact")
        and not form.errors.get("urgency")
        and hasattr(form, "cleaned_data")
    ):
        impact, urgency = form.cleaned_data.get("impact"), form.cleaned_data.get("urgency")
        if impact and urgency:
            priority = Priority(priority_for(impact, urgency)).label
    return render(
        request,
        "escalations/case_new.html",
        {
            "nav": "new",
            "form": form,
            "similar": similar or [],
            "checked": checked,
            "priority": priority,
            "matrix": priority_matrix(),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@staff_page
def case_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("escalations.work_case"):
        return forbidden(request, READ_ONLY)
    if request.method == "GET":
        return _page(request, forms.NewCaseForm())
    form = forms.NewCaseForm(request.POST)
    if "check" in request.POST:  # the no-JavaScript way to see similar cases first
        form.is_valid()
        return _page(request, form, similar=_similar(request.user, request.POST), checked=True)
    if not form.is_valid():
        return _page(request, form, status=400, similar=_similar(request.user, request.POST))
    try:
        case = catalogue.ACTIONS["open"].perform(None, request.user, form)
    except workflow.WorkflowError as exc:
        form.add_workflow_error(exc)
        return _page(request, form, status=status_for(exc))
    messages.success(
        request, f"Case #{case.pk} opened at {case.level.code} with priority {case.get_priority_display()}."
    )
    return redirect("case-detail", pk=case.pk)


@require_GET
@staff_page
def case_similar(request: HttpRequest) -> HttpResponse:
    """The fragment the intake page fetches while the agent types."""
    return render(
        request, "escalations/_similar_cases.html", {"similar": _similar(request.user, request.GET), "checked": True}
    )

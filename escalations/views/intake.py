"""Initial identification: the new-case form, with similar open cases shown before the
case is created (live with JavaScript, or by the "Check for similar cases" button)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from escalations import selectors, workflow
from escalations.actions import catalogue, forms
from escalations.intelligence.text import predict
from escalations.models import Category, Impact, Level, Priority, Urgency, priority_for
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


# The impact and urgency "Use the suggestion" sets for a suggested priority (priority_for's diagonal).
IMPACT_URGENCY = {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (3, 3)}


def _suggestion(data) -> dict | None:
    """The text model's suggestion for what is typed so far, ready to show (None: no model,
    no words, or the minimum-data guard left every target out)."""
    query = SimilarQueryForm(data)
    if not query.is_valid():
        return None
    d = query.cleaned_data
    _model, preds = predict.suggest(d["title"], d["description"])
    if not preds:
        return None
    out: dict = {}
    cat = preds.get("category")
    if cat is not None:
        names = dict(Category.objects.filter(pk__in=[c for c, _p in cat.ranked[:3]]).values_list("pk", "name"))
        if cat.label in names:
            out["category"] = {
                "id": cat.label,
                "name": names[cat.label],
                "pct": round(100 * cat.confidence),
                "words": cat.words,
                "others": [f"{names[c]} {round(100 * p)} %" for c, p in cat.ranked[1:3] if c in names],
            }
    pri = preds.get("priority")
    if pri is not None and pri.label in IMPACT_URGENCY:
        impact, urgency = IMPACT_URGENCY[pri.label]
        out["priority"] = {
            "label": Priority(pri.label).label,
            "pct": round(100 * pri.confidence),
            "words": pri.words,
            "impact": impact,
            "urgency": urgency,
        }
    lvl = preds.get("level")
    level = Level.objects.filter(pk=lvl.label).first() if lvl is not None else None
    if level is not None:
        out["level"] = {"code": level.code, "name": level.name, "pct": round(100 * lvl.confidence), "words": lvl.words}
    return out or None


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
    suggestion = _suggestion(form.data) if form.is_bound else None
    if suggestion and checked:  # shown on this page: the choice the agent makes next is its verdict
        form.data = form.data.copy()
        form.data["suggestion_shown"] = "1"
    return render(
        request,
        "escalations/case_new.html",
        {
            "nav": "new",
            "form": form,
            "suggestion": suggestion,
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


@require_GET
@staff_page
def case_suggest(request: HttpRequest) -> HttpResponse:
    """The text model's suggestion, fetched by the intake page while the agent types."""
    return render(
        request, "escalations/_text_suggestion.html", {"suggestion": _suggestion(request.GET), "checked": True}
    )

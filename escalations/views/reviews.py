"""The post-escalation review of a closed, escalated case."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from escalations import selectors, workflow
from escalations.actions import catalogue, forms
from escalations.domain import authority
from escalations.models import Review
from escalations.views.base import forbidden, staff_page, status_for


@require_http_methods(["GET", "POST"])
@staff_page
def case_review(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_for(request.user, pk)
    review = Review.objects.filter(case=case).first()
    if not authority.can_review(case, request.user):
        return forbidden(request, "Only seniors, experts, executives and managers write reviews.")
    if request.method == "GET":
        initial = {}
        if review is not None:
            warranted = {True: "yes", False: "no"}.get(review.escalation_warranted, "")
            initial = {f: getattr(review, f) for f in ("root_cause", "went_well", "went_badly", "prevention_actions")}
            initial["escalation_warranted"] = warranted
        return _page(request, case, review, forms.ReviewForm(initial=initial))
    form = forms.ReviewForm(request.POST)
    if not form.is_valid():
        return _page(request, case, review, form, status=400)
    try:
        catalogue.ACTIONS["review"].perform(case, request.user, form)
    except workflow.WorkflowError as exc:
        form.add_workflow_error(exc)
        return _page(request, case, review, form, status=status_for(exc))
    done = form.cleaned_data["complete"]
    messages.success(request, "Review completed." if done else "Review saved as a draft.")
    return redirect("case-detail", pk=case.pk)


def _page(request, case, review, form, status=200) -> HttpResponse:
    return render(
        request,
        "escalations/case_review.html",
        {"case": case, "review": review, "form": form, "eligible": selectors.can_review(case, request.user)},
        status=status,
    )

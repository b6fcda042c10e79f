"""POST endpoints for case actions and approval decisions: parse with the action's form,
call the workflow, redirect on success; on refusal re-render the case page with the
typed input, the message beside the field, and for a stale form what changed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalations import selectors, workflow
from escalations.actions import catalogue, forms
from escalations.models import ApprovalRequest, Case
from escalations.views.base import status_for, writer_only
from escalations.views.case_page import Failure, render_case


def refused(
    request: HttpRequest, case: Case, key: str, form: forms.DeskForm, exc: workflow.WorkflowError | None
) -> HttpResponse:
    """Re-render the case page with the submitted form kept and the refusal explained."""
    if exc is None:  # the form itself was invalid
        return render_case(request, case, Failure(key, form, "Please correct the marked fields."), status=400)
    try:
        case = selectors.case_for(request.user, case.pk)  # the current state, after someone else's change
    except Http404:
        return out_of_sight(request, case.pk, form)
    if isinstance(exc, workflow.Conflict):
        seen = form.cleaned_data.get("version") if hasattr(form, "cleaned_data") else None
        data = request.POST.copy()
        data[f"{key}-version"] = str(case.version)  # resubmitting after reading the changes is deliberate
        form = type(form)(data, request.FILES, prefix=form.prefix, **_extra(key, case, request.user))
        failure = Failure(key, form, exc.message, conflict=True, changes=selectors.changes_since(case, seen))
    else:
        form.add_workflow_error(exc)
        failure = Failure(key, form, exc.message)
    return render_case(request, case, failure, status=status_for(exc))


def out_of_sight(request: HttpRequest, pk: int, form: forms.DeskForm) -> HttpResponse:
    """The case is no longer one the user may see (it moved above their level, most
    likely, while the form was open): nothing was changed, and what they typed comes back."""
    typed = []
    for name, field in form.fields.items():
        value = form.data.get(form.add_prefix(name), "")
        if name != "version" and str(value).strip():
            typed.append((field.label, value))
    return render(request, "escalations/case_moved.html", {"case_id": pk, "typed": typed}, status=404)


def done(request: HttpRequest, case: Case, message: str) -> HttpResponse:
    """Back to the case page, or, when the case has just moved above the user's level
    (an escalation), to their queue with a word about where it went."""
    if selectors.visible_cases(request.user).filter(pk=case.pk).exists():
        messages.success(request, message)
        return redirect("case-detail", pk=case.pk)
    level = Case.objects.filter(pk=case.pk).values_list("level__code", flat=True).first()
    messages.success(request, f"{message} Case #{case.pk} is now at {level}, above your level, so it left your queue.")
    return redirect("home")


def _extra(key: str, case: Case, user) -> dict:
    action = catalogue.ACTIONS.get(key)
    return action.choices(case, user) if action and action.choices else {}


@require_POST
@writer_only
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    spec = catalogue.ACTIONS.get(action)
    if spec is None or spec not in catalogue.case_page_actions():
        raise Http404("No such action.")
    try:
        case = selectors.case_for(request.user, pk)
    except Http404:
        return out_of_sight(request, pk, spec.form(request.POST, prefix=action))
    form = spec.make_form(case, request.user, request.POST, prefix=action, files=request.FILES)
    if not form.is_valid():
        return refused(request, case, action, form, None)
    try:
        result = spec.perform(case, request.user, form)
    except workflow.WorkflowError as exc:
        return refused(request, case, action, form, exc)
    return done(request, case, spec.message(result))


def _approval_action(request: HttpRequest, pk: int, slug: str, prefix: str) -> HttpResponse:
    approval = ApprovalRequest.objects.filter(pk=pk).first()
    if approval is None:
        raise Http404("No such approval request.")
    case = selectors.case_for(request.user, approval.case_id)
    key = f"{prefix}{approval.pk}"
    spec = catalogue.ACTIONS[slug]
    form = spec.make_form(None, request.user, request.POST, prefix=key)
    if not form.is_valid():
        return refused(request, case, key, form, None)
    try:
        result = spec.perform(approval, request.user, form)
    except workflow.WorkflowError as exc:
        return refused(request, case, key, form, exc)
    if request.POST.get("back") == "approvals":  # decided from the approvals list: back to it
        messages.success(request, f"Case #{case.pk}: {spec.message(result)}")
        return redirect("approvals")
    return done(request, case, spec.message(result))


@require_POST
@writer_only
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    return _approval_action(request, pk, "decide", "decide")


@require_POST
@writer_only
def approval_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester takes back a pending request (with a reason), e.g. to resolve the case."""
    return _approval_action(request, pk, "withdraw-approval", "withdraw")

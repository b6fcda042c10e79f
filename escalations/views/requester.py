"""The requester's signed, expiring link: confirm (closes) or reject (reopens) a
resolution without an account."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from escalations import workflow
from escalations.domain import requester_links as requester
from escalations.models import Case, CaseStatus
from escalations.views.forms import RequesterAnswerForm


@require_http_methods(["GET", "POST"])
def requester_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The requester confirms (closes) or rejects (reopens) a resolution, without an account."""
    try:
        data = requester.read_token(token)
        case = Case.objects.get(pk=data["case"])
    except signing.SignatureExpired:
        return render(
            request,
            "escalations/requester_confirm.html",
            {"error": "This link has expired. Reply to the e-mail and we will help."},
            status=410,
        )
    except (signing.BadSignature, Case.DoesNotExist, KeyError, TypeError, ValueError):
        return render(request, "escalations/requester_confirm.html", {"error": "This link is not valid."}, status=404)
    stale = (
        case.status != CaseStatus.RESOLVED
        or case.resolved_at is None
        or case.resolved_at.isoformat() != data.get("resolved_at")
    )
    context = {"case": case, "stale": stale}
    if request.method == "POST" and not stale:
        form = RequesterAnswerForm(request.POST)
        context["reason"] = request.POST.get("reason", "")  # kept if the answer is refused
        if not form.is_valid():
            context["error"] = " ".join(m for errors in form.errors.values() for m in errors)
            return render(request, "escalations/requester_confirm.html", context, status=400)
        try:
            if form.cleaned_data["answer"] == "confirm":
                workflow.case_close(
                    case_id=case.pk, actor=workflow.system_actor(), reason="Requester confirmed the resolution"
                )
                context["done"] = "Thank you: the case is closed."
            else:
                workflow.case_reopen(
                    case_id=case.pk,
                    actor=workflow.system_actor(),
                    reason=form.cleaned_data["reason"] or "Requester rejected the resolution",
                )
                context["done"] = "We reopened the case and will be in touch."
        except workflow.WorkflowError as exc:
            context["error"] = exc.message
    return render(request, "escalations/requester_confirm.html", context)

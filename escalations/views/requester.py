"""Pages outside the admin. Thin: parse input, call the workflow, render."""
from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import requester, workflow
from .models import Case, CaseStatus


@require_http_methods(["GET", "POST"])
def requester_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The requester confirms (closes) or rejects (reopens) a resolution, without an account."""
    try:
        data = requester.read_token(token)
        case = Case.objects.get(pk=data["case"])
    except signing.SignatureExpired:
        return render(request, "escalations/requester_confirm.html",
                      {"error": "This link has expired. Reply to the e-mail and we will help."}, status=410)
    except (signing.BadSignature, Case.DoesNotExist, KeyError, TypeError, ValueError):
        return render(request, "escalations/requester_confirm.html",
                      {"error": "This link is not valid."}, status=404)
    stale = case.status != CaseStatus.RESOLVED or case.resolved_at is None or \
        case.resolved_at.isoformat() != data.get("resolved_at")
    context = {"case": case, "stale": stale}
    if request.method == "POST" and not stale:
        answer = request.POST.get("answer")
        try:
            if answer == "confirm":
                workflow.case_close(case_id=case.pk, actor=None, reason="Requester confirmed the resolution")
                context["done"] = "Thank you: the case is closed."
            elif answer == "reject":
                workflow.case_reopen(case_id=case.pk, actor=None,
                                     reason=request.POST.get("reason", "").strip() or "Requester rejected the resolution")
                context["done"] = "We reopened the case and will be in touch."
            else:
                context["error"] = "Choose confirm or reject."
        except workflow.WorkflowError as exc:
            context["error"] = exc.message
    return render(request, "escalations/requester_confirm.html", context)

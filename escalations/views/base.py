"""What every staff view shares: sign-in required, read-only roles refused on POST, and
the workflow's refusals turned into HTTP statuses."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from escalations import workflow
from escalations.domain import authority

LOGIN_URL = "login"
READ_ONLY = "Your role is read-only: you can look at cases but not change them."


def staff_page(view):
    """Any signed-in, active user; what they see is narrowed by the selectors."""
    return login_required(view, login_url=LOGIN_URL)


def writer_only(view):
    """POST endpoints: roles without the right to work cases (auditors) get 403, before
    any input is read."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm(authority.PERM_WORK):
            return forbidden(request, READ_ONLY)
        return view(request, *args, **kwargs)

    return staff_page(wrapped)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "escalations/forbidden.html", {"message": message}, status=403)


def status_for(exc: workflow.WorkflowError) -> int:
    if isinstance(exc, workflow.NotAllowed):
        return 403
    if isinstance(exc, workflow.Conflict):
        return 409
    return 400

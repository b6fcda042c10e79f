"""Every refusal as JSON with a ``detail`` a person can read: the workflow's refusals map
to 403 (not allowed), 409 (stale version), 400 (does not fit the case); a case the user
may not see is 404. Never a 500 for bad input."""

from __future__ import annotations

from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from escalations import workflow


def status_for(exc: workflow.WorkflowError) -> int:
    if isinstance(exc, workflow.NotAllowed):
        return status.HTTP_403_FORBIDDEN
    if isinstance(exc, workflow.Conflict):
        return status.HTTP_409_CONFLICT
    return status.HTTP_400_BAD_REQUEST


def workflow_error(exc: workflow.WorkflowError) -> Response:
    body = {"detail": exc.message}
    if exc.errors:
        body["errors"] = exc.errors
    return Response(body, status=status_for(exc))


def handle(exc, context):
    if isinstance(exc, workflow.WorkflowError):
        return workflow_error(exc)
    if isinstance(exc, Http404):
        return Response({"detail": str(exc) or "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return exception_handler(exc, context)

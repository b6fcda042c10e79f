"""Monitoring intake endpoints: ``POST /api/v1/intake/<alertmanager|grafana|generic>``.

Authenticated by a token with the intake scope whose user may open cases, or by an
HMAC signature of the body (``channels.monitoring.signature``). The body is read raw
(the signature covers the exact bytes) and parsed by the channel; every alert is checked
before any is written, so a bad payload answers 400 and writes nothing.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from escalations.api.serializers import IntakeResultSerializer
from escalations.channels.monitoring import intake, parse, signature
from escalations.domain import authority
from escalations.models import ApiToken, Scope


class TokenOrSignature(BasePermission):
    """A token with the intake scope (its user must be allowed to open cases), or a good signature."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken):
            if Scope.INTAKE not in token.scope_set:
                raise PermissionDenied("This token lacks the intake scope.")
            if not request.user.has_perm(authority.PERM_WORK):
                raise PermissionDenied("The token's user may not open cases.")
            return True
        if signature.present(request.headers):
            problem = signature.verify(settings.INTAKE_HMAC_SECRET, request.headers, request.body)
            if problem:
                raise AuthenticationFailed(problem)
            return True
        raise NotAuthenticated("Authenticate with a token (intake scope) or sign the body (X-Escalation-Signature).")


class Intake(APIView):
    source = "generic"
    throttle_scope = "intake"
    permission_classes = [TokenOrSignature]
    parser_classes = []  # the channel parses the raw body

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: IntakeResultSerializer},
        parameters=[OpenApiParameter(signature.OURS, str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request):
        try:
            alerts = parse.alerts(self.source, parse.load(request.body))
            results = intake.receive(alerts)
        except parse.Rejected as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "accepted": len(results),
                "results": [
                    {"fingerprint": r.fingerprint, "status": r.status, "outcome": r.outcome, "case": r.case_id}
                    for r in results
                ],
            }
        )


class AlertmanagerIntake(Intake):
    """Prometheus Alertmanager webhook (version 4): point a ``webhook_configs`` receiver here,
    with ``http_config.authorization.credentials`` set to a token with the intake scope."""

    source = "alertmanager"


class GrafanaIntake(Intake):
    """Grafana alerting webhook contact point: a token in the Authorization header, or the
    contact point's HMAC signature (secret = INTAKE_HMAC_SECRET)."""

    source = "grafana"


class GenericIntake(Intake):
    """Any monitor: ``{"alerts": [{"status": "firing"|"resolved", "labels": {...},
    "annotations": {...}, "fingerprint": "...", "startsAt": "...", "endsAt": "..."}]}``;
    only ``labels`` is required (README "REST API and monitoring intake")."""

    source = "generic"

"""Reads about approvals: where a request is routed by the authority matrix."""

from __future__ import annotations

from decimal import Decimal

from escalations.models import AuthorityGrant, Level


def lowest_level_allowed(kind: str, amount: Decimal | None) -> Level | None:
    """The lowest level whose grant covers the request: who the request is routed to."""
    grant = AuthorityGrant.objects.covering(kind, amount).select_related("level").order_by("level__rank").first()
    return grant.level if grant else None

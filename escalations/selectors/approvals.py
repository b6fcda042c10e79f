"""Reads about approvals: where a request is routed by the authority matrix."""

from __future__ import annotations

from decimal import Decimal

from escalations.models import AuthorityGrant, Escalation, Level
from escalations.selectors.cases import approvals_to_decide_qs


def lowest_level_allowed(kind: str, amount: Decimal | None) -> Level | None:
    """The lowest level whose grant covers the request: who the request is routed to."""
    grant = AuthorityGrant.objects.covering(kind, amount).select_related("level").order_by("level__rank").first()
    return grant.level if grant else None


def approvals_waiting_count(user) -> int | None:
    """How many pending requests the user could decide now, for the menu; None when the
    user may decide none at all (no level, no right), so the menu hides the entry."""
    qs = approvals_to_decide_qs(user)
    return None if qs is None else qs.count()


def latest_handoffs(case_ids: list[int]) -> dict:
    """The most recent handoff of each case (what the approver reads beside the request)."""
    out = {}
    for handoff in Escalation.objects.filter(case_id__in=case_ids).order_by("case_id", "-created_at", "-pk"):
        out.setdefault(handoff.case_id, handoff)
    return out

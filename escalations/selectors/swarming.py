"""Swarming reads: who helps on a case, and the cases a user is invited to (the
"collaborating" queue). The writes are ``workflow.swarming``."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from escalations.domain import authority
from escalations.models import Case, Collaboration


def active_collaborations(user) -> QuerySet:
    """Active collaborations naming the user or one of their teams."""
    return Collaboration.objects.filter(Q(user=user) | Q(team__members=user), is_active=True)


def collaborating_cases(user) -> QuerySet:
    """Open cases the user (or one of their teams) is invited to work on: the 'collaborating' queue."""
    return (
        Case.objects.open()
        .filter(pk__in=active_collaborations(user).values("case_id"))
        .select_related("level", "team", "assignee")
        .order_by("-is_major", "priority", "-score", "opened_at")
    )


def collaborators_of(case: Case) -> QuerySet:
    """The case's active collaborations, for the case page (who helps, invited by whom, why)."""
    return case.collaborations.filter(is_active=True).select_related("user", "team", "invited_by")


def can_invite(case: Case, user) -> bool:
    return case.is_open and authority.can_work(case, user)

"""Who may do what: role permissions plus the ladder (a user's level against the case's).

Predicates over the objects they are given (no queries of their own beyond the
objects' relations), so the models can use them as ``permission=`` callables on
transitions without this module importing the models. django-fsm does not enforce them when a
transition is called, so the workflow layer checks ``has_transition_perm`` itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from escalations.models import Case, Level

PERM_WORK = "escalations.work_case"
PERM_ESCALATE = "escalations.escalate_case"
PERM_ACCEPT = "escalations.accept_escalation"
PERM_DEESCALATE = "escalations.deescalate_case"
PERM_DECIDE = "escalations.decide_approval"
PERM_CLOSE = "escalations.close_case"
PERM_REVIEW = "escalations.review_case"
PERM_MANAGE = "escalations.manage_desk"


def user_level(user: AbstractBaseUser) -> Level | None:
    profile = getattr(user, "staff_profile", None)
    return profile.level if profile is not None else None


def _rank(user: AbstractBaseUser) -> int | None:
    level = user_level(user)
    return level.rank if level is not None else None


def is_manager(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.has_perm(PERM_MANAGE))


def can_work(case: Case, user: AbstractBaseUser) -> bool:
    """Work a case: a staff member at the case's level or above, or a manager."""
    if not user.is_active or not user.has_perm(PERM_WORK):
        return False
    if is_manager(user):
        return True
    rank = _rank(user)
    return rank is not None and rank >= case.level.rank


def is_collaborator(case: Case, user: AbstractBaseUser) -> bool:
    """Swarming: the user, or one of their teams, is invited to work on the case (no handoff)."""
    return bool(
        user.is_active
        and user.has_perm(PERM_WORK)
        and case.collaborations.filter(Q(user=user) | Q(team__members=user), is_active=True).exists()
    )


def can_note(case: Case, user: AbstractBaseUser) -> bool:
    """Internal notes: whoever may work the case, and its collaborators."""
    return can_work(case, user) or is_collaborator(case, user)


def can_escalate(case: Case, user: AbstractBaseUser) -> bool:
    return can_work(case, user) and user.has_perm(PERM_ESCALATE)


def can_receive(case: Case, user: AbstractBaseUser) -> bool:
    """Accept or return: only the receiving level (or a manager) decides on a handoff."""
    if not user.is_active or not user.has_perm(PERM_ACCEPT):
        return False
    if is_manager(user):
        return True
    level = user_level(user)
    return level is not None and level.pk == case.level_id


def can_deescalate(case: Case, user: AbstractBaseUser) -> bool:
    return can_receive(case, user) and user.has_perm(PERM_DEESCALATE)


def can_close(case: Case, user: AbstractBaseUser) -> bool:
    return can_work(case, user) and user.has_perm(PERM_CLOSE)


def can_review(case: Case, user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.has_perm(PERM_REVIEW))


def can_decide(kind: str, amount: Decimal | None, user: AbstractBaseUser) -> bool:
    """The authority matrix: the user's level holds a grant covering this kind and amount."""
    if not user.is_active or not user.has_perm(PERM_DECIDE):
        return False
    level = user_level(user)
    if level is None:
        return False
    return level.grants.covering(kind, amount).exists()


def conflict_of_interest(requested_by_id: int | None, case: Case, user: AbstractBaseUser) -> str | None:
    """Separation of duties: why ``user`` may not decide an approval on ``case``, or None.

    Nobody decides a request they asked for, nor one on a case they are assigned to or
    opened: the request is routed past them instead (``selectors.approvals.route``)."""
    if requested_by_id is not None and user.pk == requested_by_id:
        return "you requested it"
    if case.assignee_id is not None and user.pk == case.assignee_id:
        return "you are assigned to the case"
    if case.created_by_id is not None and user.pk == case.created_by_id:
        return "you opened the case"
    return None


def conflicted_ids(requested_by_id: int | None, case: Case) -> set[int]:
    """The people ``conflict_of_interest`` rules out for a request on ``case``."""
    return {pk for pk in (requested_by_id, case.assignee_id, case.created_by_id) if pk is not None}

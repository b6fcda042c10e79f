"""Post-escalation review of a closed, escalated case."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from escalations.domain import authority
from escalations.models import CaseStatus, Review
from escalations.workflow.actors import Actor, may
from escalations.workflow.base import InvalidAction, NotAllowed, action, lock_case, require, save


def reviewable(case) -> bool:
    """Closed, escalated cases; a major incident as soon as it is resolved (its review is due then)."""
    if case.major_declared_at is not None and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return True
    return case.status == CaseStatus.CLOSED and case.escalation_count > 0


@action("review")
def case_review(
    *,
    case_id: int,
    actor: Actor,
    root_cause: str,
    went_well: str = "",
    went_badly: str = "",
    escalation_warranted: bool | None = None,
    prevention_actions: str = "",
    complete: bool = True,
) -> Review:
    root_cause = require(root_cause, "root_cause", "State the root cause.")
    with transaction.atomic():
        case = lock_case(case_id, None)
        if not may(actor, authority.can_review, case):
            raise NotAllowed("You may not review cases.")
        if not reviewable(case):
            raise InvalidAction(
                f"Only closed, escalated cases and resolved or closed major incidents are reviewed; case #{case.pk} "
                f"is {case.get_status_display().lower()} and was escalated {case.escalation_count} times."
            )
        review = Review.objects.select_for_update().filter(case=case).first() or Review(case=case)
        if review.status == "completed":
            raise InvalidAction(f"Case #{case.pk} already has a completed review.")
        review.reviewer = actor
        review.root_cause, review.went_well, review.went_badly = root_cause, went_well, went_badly
        review.escalation_warranted, review.prevention_actions = escalation_warranted, prevention_actions
        review.copy_case(case)
        if complete:
            review.complete(timezone.now())
        save(review, actor, "Review completed" if complete else "Review drafted")
    return review

"""Major incidents: what an approved major-incident declaration does, and ending one.

A declaration is an approval (``ApprovalKind.MAJOR_INCIDENT``) decided by a level whose
grant covers it; ``approval_decide`` calls ``declare`` in its transaction when it is
approved. The case becomes P1 with its SLA counted from the declaration, is marked major
(on top of every queue, a banner on its page), the Executive level and every team manager
are told at once (urgent: never held for working hours), and it needs a post-incident
review before staff close it. Only an Executive ends the major incident, with a reason.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.domain import authority, clock
from escalations.models import ApprovalRequest, Case, Level, Priority, Review, ReviewStatus, Team
from escalations.workflow import notices
from escalations.workflow.actors import Actor, is_system
from escalations.workflow.base import InvalidAction, NotAllowed, action, lock_case, require, save_case


def _set_priority_from_declaration(case: Case, at: datetime) -> str:
    """P1, with the response and resolution due times recomputed from the declaration with
    the policy's P1 targets (``clock.sla_start`` counts from ``major_declared_at``); the move is logged on the case like any priority change. Kept apart
    so a general priority-change path can take it over; returns the change in words."""
    before = (case.priority, case.response_due_at, case.resolution_due_at)
    case._set_priority(Priority.CRITICAL, at)  # a new commitment, as any priority change
    case.major_declared_at = at
    clock.recompute_due(case)
    clock.log_moves(case, before[1:], at, f"major incident declared: priority P{before[0]}→P1")
    fmt = "%Y-%m-%d %H:%M %Z"

    def due(value) -> str:
        return value.strftime(fmt) if value else "none"

    return (
        f"priority P{before[0]} -> P1; SLA recomputed from the declaration at {at.strftime(fmt)}: "
        f"response due {due(before[1])} -> {due(case.response_due_at)}, "
        f"resolution due {due(before[2])} -> {due(case.resolution_due_at)}"
    )


def top_level() -> Level | None:
    ladder = Level.objects.ladder()
    return ladder[-1] if ladder else None


def declaration_recipients(case: Case) -> list[str]:
    """The Executive level (its teams' addresses, else the people at that level) and the
    manager of every team: a major incident concerns the whole desk."""
    emails: list[str] = []
    top = top_level()
    if top is not None:
        emails += notices.level_addresses(top) or [
            e for e in top.staff.filter(user__is_active=True).values_list("user__email", flat=True) if e
        ]
    emails += Team.objects.filter(manager__isnull=False).order_by("name").values_list("manager__email", flat=True)
    return list(dict.fromkeys(e for e in emails if e))


def declare(req: ApprovalRequest, actor: Actor, now: datetime) -> Case:
    """Apply an approved declaration to its case (inside the caller's transaction)."""
    case = lock_case(req.case_id, None)
    if not case.is_open:
        raise InvalidAction(
            f"Case #{case.pk} is {case.get_status_display().lower()}; a major incident cannot be declared on it."
        )
    if case.is_major:
        return case  # already major: the approval is recorded, nothing else changes
    case.is_major, case.major_ended_at, case.major_end_reason = True, None, ""
    words = _set_priority_from_declaration(case, now)
    save_case(case, actor, f"Major incident declared (approval #{req.pk}, {actor}): {words}. {req.description}", now)
    notices.queue(
        case,
        notices.Message(
            "major_incident",
            f"MAJOR INCIDENT declared: case #{case.pk} {case.title}",
            f"Case #{case.pk} {case.title} was declared a major incident by {actor} at "
            f"{now:%Y-%m-%d %H:%M %Z} (approval #{req.pk}, requested by {req.requested_by}).\n"
            f"It is now P1 at {case.level.code}; {words}.\n\nWhy: {req.description}\n\n"
            f"Open the case: {notices.case_url(case)}",
            urgent=True,
        ),
        declaration_recipients(case),
        key=f"major:{case.pk}:{req.pk}",
        not_before=now,  # urgent: sent now, whatever the calendar's working hours
    )
    return case


def review_required(case: Case) -> bool:
    """A case that was a major incident needs a completed post-incident review."""
    if case.major_declared_at is None:
        return False
    return not Review.objects.filter(case=case, status=ReviewStatus.COMPLETED).exists()


def check_may_close(case: Case, actor: Actor) -> None:
    """Staff close a former major incident only after its review; the requester confirming
    the resolution (the system actor) is never refused, and the review stays outstanding."""
    if not is_system(actor) and review_required(case):
        raise InvalidAction(
            f"Case #{case.pk} was a major incident: complete its post-incident review before closing it."
        )


def may_end(case: Case, user) -> bool:
    level = authority.user_level(user)
    top = top_level()
    return bool(case.is_major and user.is_active and level is not None and top is not None and level.pk == top.pk)


@action("end-major-incident")
def case_end_major_incident(*, case_id: int, actor: Actor, reason: str, version: int | None = None) -> Case:
    """An Executive ends the major incident (the case keeps its P1 and its review duty)."""
    reason = require(reason, "reason", "Say why the major incident is over.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        if not case.is_major:
            raise InvalidAction(f"Case #{case.pk} is not a major incident.")
        if is_system(actor) or not may_end(case, actor):
            raise NotAllowed("Only an Executive may end a major incident.")
        now = timezone.now()
        case.is_major, case.major_ended_at, case.major_end_reason = False, now, reason
        save_case(case, actor, f"Major incident ended by {actor}: {reason}", now)
        notices.queue(
            case,
            notices.Message(
                "major_incident_ended",
                f"Major incident ended: case #{case.pk} {case.title}",
                f"{actor} ended the major incident on case #{case.pk}: {reason}\n"
                f"Open the case: {notices.case_url(case)}",
            ),
            declaration_recipients(case),
            key=f"major_ended:{case.pk}:{case.version}",
            not_before=now,
        )
    return case

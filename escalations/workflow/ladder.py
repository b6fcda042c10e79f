"""Tier moves: escalate (or jump), accept, return, de-escalate.

``plan_escalation`` runs the transition in memory and returns the unsaved handoff
record; the single-case actions here save it, and the sweep writes many at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.domain import clock
from escalations.intelligence import routing
from escalations.models import Case, Escalation, EscalationKind, EscalationStatus, Level, TriggerRule
from escalations.selectors import paths
from escalations.workflow import approvals, following, notices
from escalations.workflow.actors import Actor
from escalations.workflow.base import InvalidAction, NotAllowed, action, lock_case, require, run, save, save_case


@dataclass(frozen=True)
class Handoff:
    """What the receiving level needs so nothing is lost in the handoff."""

    summary: str
    steps_tried: str
    customer_impact: str
    knowledge_consulted: str = ""

    def validate(self) -> None:
        missing = {
            field: message
            for field, message in (
                ("summary", "Summarise the case for the receiving level."),
                ("steps_tried", "Say what was tried already."),
                ("customer_impact", "Describe the impact on the customer."),
            )
            if not (getattr(self, field) or "").strip()
        }
        if missing:
            raise InvalidAction("The handoff is incomplete: " + " ".join(missing.values()), missing)


def _target(case: Case, to_level: Level | None, justification: str, steps) -> tuple[Level, object, str]:
    steps = paths.steps_of(case.path_id) if steps is None else steps
    nxt = paths.next_step(case, steps)
    if nxt is None:
        raise InvalidAction(
            f"Case #{case.pk} is at the top of its ladder ({case.level.code}); there is no higher level to escalate to."
        )
    if to_level is None or to_level.pk == nxt[0].pk:
        return nxt[0], nxt[1], EscalationKind.ESCALATE
    if to_level.rank <= case.level.rank:
        raise InvalidAction(
            f"{to_level.code} is not above {case.level.code}; use de-escalate to go down.",
            {"to_level": "Choose a higher level."},
        )
    if to_level.rank < nxt[0].rank:
        return to_level, paths.team_at(to_level, steps), EscalationKind.ESCALATE
    if not (justification or "").strip():
        raise InvalidAction(
            f"Jumping from {case.level.code} to {to_level.code} skips {nxt[0].code}; give a justification.",
            {"justification": "A skip-level jump needs a justification."},
        )
    return to_level, paths.team_at(to_level, steps), EscalationKind.JUMP


def plan_escalation(
    case: Case,
    *,
    actor: Actor,
    handoff: Handoff,
    now: datetime,
    to_level: Level | None = None,
    justification: str = "",
    rule: TriggerRule | None = None,
    steps=None,
    make=Escalation,
    transition=run,
) -> Escalation:
    """Move the case up in memory and return the (unsaved) handoff record.

    ``steps`` lets a caller handling many cases pass the path's steps it already has;
    ``make`` and ``transition`` let the sweep's fast path build a plain row and move a
    plain case (``sweep_fast``) through the same steps."""
    handoff.validate()
    level, team, kind = _target(case, to_level, justification, steps)
    from_level, from_team, from_assignee = case.level, case.team, case.assignee
    clock.mark_breaches(case, now)
    breached = case.ola_response_breached_at is not None  # the OLA of the level it leaves
    work_breached = case.ola_work_breached_at is not None
    transition(case, "escalate", actor, level, team, now)
    routing.apply(case, level, now, escalation=True)  # routing hook: the receiving team and a suggested person
    return make(
        case=case,
        kind=kind,
        from_level=from_level,
        to_level=level,
        from_team=from_team,
        to_team=case.team,
        from_assignee=from_assignee,
        raised_by=actor,
        rule=rule,
        reason=f"Rule '{rule.name}'" if rule else "Manual escalation",
        summary=handoff.summary.strip(),
        steps_tried=handoff.steps_tried.strip(),
        knowledge_consulted=handoff.knowledge_consulted.strip(),
        customer_impact=handoff.customer_impact.strip(),
        justification=(justification or "").strip(),
        response_breached=breached,
        work_breached=work_breached,
        created_at=now,
        **Escalation.case_copies(case),
    )


def escalation_notice(case: Case, esc: Escalation) -> notices.Message:
    """The handoff e-mail: where the case went, the link to it and the whole handoff."""
    how = "Skip-level jump" if esc.kind == EscalationKind.JUMP else "Escalation"
    return notices.Message(
        event="escalated",
        subject=f"[{esc.to_level.code}] {how}: case #{case.pk} {case.title}",
        body=(
            f"Case #{case.pk} {case.title} was escalated {esc.from_level.code} -> {esc.to_level.code} "
            f"({esc.reason}).\nPriority P{case.priority}; requester {case.requester_name}.\n"
            f"Open the case: {notices.case_url(case)}\n\n{notices.handoff_text(esc)}"
        ),
    )


@action("escalate")
def case_escalate(
    *,
    case_id: int,
    actor: Actor,
    handoff: Handoff,
    to_level_code: str | None = None,
    justification: str = "",
    version: int | None = None,
) -> Escalation:
    """Hand a case to the next step of its path, or jump to a higher level with a reason."""
    to_level = None
    if to_level_code:
        to_level = Level.objects.filter(code=to_level_code).first()
        if to_level is None:
            raise InvalidAction(f"There is no level '{to_level_code}'.", {"to_level": "Unknown level."})
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        esc = plan_escalation(
            case, actor=actor, handoff=handoff, now=now, to_level=to_level, justification=justification
        )
        save_case(case, actor, f"Escalated {esc.from_level.code} -> {esc.to_level.code}: {esc.summary}", now)
        save(esc, actor, f"Handoff {esc.from_level.code} -> {esc.to_level.code}")
        approvals.reroute_pending([case], actor, now)
        recipients, _who = notices.escalation_recipients(case, esc)
        notices.queue(case, escalation_notice(case, esc), recipients, key=f"escalated:{esc.pk}")
        following.follow_automatically(case, actor, "Follows the case they escalated")
    return esc


def _pending(case: Case) -> Escalation:
    esc = case.escalations.select_for_update().filter(status=EscalationStatus.PENDING).order_by("-pk").first()
    if esc is None:
        raise InvalidAction(f"Case #{case.pk} has no escalation waiting for acceptance.")
    return esc


@action("accept")
def case_accept(*, case_id: int, actor: Actor, version: int | None = None) -> Escalation:
    """The receiving level takes the case on; its response clock is answered."""
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        run(case, "accept", actor, actor, now)
        esc = _pending(case)
        esc.accept(actor, now)
        save_case(case, actor, f"Accepted at {case.level.code} by {actor}", now)
        save(esc, actor, "Accepted")
        approvals.reroute_pending([case], actor, now)
        following.tell_followers(
            case, actor, "accepted", f"{actor} accepted it at {case.level.code}.", f"accepted:{esc.pk}"
        )
    return esc


@action("return")
def case_return(*, case_id: int, actor: Actor, reason: str, version: int | None = None) -> Escalation:
    """Send an escalation back to where it came from (counts as over-escalation)."""
    reason = require(reason, "reason", "Say why the escalation is returned.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        esc = _pending(case)
        run(case, "return_escalation", actor, esc.from_level, esc.from_team, esc.from_assignee, now)
        esc.return_(actor, reason, now)
        save_case(case, actor, f"Returned {esc.to_level.code} -> {esc.from_level.code}: {reason}", now)
        save(esc, actor, f"Returned: {reason}")
        approvals.reroute_pending([case], actor, now)
        told = notices.recipients_for(case, ["assignee", "team"])
        notices.queue(
            case,
            notices.Message(
                "returned",
                f"Case #{case.pk} returned to {esc.from_level.code}",
                f"{actor} returned case #{case.pk} {case.title}: {reason}",
            ),
            told,
            key=f"returned:{esc.pk}",
        )
        following.tell_followers(
            case,
            actor,
            "returned",
            f"{actor} returned it to {esc.from_level.code}: {reason}",
            f"returned:{esc.pk}",
            told,
        )
    return esc


@action("de-escalate")
def case_de_escalate(
    *, case_id: int, actor: Actor, reason: str, to_level_code: str | None = None, version: int | None = None
) -> Escalation:
    """Hand an accepted case back down, e.g. once the expert part is done."""
    reason = require(reason, "reason", "Say why the case goes back down.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        steps = paths.steps_of(case.path_id)
        if to_level_code:
            level = Level.objects.filter(code=to_level_code).first()
            if level is None:
                raise InvalidAction(f"There is no level '{to_level_code}'.", {"to_level": "Unknown level."})
            target = (level, paths.team_at(level, steps))
        else:
            target = paths.previous_step(case, steps)
        if target is None:
            raise InvalidAction(f"Case #{case.pk} is at the lowest level; there is nowhere to de-escalate to.")
        from_level, from_team = case.level, case.team
        clock.mark_breaches(case, now)
        breached = case.ola_response_breached_at is not None  # the OLA of the level it leaves
        work_breached = case.ola_work_breached_at is not None
        run(case, "de_escalate", actor, target[0], target[1], now)
        esc = Escalation(
            case=case,
            kind=EscalationKind.DE_ESCALATE,
            status=EscalationStatus.ACCEPTED,
            from_level=from_level,
            to_level=target[0],
            from_team=from_team,
            to_team=target[1],
            from_assignee=actor,
            raised_by=actor,
            reason=reason,
            summary=reason,
            decided_by=actor,
            decided_at=now,
            created_at=now,
            response_breached=breached,
            work_breached=work_breached,
            **Escalation.case_copies(case),
        )
        save_case(case, actor, f"De-escalated {from_level.code} -> {target[0].code}: {reason}", now)
        save(esc, actor, f"De-escalation {from_level.code} -> {target[0].code}")
    return esc


__all__ = [
    "Handoff",
    "NotAllowed",
    "case_accept",
    "case_de_escalate",
    "case_escalate",
    "case_return",
    "plan_escalation",
]

"""Trigger rules: when a case is due for a look, and what each rule does when it fires.

Conditions and actions are dispatch tables keyed by the rule's kind. Actions change the
case in memory and collect what must be written (handoffs, outbox rows, firings) in an
``Effects``; the caller writes it: the workflow one case at a time, the sweep in bulk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from . import clock, notifications
from .config_cache import cached
from .models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Escalation,
    Notification,
    RuleFiring,
    TriggerRule,
)

Rule = TriggerRule
C = TriggerRule.Condition
A = TriggerRule.Action


# -- conditions: (case, params, now) -> reason when true, None when false ------------------

def _clock_named(case: Case, name: str) -> clock.Clock | None:
    for c in clock.clocks(case):
        if c.name == name and c.stopped_at is None:
            return c
    return None


def _sla_percent(case: Case, params: dict, now: datetime) -> str | None:
    c = _clock_named(case, params.get("target", "response"))
    if c is None:
        return None
    used = clock.percent_used(case, c, now)
    if used + 1e-9 >= float(params["percent"]):
        return f"{c.name} clock at {used:.0f}% of {clock._span(c.target)} (threshold {params['percent']}%)"
    return None


def _at_most(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return f"{label} {value} (threshold {params.get('at_most', 1)})" if value <= int(params.get("at_most", 1)) else None
    return check


def _member_of(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return f"{label} is {value}" if value in params.get("in", []) else None
    return check


def _at_least(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return f"{label} {value} (threshold {params.get('at_least', 1)})" if value >= int(params.get("at_least", 1)) else None
    return check


def _no_response_moment(case: Case, params: dict) -> datetime | None:
    if case.responded_at is not None:
        return None
    return clock.calendar_of(case).add(
        case.level_entered_at, timedelta(minutes=float(params.get("minutes", 15))), exclude=clock.pauses_of(case)
    )


def _no_response(case: Case, params: dict, now: datetime) -> str | None:
    moment = _no_response_moment(case, params)
    if moment is not None and moment <= now:
        return f"no response at {case.level.code} within {params.get('minutes', 15)} business minutes"
    return None


CONDITIONS: dict[str, Callable[[Case, dict, datetime], str | None]] = {
    C.SLA_PERCENT: _sla_percent,
    C.PRIORITY: _at_most("priority", "priority P"),
    C.IMPACT: _at_most("impact", "impact"),
    C.COMPLEXITY: _member_of("complexity", "complexity"),
    C.CUSTOMER_TIER: _member_of("customer_tier", "customer tier"),
    C.REASSIGNMENTS: _at_least("reassignment_count", "reassignments at this level:"),
    C.REOPENS: _at_least("reopen_count", "reopens:"),
    C.NO_RESPONSE: _no_response,
}
TIMED = {C.SLA_PERCENT, C.NO_RESPONSE}


def _moment(case: Case, condition: str, params: dict) -> datetime | None:
    """When a timed condition becomes true (None: it cannot while the case stays as it is)."""
    if condition == C.SLA_PERCENT:
        c = _clock_named(case, params.get("target", "response"))
        return None if c is None else clock.moment_at_percent(case, c, float(params["percent"]))
    return _no_response_moment(case, params)


def _extra_conditions_hold(case: Case, rule: Rule, now: datetime) -> list[str] | None:
    """Optional ``"and": [{"condition": kind, ...params}]`` in a rule's params."""
    reasons = []
    for extra in (rule.params or {}).get("and", []):
        reason = CONDITIONS[extra["condition"]](case, extra, now)
        if reason is None:
            return None
        reasons.append(reason)
    return reasons


def applies(rule: Rule, case: Case) -> bool:
    return rule.is_active and (rule.level_id is None or rule.level_id == case.level_id)


def _ready_after(rule: Rule, firing: RuleFiring | None) -> datetime | None | bool:
    """False: spent at this level. None: never fired. A datetime: may repeat from then."""
    if firing is None:
        return None
    if rule.repeat_every is None:
        return False
    return firing.fired_at + rule.repeat_every


def is_watched(case: Case) -> bool:
    return case.status in OPEN_STATUSES and case.paused_at is None


def next_check_at(case: Case, now: datetime, rules: list[Rule] | None = None,
                  firings: dict[int, RuleFiring] | None = None) -> datetime | None:
    """The earliest moment any rule could fire, or a running clock breach; None if never."""
    if not is_watched(case):
        return None
    if rules is None:
        rules = active_rules()
    if firings is None:
        firings = firings_at_level([case]).get(case.pk, {}) if case.pk else {}
    moments = [
        due for due, breached, stopped in (
            (case.response_due_at, case.response_breached_at, case.responded_at),
            (case.resolution_due_at, case.resolution_breached_at, case.resolved_at),
        ) if due is not None and breached is None and stopped is None
    ]
    for rule in rules:
        if not applies(rule, case):
            continue
        params = rule.params or {}
        try:
            if rule.condition in TIMED:
                moment = _moment(case, rule.condition, params)
            else:  # a static condition only changes through the workflow, which reschedules
                moment = now if CONDITIONS[rule.condition](case, params, now) is not None else None
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # see evaluate(): a malformed rule is skipped, never fatal
        if moment is None:
            continue
        ready = _ready_after(rule, firings.get(rule.pk))
        if ready is not False:
            moments.append(max(moment, ready) if ready else moment)
        if rule.stop_processing and moment <= now:
            break  # it holds now, so the rules after it are not looked at
    return min(moments) if moments else None


def active_rules() -> list[Rule]:
    """The active rules in order (``escalations.config_cache``: a few seconds per process)."""
    return cached("rules", lambda: list(
        TriggerRule.objects.filter(is_active=True).select_related("target_level").order_by("order", "pk")))


def firings_at_level(cases: list[Case]) -> dict[int, dict[int, RuleFiring]]:
    out: dict[int, dict[int, RuleFiring]] = {}
    levels = {c.pk: c.level_id for c in cases}
    for f in RuleFiring.objects.filter(case_id__in=list(levels)):
        if levels[f.case_id] == f.level_id:
            out.setdefault(f.case_id, {})[f.rule_id] = f
    return out


# -- actions ----------------------------------------------------------------------------

@dataclass
class Effects:
    """Everything a round of rule firings wants written, collected in memory."""

    now: datetime
    escalations: list[Escalation] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    new_firings: list[RuleFiring] = field(default_factory=list)
    repeat_firings: list[RuleFiring] = field(default_factory=list)
    steps_cache: dict = field(default_factory=dict)
    address_cache: dict = field(default_factory=dict)

    def notify(self, case: Case, message: notifications.Message, kinds, key: str) -> None:
        recipients = notifications.recipients_for(case, kinds, cache=self.address_cache)
        self.notifications.extend(notifications.build(case, message, recipients, key, now=self.now))


def _notify(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    fx.notify(case, notifications.Message(
        "rule_notice", f"[{case.level.code} P{case.priority}] {rule.name}: case #{case.pk} {case.title}",
        f"Rule '{rule.name}' fired for case #{case.pk}: {reason}."), rule.recipients,
        key=f"rule:{rule.pk}:{case.pk}:{case.level_id}:{fx.now.isoformat()}")
    return f"notified {', '.join(rule.recipients)}"


def _escalate(case: Case, rule: Rule, reason: str, fx: Effects, to_level=None) -> str:
    from . import paths
    from .workflow import Handoff, WorkflowError, plan_escalation
    from .workflow.ladder import escalation_notice

    if case.status not in (CaseStatus.NEW, CaseStatus.IN_PROGRESS):
        return f"not escalated ({case.get_status_display().lower()})"
    if case.path_id not in fx.steps_cache:
        fx.steps_cache[case.path_id] = paths.steps_of(case.path_id)
    handoff = Handoff(
        summary=f"Automatic escalation by rule '{rule.name}': {reason}.",
        steps_tried="See the case timeline; handled at "
                    f"{case.level.code}{f' by {case.assignee}' if case.assignee_id else ' (unassigned)'}.",
        customer_impact=f"Priority P{case.priority}, impact {case.get_impact_display().lower()}, "
                        f"customer tier {case.get_customer_tier_display()}.",
    )
    try:
        esc = plan_escalation(case, actor=None, handoff=handoff, now=fx.now, to_level=to_level,
                              justification=f"Rule '{rule.name}': {reason}" if to_level else "",
                              rule=rule, steps=fx.steps_cache[case.path_id])
    except WorkflowError as exc:
        return f"could not escalate: {exc.message}"
    fx.escalations.append(esc)
    message = escalation_notice(case, esc)
    kinds = ["team"] if case.team_id else ["next_level"]
    fx.notify(case, message, kinds, key=f"escalated:{case.pk}:{esc.to_level_id}:{fx.now.isoformat()}")
    return f"escalated {esc.from_level.code} -> {esc.to_level.code}"


def _jump(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    if rule.target_level.rank <= case.level.rank:
        return f"already at or above {rule.target_level.code}"
    return _escalate(case, rule, reason, fx, to_level=rule.target_level)


def _raise_priority(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    if case.priority <= 1:
        return "priority already P1"
    case.priority -= 1  # the caller recomputes the due times after the round
    return f"priority raised to P{case.priority}"


ACTIONS: dict[str, Callable[[Case, Rule, str, Effects], str]] = {
    A.NOTIFY: _notify,
    A.ESCALATE_NEXT: _escalate,
    A.JUMP_LEVEL: _jump,
    A.RAISE_PRIORITY: _raise_priority,
}
MOVES = {A.ESCALATE_NEXT, A.JUMP_LEVEL}


def evaluate(case: Case, rules: list[Rule], firings: dict[int, RuleFiring], fx: Effects) -> list[str]:
    """Fire the rules that hold now, in order; returns what happened, in words.

    ``stop_processing``: while such a rule holds (fired now or earlier), the rules after
    it are not evaluated. A rule that moves the case ends the round: the rules of the new
    level get their own look at the next check.
    """
    done: list[str] = []
    if not is_watched(case):
        return done
    level_id = case.level_id
    for rule in rules:
        if not applies(rule, case):
            continue
        try:
            reason = CONDITIONS[rule.condition](case, rule.params or {}, fx.now)
            extras = _extra_conditions_hold(case, rule, fx.now) if reason is not None else None
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a rule saved around validation (not through the admin) must not stop the sweep
        if extras is None:
            continue
        firing = firings.get(rule.pk)
        ready = _ready_after(rule, firing)
        if ready is False or (ready is not None and ready > fx.now):
            if rule.stop_processing:
                break  # spent, but while it holds the later rules stay quiet
            continue
        reason = "; ".join([reason, *extras])
        outcome = ACTIONS[rule.action](case, rule, reason, fx)
        done.append(f"Rule '{rule.name}' fired ({reason}): {outcome}")
        if firing is None:
            firing = RuleFiring(case=case, rule=rule, level_id=level_id, fired_at=fx.now, reason=reason)
            fx.new_firings.append(firing)
            firings[rule.pk] = firing
        else:
            firing.fired_at, firing.times, firing.reason = fx.now, firing.times + 1, reason
            fx.repeat_firings.append(firing)
        if rule.stop_processing or (rule.action in MOVES and case.level_id != level_id):
            break
    return done

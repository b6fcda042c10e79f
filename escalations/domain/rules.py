"""Trigger rules, pure: when a case is due for a look, and which rules fire now.

Conditions are a dispatch table keyed by the rule's kind. ``decide`` yields a
``Decision`` per rule that holds now, in order; it writes nothing and knows no effects:
``workflow.automation`` applies each decision (moving the case in memory, collecting
handoffs, notices and firings) before asking for the next, so a rule sees what the
rules before it changed, and a rule that moves the case ends the round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalations.core.config_cache import cached
from escalations.domain import clock
from escalations.models import OPEN_STATUSES, Case, RuleFiring, TriggerRule

Rule = TriggerRule
C = TriggerRule.Condition
A = TriggerRule.Action


# A stored rule that cannot be evaluated (saved around validation: a raw update, an old
# import) is skipped, never fatal: intake and the sweep go on. Why is kept here, per
# process, until the sweep records it (``take_skipped``); the admin warns from that record.
UNEVALUABLE = (ArithmeticError, KeyError, TypeError, ValueError, AttributeError, IndexError)
_skipped: dict[int, str] = {}


def _skip(rule: Rule, exc: Exception) -> None:
    text = str(exc) or exc.__class__.__name__
    _skipped[rule.pk] = f"{exc.__class__.__name__}: {text}"[:300]


def take_skipped() -> dict[int, str]:
    """Rules skipped since the last call (rule id -> why), emptied by the call."""
    out = dict(_skipped)
    _skipped.clear()
    return out


# -- conditions: (case, params, now) -> reason when true, None when false ------------------


def clock_kind(params: dict) -> str:
    """Which clock a time condition reads: ``"clock": "sla"`` (the customer's) or ``"ola"``
    (the level's). Without it, a rule keeps its old meaning: the response clock was the
    level's (it restarted at each level), the resolution clock ran from intake (the SLA)."""
    kind = params.get("clock")
    if kind in (clock.SLA, clock.OLA):
        return kind
    if kind is not None:
        raise ValueError(f"unknown clock {kind!r}")
    return clock.OLA if params.get("target", "response") == "response" else clock.SLA


def _clock_named(case: Case, params: dict) -> clock.Clock | None:
    c = clock.clock_named(case, params.get("target", "response"), clock_kind(params))
    return c if c is not None and c.stopped_at is None else None


def _sla_percent(case: Case, params: dict, now: datetime) -> str | None:
    c = _clock_named(case, params)
    if c is None:
        return None
    used = clock.percent_used(case, c, now)
    if used + 1e-9 >= float(params["percent"]):
        where = f" at {case.level.code}" if c.kind == clock.OLA else ""
        return f"{c.label} clock{where} at {used:.0f}% of {clock._span(c.target)} (threshold {params['percent']}%)"
    return None


def _at_most(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return (
            f"{label} {value} (threshold {params.get('at_most', 1)})"
            if value <= int(params.get("at_most", 1))
            else None
        )

    return check


def _member_of(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return f"{label} is {value}" if value in params.get("in", []) else None

    return check


def _at_least(attr: str, label: str):
    def check(case: Case, params: dict, now: datetime) -> str | None:
        value = getattr(case, attr)
        return (
            f"{label} {value} (threshold {params.get('at_least', 1)})"
            if value >= int(params.get("at_least", 1))
            else None
        )

    return check


def _no_response_moment(case: Case, params: dict) -> datetime | None:
    """OLA (default): nobody at the level took the case on; SLA: the customer has not
    heard from us since intake."""
    if params.get("clock") == clock.SLA:
        stopped, start = case.first_response_at, clock.sla_start(case)
    else:
        stopped, start = case.responded_at, case.level_entered_at
    if stopped is not None:
        return None
    return clock.calendar_of(case).add(
        start, timedelta(minutes=float(params.get("minutes", 15))), exclude=clock.pauses_of(case)
    )


def _no_response(case: Case, params: dict, now: datetime) -> str | None:
    moment = _no_response_moment(case, params)
    if moment is not None and moment <= now:
        if params.get("clock") == clock.SLA:
            return f"no contact with the customer within {params.get('minutes', 15)} business minutes"
        return f"no response at {case.level.code} within {params.get('minutes', 15)} business minutes"
    return None


def _risk_at_least(attr: str, label: str):
    """Predicted risk (``Case.breach_risk`` / ``escalation_risk``, written by the risk
    scoring) at or above ``at_least``; a case not scored yet does not match."""

    def check(case: Case, params: dict, now: datetime) -> str | None:
        value, limit = getattr(case, attr), float(params["at_least"])
        if value is None or value + 1e-9 < limit:
            return None
        return f"{label} {value:.2f} (threshold {limit:g})"

    return check


CONDITIONS: dict[str, Callable[[Case, dict, datetime], str | None]] = {
    C.SLA_PERCENT: _sla_percent,
    C.PRIORITY: _at_most("priority", "priority P"),
    C.IMPACT: _at_most("impact", "impact"),
    C.COMPLEXITY: _member_of("complexity", "complexity"),
    C.CUSTOMER_TIER: _member_of("customer_tier", "customer tier"),
    C.REASSIGNMENTS: _at_least("reassignment_count", "reassignments at this level:"),
    C.REOPENS: _at_least("reopen_count", "reopens:"),
    C.NO_RESPONSE: _no_response,
    # An event condition: it holds when a requester answers a survey (``on_satisfaction``),
    # never for the sweep, which looks at cases, not at answers.
    C.LOW_SATISFACTION: lambda case, params, now: None,
    C.BREACH_RISK: _risk_at_least("breach_risk", "predicted breach risk"),
    C.ESCALATION_RISK: _risk_at_least("escalation_risk", "predicted escalation risk"),
}
# Conditions read from the risk scores: the scoring marks a case due when it changes them.
RISK = {C.BREACH_RISK, C.ESCALATION_RISK}


def reads_risk(rule: Rule) -> bool:
    """Whether a trigger rule has a risk condition, as its own or in its ``"and"``."""
    params = rule.params if isinstance(rule.params, dict) else {}
    extras = params.get("and") if isinstance(params.get("and"), list) else []
    kinds = [rule.condition] + [e.get("condition") for e in extras if isinstance(e, dict)]
    return any(k in RISK for k in kinds)


TIMED = {C.SLA_PERCENT, C.NO_RESPONSE}
MOVES = {A.ESCALATE_NEXT, A.JUMP_LEVEL}
# The progress guard: a case that claims to be due but where nothing fired (e.g. an
# "and" condition that does not hold) is looked at again after this, not at once.
RECHECK = timedelta(minutes=1)


def _moment(case: Case, condition: str, params: dict) -> datetime | None:
    """When a timed condition becomes true (None: it cannot while the case stays as it is)."""
    if condition == C.SLA_PERCENT:
        c = _clock_named(case, params)
        return None if c is None else clock.moment_at_percent(case, c, float(params["percent"]))
    return _no_response_moment(case, params)


def _condition_moment(case: Case, condition: str, params: dict, now: datetime) -> datetime | None:
    """When one condition holds: a timed one from its moment on, a static one now or never
    (it only changes through the workflow or the risk scoring, which reschedule)."""
    if condition in TIMED:
        return _moment(case, condition, params)
    return now if CONDITIONS[condition](case, params, now) is not None else None


def rule_moment(case: Case, rule: Rule, now: datetime) -> datetime | None:
    """When the whole rule holds, its ``"and"`` conditions included: the latest of its
    conditions' moments (None if one of them cannot hold). So "breach risk >= 0.6 and 50 %
    of the response time used" is due at the 50 % moment, not re-checked every minute."""
    params = rule.params or {}
    moments = [_condition_moment(case, rule.condition, params, now)]
    for extra in params.get("and", []):
        moments.append(_condition_moment(case, extra["condition"], extra, now))
    return None if any(m is None for m in moments) else max(moments)


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


def next_check_at(
    case: Case, now: datetime, rules: list[Rule] | None = None, firings: dict[int, RuleFiring] | None = None
) -> datetime | None:
    """The earliest moment any rule could fire, or a running clock breach; None if never."""
    if not is_watched(case):
        return None
    if rules is None:
        rules = active_rules()
    if firings is None:
        firings = firings_at_level([case]).get(case.pk, {}) if case.pk else {}
    moments = [  # a breach of any clock, SLA or OLA, is recorded when it happens
        c.due for c in clock.clocks(case) if c.due is not None and c.breached_at is None and c.stopped_at is None
    ]
    for rule in rules:
        if not applies(rule, case):
            continue
        try:
            moment = rule_moment(case, rule, now)
            ready = _ready_after(rule, firings.get(rule.pk))
            if moment is not None and ready is not False:
                moments.append(max(moment, ready) if ready else moment)
        except UNEVALUABLE as exc:
            _skip(rule, exc)
            continue  # a malformed rule is skipped, never fatal
        if moment is None:
            continue
        if rule.stop_processing and moment <= now:
            break  # it holds now, so the rules after it are not looked at
    return min(moments) if moments else None


def active_rules() -> list[Rule]:
    """The active rules in order (``escalations.config_cache``: a few seconds per process)."""
    return cached(
        "rules",
        lambda: list(TriggerRule.objects.filter(is_active=True).select_related("target_level").order_by("order", "pk")),
    )


def firings_at_level(cases: list[Case]) -> dict[int, dict[int, RuleFiring]]:
    out: dict[int, dict[int, RuleFiring]] = {}
    levels = {c.pk: c.level_id for c in cases}
    for f in RuleFiring.objects.filter(case_id__in=list(levels)):
        if levels[f.case_id] == f.level_id:
            out.setdefault(f.case_id, {})[f.rule_id] = f
    return out


@dataclass
class Decision:
    """A rule that holds now and is ready to fire; ``firing`` is its earlier firing at
    this level (a repeat), or None."""

    rule: Rule
    reason: str
    firing: RuleFiring | None


def decide(case: Case, rules: list[Rule], firings: dict[int, RuleFiring], now: datetime) -> Iterator[Decision]:
    """The rules that fire now, in order, one at a time (the caller applies each).

    ``stop_processing``: while such a rule holds (fired now or earlier), the rules after
    it are not evaluated. A rule that moves the case ends the round: the rules of the new
    level get their own look at the next check.
    """
    if not is_watched(case):
        return
    level_id = case.level_id
    for rule in rules:
        if not applies(rule, case):
            continue
        try:
            reason = CONDITIONS[rule.condition](case, rule.params or {}, now)
            extras = _extra_conditions_hold(case, rule, now) if reason is not None else None
        except UNEVALUABLE as exc:
            _skip(rule, exc)
            continue  # a rule saved around validation (not through the admin) must not stop the sweep
        if extras is None:
            continue
        firing = firings.get(rule.pk)
        try:
            ready = _ready_after(rule, firing)
        except UNEVALUABLE as exc:  # a repeat interval past the calendar's end
            _skip(rule, exc)
            continue
        if ready is False or (ready is not None and ready > now):
            if rule.stop_processing:
                break  # spent, but while it holds the later rules stay quiet
            continue
        yield Decision(rule, "; ".join([reason, *extras]), firing)
        if rule.stop_processing or (rule.action in MOVES and case.level_id != level_id):
            break


def on_satisfaction(case: Case, score: int, rules: list[Rule]) -> Iterator[Decision]:
    """The low-satisfaction rules a survey answer fires, in order (the workflow applies
    each: a notice or a follow-up case). ``stop_processing`` ends the round as in ``decide``."""
    for rule in rules:
        if rule.condition != C.LOW_SATISFACTION or not applies(rule, case):
            continue
        try:
            limit = int((rule.params or {})["at_most"])
        except (KeyError, TypeError, ValueError):
            continue  # a malformed rule is skipped, as in decide()
        if score <= limit:
            yield Decision(rule, f"satisfaction {score}/5 (threshold {limit})", None)
            if rule.stop_processing:
                break

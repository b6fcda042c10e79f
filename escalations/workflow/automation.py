"""Applying trigger rules: what each rule kind does when ``domain.rules`` decides it fires.

Effects change the case in memory and collect what must be written (handoffs, outbox
rows, firings) in an ``Effects``. ``apply_loaded`` runs a batch of claimed cases through
the rules and ``write`` writes everything with set-based statements in the caller's
transaction (``apply_rules`` loads the cases through the ORM first: the general path;
``sweep_fast`` loads them as plain rows: the fast path);
``fire`` is the same round for one case, for callers that write nothing (the what-if).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import ClassVar

from django.db.models import F

from escalations.audit.chain import prepare_history, write_history
from escalations.core.bulk import bulk_insert, bulk_update_rows
from escalations.domain import clock, rules
from escalations.intelligence import routing
from escalations.models import (
    Case,
    CaseStatus,
    Escalation,
    KnowledgeArticle,
    Level,
    Notification,
    RuleFiring,
    RuleProblem,
    Team,
    TriggerRule,
)
from escalations.selectors import paths
from escalations.workflow import approvals, notices, waits
from escalations.workflow.actors import system_actor
from escalations.workflow.base import WorkflowError, run
from escalations.workflow.ladder import Handoff, escalation_notice, plan_escalation

Rule = TriggerRule
A = TriggerRule.Action

# The case columns a round may change (written back in one statement per batch).
CASE_FIELDS = [
    "status",
    "waiting_on",
    "level",
    "team",
    "assignee",
    "priority",
    "escalation_count",
    "handoff_count",
    "highest_level",
    "level_entered_at",
    "responded_at",
    "reassignment_count",
    "response_due_at",
    "resolution_due_at",
    "response_breached_at",
    "resolution_breached_at",
    "sla_started_at",
    "sla_changes",
    "ola_response_due_at",
    "ola_work_due_at",
    "ola_response_breached_at",
    "ola_work_breached_at",
    "routing_note",
    "next_check_at",
    "version",
]
TRACKED = [f for f in CASE_FIELDS if f != "next_check_at"]
RULE = "rule"  # the action the sweep's history rows record (``actions.catalogue.RULE``)


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
    told: list[str] = field(default_factory=list)  # who the rule firing now being applied told
    sla_why: dict = field(default_factory=dict)  # case id -> why its SLA moved (a priority rule)
    batch: set[int] = field(default_factory=set)  # the ids of the batch's cases
    articles: dict | None = None  # case id -> titles of its knowledge articles, read once per batch
    # What the effects build their rows with and how a case moves: the ORM's models and the
    # checked transition here; plain-row classes and the plain transition on the fast path
    # (``sweep_fast.PlainEffects``), so both paths run the same effects.
    make_handoff: ClassVar[Callable] = Escalation
    make_notice: ClassVar[Callable] = Notification
    make_firing: ClassVar[Callable] = RuleFiring
    transition: ClassVar[Callable] = staticmethod(run)

    def moved_cases(self) -> list[Case]:
        """The cases the batch moved, as ``approvals.reroute_pending`` takes them."""
        return [esc.case for esc in self.escalations]

    def article_titles(self, case: Case) -> str:
        """The titles of the case's knowledge articles (the handoff's "knowledge consulted"):
        for the whole batch in one query at the first escalation that needs them."""
        if not case.pk:
            return ""
        if self.articles is None or case.pk not in self.articles:
            ids = self.batch if case.pk in self.batch else [case.pk]
            self.articles = {**(self.articles or {}), **{i: [] for i in ids}}
            rows = (
                KnowledgeArticle.cases.through.objects.filter(case_id__in=ids)
                .order_by("knowledgearticle__title")
                .values_list("case_id", "knowledgearticle__title")
            )
            for case_id, title in rows:
                self.articles[case_id].append(title)
        return ", ".join(self.articles[case.pk])

    def send(self, case: Case, message: notices.Message, recipients: list[str], key: str) -> None:
        self.told.extend(r for r in recipients if r not in self.told)
        self.notifications.extend(notices.build(case, message, recipients, key, now=self.now, make=self.make_notice))

    def resolve(self, case: Case, kinds, moved: Escalation | None = None) -> tuple[list[str], str]:
        """The rule's recipients; when they are nobody, ``notices.fallback`` at the case's level
        (the level it moved to, after a move), and in words who that was."""
        emails = notices.recipients_for(case, kinds, cache=self.address_cache, moved=moved)
        if emails:
            return emails, ", ".join(kinds)
        emails, who = notices.fallback(case, case.level, self.address_cache)
        return emails, f"{who} (no {', '.join(kinds) or 'recipients'} to tell)"


def _told(emails: list[str], who: str) -> str:
    return f"notified {who}: {', '.join(emails)}" if emails else f"notified {who}"


def _notify(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    emails, who = fx.resolve(case, rule.recipients)
    fx.send(
        case,
        notices.Message(
            "rule_notice",
            f"[{case.level.code} P{case.priority}] {rule.name}: case #{case.pk} {case.title}",
            f"Rule '{rule.name}' fired for case #{case.pk} {case.title}: {reason}.\n"
            f"Open the case: {notices.case_url(case)}",
        ),
        emails,
        key=f"rule:{rule.pk}:{case.pk}:{case.level_id}:{fx.now.isoformat()}",
    )
    return _told(emails, who)


def _escalate(case: Case, rule: Rule, reason: str, fx: Effects, to_level: Level | None = None) -> str:
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
        knowledge_consulted=fx.article_titles(case),
    )
    try:
        esc = plan_escalation(
            case,
            actor=system_actor(),
            handoff=handoff,
            now=fx.now,
            to_level=to_level,
            justification=f"Rule '{rule.name}': {reason}" if to_level else "",
            rule=rule,
            steps=fx.steps_cache[case.path_id],
            make=fx.make_handoff,
            transition=fx.transition,
        )
    except WorkflowError as exc:
        return f"could not escalate: {exc.message}"
    fx.escalations.append(esc)
    # The case has moved: the notice goes to the level it moved to, exactly as a manual
    # escalation's does; the rule's own recipients are resolved against the moved case.
    emails, who = notices.escalation_recipients(case, esc, fx.address_cache)
    if rule.recipients:
        extra = notices.recipients_for(case, rule.recipients, cache=fx.address_cache, moved=esc)
        emails = list(dict.fromkeys([*emails, *extra]))
        who = f"{who} and {', '.join(rule.recipients)}"
    fx.send(
        case, escalation_notice(case, esc), emails, key=f"escalated:{case.pk}:{esc.to_level_id}:{fx.now.isoformat()}"
    )
    return f"escalated {esc.from_level.code} -> {esc.to_level.code}; {_told(emails, who)}"


def _jump(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    if rule.target_level.rank <= case.level.rank:
        return f"already at or above {rule.target_level.code}"
    return _escalate(case, rule, reason, fx, to_level=rule.target_level)


def _raise_priority(case: Case, rule: Rule, reason: str, fx: Effects) -> str:
    if case.priority <= 1:
        return "priority already P1"
    old = case.priority
    case._set_priority(old - 1, fx.now)  # the caller recomputes the due times after the round
    fx.sla_why[case.pk] = f"priority P{old}→P{case.priority} by rule '{rule.name}': {reason}"
    done = f"priority raised to P{case.priority}"
    if not rule.recipients:
        return done
    emails, who = fx.resolve(case, rule.recipients)
    fx.send(
        case,
        notices.Message(
            "rule_notice",
            f"[{case.level.code} P{case.priority}] {rule.name}: case #{case.pk} {case.title}",
            f"Rule '{rule.name}' raised case #{case.pk} {case.title} to P{case.priority}: {reason}.\n"
            f"Open the case: {notices.case_url(case)}",
        ),
        emails,
        key=f"rule:{rule.pk}:{case.pk}:{case.level_id}:{fx.now.isoformat()}",
    )
    return f"{done}; {_told(emails, who)}"


EFFECTS: dict[str, Callable[[Case, Rule, str, Effects], str]] = {
    A.NOTIFY: _notify,
    A.ESCALATE_NEXT: _escalate,
    A.JUMP_LEVEL: _jump,
    A.RAISE_PRIORITY: _raise_priority,
    # Only on a satisfaction answer (``workflow.portal``), whose condition never holds here.
    A.FOLLOW_UP: lambda case, rule, reason, fx: "a follow-up is opened on a satisfaction answer only",
}


def fire(case: Case, active: list[Rule], firings: dict[int, RuleFiring], fx: Effects) -> list[str]:
    """Apply the rules that hold now, in order; returns what happened, in words."""
    done: list[str] = []
    level_id = case.level_id
    for decision in rules.decide(case, active, firings, fx.now):
        rule, reason = decision.rule, decision.reason
        fx.told = []
        outcome = EFFECTS[rule.action](case, rule, reason, fx)
        done.append(f"Rule '{rule.name}' fired ({reason}): {outcome}")
        firing = decision.firing
        said = f"{reason}; {outcome}"  # the firing says what it did and who was told, "nobody" included
        if firing is None:
            firing = fx.make_firing(
                case=case, rule=rule, level_id=level_id, fired_at=fx.now, reason=said, recipients=list(fx.told)
            )
            fx.new_firings.append(firing)
            firings[rule.pk] = firing
        else:
            firing.fired_at, firing.times, firing.reason = fx.now, firing.times + 1, said
            firing.recipients = list(fx.told)
            fx.repeat_firings.append(firing)
    return done


@dataclass
class BatchResult:
    examined: int = 0
    changed: int = 0
    actions: int = 0
    escalations: int = 0
    notifications: int = 0


# A case's tracked values as one tuple (its keys by ``_id``): compared before and after the
# rules, twice per case the sweep looks at, so one C call rather than a generator.
_state = attrgetter(*(f + "_id" if f in ("level", "team", "assignee", "highest_level") else f for f in TRACKED))


def _load(ids: list[int]) -> list[Case]:
    """The claimed cases, sharing one object per level and team instead of a copy per row."""
    cases = list(Case.objects.filter(pk__in=ids).select_related("assignee", "category"))
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams = Team.objects.in_bulk({c.team_id for c in cases if c.team_id})
    for case in cases:
        case.level, case.highest_level = levels[case.level_id], levels[case.highest_level_id]
        case.team = teams.get(case.team_id)
    return cases


def apply_rules(ids: list[int], now: datetime, active: list[Rule]) -> BatchResult:
    """The general path: load the claimed cases through the ORM and ``apply_loaded``."""
    return apply_loaded(_load(ids), now, active)


def apply_loaded(cases: list[Case], now: datetime, active: list[Rule], fx: Effects | None = None) -> BatchResult:
    """Run the claimed cases through the rules at ``now`` and write the results in bulk:
    cases, one history row per changed case (by the system, with what fired as the
    reason), handoffs with their history, firings and outbox rows. The caller holds the
    row locks and the transaction. ``fx``: the fast path's ``Effects`` (plain rows)."""
    with routing.one_batch():  # nothing is written before ``write``: one route per question
        return _apply(cases, now, active, fx or Effects(now=now))


def _apply(cases: list[Case], now: datetime, active: list[Rule], fx: Effects) -> BatchResult:
    out = BatchResult()
    firings = rules.firings_at_level(cases)
    fx.batch = {c.pk for c in cases}
    actor = system_actor()
    changed: list[Case] = []
    for case in cases:
        before, level_before, priority_before = _state(case), case.level_id, case.priority
        breaches = clock.mark_breaches(case, now)
        done = fire(case, active, firings.setdefault(case.pk, {}), fx)
        waits.sync(case, now)  # a case moved up is done waiting at the level it left
        if (case.level_id, case.priority) != (level_before, priority_before):
            due_before = clock.sla_due(case)
            clock.recompute_due(case)
            clock.log_moves(case, due_before, now, fx.sla_why.get(case.pk, ""))
        level_firings = firings[case.pk] if case.level_id == level_before else {}
        case.next_check_at = rules.next_check_at(case, now, active, level_firings)
        if case.next_check_at is not None and case.next_check_at <= now:
            case.next_check_at = now + rules.RECHECK  # the progress guard
        if _state(case) != before:
            case.version += 1
            case._change_reason = "; ".join(done + [f"{b} target breached" for b in breaches]) or "Clock updated"
            case._history_user, case._history_action = actor, RULE
            changed.append(case)
        out.actions += len(done)
    write(cases, changed, fx, actor, now)
    out.examined, out.changed = len(cases), len(changed)
    out.escalations, out.notifications = len(fx.escalations), len(fx.notifications)
    return out


def write(cases: list[Case], changed: list[Case], fx: Effects, actor, now: datetime) -> None:
    """One statement per table: the cases, the handoffs, the firings, the outbox; then the
    two history tables. Their rows are built and hashed first, so each chain's head is
    locked only for its final insert, at the end of the batch (held to commit). Pending
    approval requests of moved cases are re-routed last (rare; their own chain). The rows
    may be models or the fast path's plain rows (the models are named)."""
    bulk_update_rows(cases, CASE_FIELDS, model=Case)
    bulk_insert(fx.escalations, model=Escalation)
    for esc in fx.escalations:
        esc._history_user, esc._history_action = actor, RULE
        esc._change_reason = f"Handoff {esc.from_level.code} -> {esc.to_level.code} by {esc.reason}"
    bulk_insert(fx.new_firings, model=RuleFiring)
    bulk_update_rows(fx.repeat_firings, ["fired_at", "times", "reason", "recipients"], model=RuleFiring)
    if fx.notifications:
        bulk_insert(fx.notifications, skip_conflicts=True, model=Notification)
        notices.request_delivery()
    case_rows = prepare_history(changed, "~", now, model=Case)
    handoff_rows = prepare_history(fx.escalations, "+", now, model=Escalation)
    # The chain heads, in the order the single-case actions lock them (case, handoff, then
    # approval requests), so a sweep and an escalation by hand may queue but never deadlock.
    write_history(case_rows)
    write_history(handoff_rows)
    if fx.escalations:  # requests left below the level a case moved to go up with it
        approvals.reroute_pending(fx.moved_cases(), actor, now)


def record_rule_problems(skipped: dict[int, str], now: datetime) -> int:
    """Keep why rules were skipped (``rules.take_skipped``) so the admin can warn; one row
    per rule, counting skips. Operational data beside the heartbeat, not domain state."""
    for rule_id, reason in skipped.items():
        if not TriggerRule.objects.filter(pk=rule_id).exists():
            continue  # deleted meanwhile
        row, created = RuleProblem.objects.get_or_create(
            rule_id=rule_id, defaults={"reason": reason, "first_seen": now, "last_seen": now, "skipped": 1}
        )
        if not created:
            RuleProblem.objects.filter(pk=row.pk).update(reason=reason, last_seen=now, skipped=F("skipped") + 1)
    return len(skipped)

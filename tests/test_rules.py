"""Trigger rules: each condition and action kind, repeat and stop, pauses, recomputation.

Time is controlled by passing ``now`` to the sweep; cases are opened at the real now."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.domain import clock, rules
from escalations.models import (
    Case,
    CaseStatus,
    Escalation,
    EscalationKind,
    Level,
    Notification,
    RuleFiring,
    TriggerRule,
)
from escalations.workflow import automation

from .factories import TeamFactory, open_case

pytestmark = pytest.mark.django_db
R = TriggerRule


@pytest.fixture(autouse=True)
def _only_our_rules(db):
    TriggerRule.objects.update(is_active=False)


def rule(name, condition, params, action, **kw):
    return TriggerRule.objects.create(name=name, condition=condition, params=params, action=action, **kw)


def reload(case):
    return Case.objects.select_related("level").get(pk=case.pk)


def test_percent_warning_fires_once_then_escalation_at_100(agent):
    team = TeamFactory(name="Desk")
    team.members.add(agent)
    rule(
        "warn half",
        R.Condition.SLA_PERCENT,
        {"target": "response", "percent": 50},
        R.Action.NOTIFY,
        recipients=["assignee", "team"],
        order=1,
    )
    esc_rule = rule(
        "escalate", R.Condition.SLA_PERCENT, {"target": "response", "percent": 100}, R.Action.ESCALATE_NEXT, order=2
    )
    case = open_case(agent, impact=1, urgency=1, team=team)  # P1: L1 response 15 min
    assert case.next_check_at == case.opened_at + timedelta(minutes=7, seconds=30)

    assert run_sweep(now=case.opened_at + timedelta(minutes=5)).actions == 0
    r = run_sweep(now=case.opened_at + timedelta(minutes=8))
    assert r.actions == 1 and r.notifications == 1
    assert run_sweep(now=case.opened_at + timedelta(minutes=9)).actions == 0  # once per level
    assert reload(case).next_check_at == case.response_due_at

    r = run_sweep(now=case.opened_at + timedelta(minutes=15, seconds=1))
    case = reload(case)
    assert (case.status, case.level.code, r.escalations) == (CaseStatus.ESCALATED, "L2", 1)
    esc = Escalation.objects.get(case=case)
    assert esc.rule == esc_rule and esc.raised_by == workflow.system_actor() and esc.kind == EscalationKind.ESCALATE
    assert "escalate" in esc.summary and esc.handoff_complete
    last = case.history.first()
    assert "Rule 'escalate' fired" in last.history_change_reason and last.history_user == workflow.system_actor()
    assert last.history_action == "rule"
    assert "response target breached" in last.history_change_reason
    assert case.ola_response_breached_at is None  # the L2 response clock (its OLA) is a new one
    # At L2 the OLA response clock restarts at the handoff: 1 h for P1; the SLA does not move.
    assert case.ola_response_due_at == case.level_entered_at + timedelta(hours=1)
    assert case.response_due_at == case.opened_at + timedelta(minutes=15)
    assert RuleFiring.objects.filter(case=case).count() == 2


def test_repeat_interval_fires_again_only_after_the_interval(agent):
    rule(
        "nag",
        R.Condition.SLA_PERCENT,
        {"target": "resolution", "percent": 10},
        R.Action.NOTIFY,
        recipients=["requester"],
        repeat_every=timedelta(minutes=30),
    )
    case = open_case(agent, impact=1, urgency=1)  # resolution 4 h -> 10 % = 24 min
    t0 = case.opened_at + timedelta(minutes=25)
    assert run_sweep(now=t0).actions == 1
    assert run_sweep(now=t0 + timedelta(minutes=29)).actions == 0
    assert run_sweep(now=t0 + timedelta(minutes=30)).actions == 1
    firing = RuleFiring.objects.get(case=case)
    assert firing.times == 2
    assert Notification.objects.filter(case=case, event="rule_notice").count() == 2


def test_stop_processing_skips_later_rules(agent):
    rule(
        "first",
        R.Condition.PRIORITY,
        {"at_most": 1},
        R.Action.NOTIFY,
        recipients=["requester"],
        order=1,
        stop_processing=True,
    )
    rule("second", R.Condition.PRIORITY, {"at_most": 1}, R.Action.RAISE_PRIORITY, order=2)
    case = open_case(agent, impact=1, urgency=1)
    assert case.next_check_at == case.opened_at  # a static condition holds at once
    run_sweep(now=case.opened_at + timedelta(seconds=1))
    assert list(RuleFiring.objects.filter(case=case).values_list("rule__name", flat=True)) == ["first"]


@pytest.mark.parametrize(
    "condition,params,fields,holds",
    [
        (R.Condition.PRIORITY, {"at_most": 2}, {"impact": 1, "urgency": 2}, True),
        (R.Condition.PRIORITY, {"at_most": 2}, {"impact": 3, "urgency": 3}, False),
        (R.Condition.IMPACT, {"at_most": 1}, {"impact": 1}, True),
        (R.Condition.IMPACT, {"at_most": 1}, {"impact": 2}, False),
        (R.Condition.COMPLEXITY, {"in": ["high"]}, {"complexity": "high"}, True),
        (R.Condition.COMPLEXITY, {"in": ["high"]}, {"complexity": "low"}, False),
        (R.Condition.CUSTOMER_TIER, {"in": ["vip"]}, {"customer_tier": "vip"}, True),
        (R.Condition.CUSTOMER_TIER, {"in": ["vip"]}, {"customer_tier": "standard"}, False),
    ],
)
def test_static_conditions(agent, condition, params, fields, holds):
    rule("r", condition, params, R.Action.NOTIFY, recipients=["requester"])
    case = open_case(agent, **fields)
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    assert RuleFiring.objects.filter(case=case).exists() is holds


def test_vip_jumps_to_a_level_with_the_rule_as_justification(agent):
    rule(
        "VIP to L3",
        R.Condition.CUSTOMER_TIER,
        {"in": ["vip"]},
        R.Action.JUMP_LEVEL,
        target_level=Level.objects.get(code="L3"),
    )
    case = open_case(agent, customer_tier="vip")
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    case = reload(case)
    esc = Escalation.objects.get(case=case)
    assert (case.level.code, esc.kind) == ("L3", EscalationKind.JUMP)
    assert "VIP to L3" in esc.justification and "customer tier is vip" in esc.justification


def test_reassignments_at_one_level(agent, agent2, manager):
    rule("ping-pong", R.Condition.REASSIGNMENTS, {"at_least": 2}, R.Action.NOTIFY, recipients=["requester"])
    case = open_case(agent)
    for who in (agent, agent2, agent):
        workflow.case_assign(case_id=case.pk, actor=manager, assignee_id=who.pk)
    assert reload(case).reassignment_count == 2
    assert run_sweep(now=timezone.now() + timedelta(seconds=1)).actions == 1


def test_reopens_escalate(agent):
    rule("reopened twice", R.Condition.REOPENS, {"at_least": 2}, R.Action.ESCALATE_NEXT)
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    for _ in range(2):
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
        workflow.case_reopen(case_id=case.pk, actor=workflow.system_actor(), reason="Still broken")
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    assert reload(case).level.code == "L2"


def test_no_response_within_minutes(agent):
    rule("nobody answered", R.Condition.NO_RESPONSE, {"minutes": 10}, R.Action.ESCALATE_NEXT)
    quiet = open_case(agent)
    answered = open_case(agent)
    workflow.case_take(case_id=answered.pk, actor=agent)
    assert reload(answered).next_check_at != quiet.opened_at + timedelta(minutes=10)
    run_sweep(now=quiet.opened_at + timedelta(minutes=11))
    assert reload(quiet).level.code == "L2"
    assert reload(answered).level.code == "L1"


def test_raise_priority_recomputes_due_times(agent):
    rule("hurry", R.Condition.SLA_PERCENT, {"target": "response", "percent": 50}, R.Action.RAISE_PRIORITY)
    case = open_case(agent, impact=3, urgency=3)  # P4: 15 min x 4 = 1 h response
    assert case.response_due_at == case.opened_at + timedelta(hours=1)
    raised = case.opened_at + timedelta(minutes=31)
    run_sweep(now=raised)
    case = reload(case)
    assert case.priority == 3
    # A new priority is a new commitment: the SLA runs from the change; the level's OLA from its entry.
    assert case.response_due_at == raised + timedelta(minutes=30)
    assert case.ola_response_due_at == case.opened_at + timedelta(minutes=30)
    assert case.sla_changes[0]["why"].startswith("priority P4→P3 by rule 'hurry'")


def test_and_conditions_combine(agent):
    rule(
        "vip half",
        R.Condition.SLA_PERCENT,
        {"target": "response", "percent": 50, "and": [{"condition": "customer_tier", "in": ["vip"]}]},
        R.Action.NOTIFY,
        recipients=["requester"],
    )
    vip, plain = open_case(agent, customer_tier="vip"), open_case(agent)
    run_sweep(now=vip.opened_at + timedelta(minutes=20))
    assert RuleFiring.objects.filter(case=vip).exists()
    assert not RuleFiring.objects.filter(case=plain).exists()


def test_paused_case_is_not_swept_and_pause_time_does_not_count(agent):
    rule("escalate", R.Condition.SLA_PERCENT, {"target": "response", "percent": 100}, R.Action.ESCALATE_NEXT)
    case = open_case(agent, impact=1, urgency=1)
    workflow.case_take(case_id=case.pk, actor=agent)  # answered: response clock stops
    rule("resolution", R.Condition.SLA_PERCENT, {"target": "resolution", "percent": 100}, R.Action.ESCALATE_NEXT)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for logs")
    assert reload(case).next_check_at is None
    assert run_sweep(now=case.opened_at + timedelta(hours=10)).examined == 0
    # The case was opened two hours ago and the pause began an hour ago (set as the past).
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        opened_at=now - timedelta(hours=2),
        level_entered_at=now - timedelta(hours=2),
        paused_at=now - timedelta(hours=1),
    )
    case = workflow.case_resume(case_id=case.pk, actor=agent)
    paused = case.pauses[-1]
    pause_length = timezone.datetime.fromisoformat(paused[1]) - timezone.datetime.fromisoformat(paused[0])
    assert case.resolution_due_at == case.opened_at + timedelta(hours=4) + pause_length
    # Changing priority keeps the paused time already accumulated.
    Case.objects.filter(pk=case.pk).update(priority=2)
    case = reload(case)
    clock.recompute_due(case)
    assert case.resolution_due_at == case.opened_at + timedelta(hours=8) + pause_length


def test_escalation_restarts_the_response_clock_at_the_next_level(agent):
    case = open_case(agent, impact=1, urgency=1)
    workflow.case_take(case_id=case.pk, actor=agent)
    from .factories import HANDOFF

    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    case = reload(case)
    assert case.responded_at is None
    assert case.ola_response_due_at == case.level_entered_at + timedelta(hours=1)
    words = " ".join(clock.describe(case, case.level_entered_at + timedelta(minutes=30)))
    assert "50% used" in words and "L2" in words


def test_dispatch_tables_cover_every_kind():
    assert set(rules.CONDITIONS) == set(R.Condition.values)
    assert set(automation.EFFECTS) == set(R.Action.values)

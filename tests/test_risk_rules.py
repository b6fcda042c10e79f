"""Rules on the predicted risk: the condition, its combination with the others, the sweep
(the scoring makes a case due), the admin's rule form and the policy what-if.

The risk comes from a stored model written by hand (the same JSON the training stores):
P1 cases score 0.88, the others 0.27; a VIP customer adds to the log-odds."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from escalations.automation.sweep import run_sweep
from escalations.domain import rules
from escalations.intelligence.risk import score_open_cases
from escalations.models import Case, RuleFiring, TriggerRule
from escalations.models.policy import condition_problem

from .factories import TeamFactory, hand_model, open_case

pytestmark = pytest.mark.django_db
R = TriggerRule
HIGH, LOW = 0.8808, 0.2689  # sigmoid(2), sigmoid(-1)


@pytest.fixture(autouse=True)
def _only_our_rules(db):
    TriggerRule.objects.update(is_active=False)


def rule(name, condition, params, action=R.Action.NOTIFY, **kw):
    if action == R.Action.NOTIFY:
        kw.setdefault("recipients", ["team"])
    return TriggerRule.objects.create(name=name, condition=condition, params=params, action=action, **kw)


def fired(case, name) -> bool:
    return RuleFiring.objects.filter(case=case, rule__name=name).exists()


@pytest.mark.parametrize(
    "params,problem",
    [
        ({"at_least": 0.6}, None),
        ({"at_least": 1}, None),
        ({"at_least": 0}, "a probability from 0.01 to 1"),
        ({"at_least": 60}, "a probability from 0.01 to 1"),
        ({"at_least": "0.6"}, "a probability from 0.01 to 1"),
        ({}, "a probability from 0.01 to 1"),
    ],
)
def test_risk_condition_values_are_checked(params, problem):
    for condition in (R.Condition.BREACH_RISK, R.Condition.ESCALATION_RISK):
        found = condition_problem(condition, params)
        assert (found is None) if problem is None else (problem in found)
    nested = condition_problem(R.Condition.PRIORITY, {"at_most": 2, "and": [{"condition": "breach_risk", **params}]})
    assert (nested is None) if problem is None else ('In "and"' in nested)


def test_risk_condition_reads_the_score_and_ignores_unscored_cases(agent):
    check = rules.CONDITIONS[R.Condition.BREACH_RISK]
    case = open_case(agent)
    now = timezone.now()
    assert case.breach_risk is None and check(case, {"at_least": 0.01}, now) is None
    case.breach_risk = 0.6
    assert check(case, {"at_least": 0.6}, now) == "predicted breach risk 0.60 (threshold 0.6)"
    assert check(case, {"at_least": 0.61}, now) is None
    case.escalation_risk = 0.9
    assert "escalation risk 0.90" in rules.CONDITIONS[R.Condition.ESCALATION_RISK](case, {"at_least": 0.8}, now)


def test_scoring_makes_a_case_due_and_the_sweep_fires_the_rule(agent):
    hand_model()
    rule("risky", R.Condition.BREACH_RISK, {"at_least": 0.6})
    risky = open_case(agent, impact=1, urgency=1)  # P1
    calm = open_case(agent, impact=3, urgency=3)
    # Not scored yet: nothing is due because of the rule.
    assert Case.objects.get(pk=risky.pk).next_check_at > timezone.now()
    assert score_open_cases(unscored_only=True) == 2
    risky, calm = Case.objects.get(pk=risky.pk), Case.objects.get(pk=calm.pk)
    assert risky.breach_risk == pytest.approx(HIGH, abs=1e-4) and calm.breach_risk == pytest.approx(LOW, abs=1e-4)
    assert risky.next_check_at <= timezone.now()  # made due by the scoring
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    assert fired(risky, "risky") and not fired(calm, "risky")
    firing = RuleFiring.objects.get(case=risky)
    assert firing.rule.name == "risky"
    # Scored already: the five-minute task leaves them; the full scoring keeps them as they are.
    assert score_open_cases(unscored_only=True) == 0
    before = Case.objects.get(pk=calm.pk).next_check_at
    score_open_cases()
    assert Case.objects.get(pk=calm.pk).next_check_at == before  # risk unchanged: not made due


def test_warn_the_team_lead_when_risky_and_half_the_response_time_is_gone(agent):
    """ "breach risk >= 0.6 and half the response time is gone": due at the 50 % moment."""
    hand_model()
    team = TeamFactory(name="Desk")
    team.members.add(agent)
    rule(
        "risky at half time",
        R.Condition.BREACH_RISK,
        {"at_least": 0.6, "and": [{"condition": "sla_percent", "target": "response", "percent": 50}]},
        recipients=["team_manager"],
    )
    risky = open_case(agent, impact=1, urgency=1, team=team)  # P1: L1 response 15 min
    calm = open_case(agent, impact=3, urgency=3, team=team)
    score_open_cases()
    risky = Case.objects.get(pk=risky.pk)
    half = risky.opened_at + timedelta(minutes=7, seconds=30)
    t = timezone.now()
    fetched = Case.objects.select_related("level").get(pk=risky.pk)
    assert rules.next_check_at(fetched, t) == half  # the rule's moment: its latest condition
    run_sweep(now=t + timedelta(seconds=1))
    assert not fired(risky, "risky at half time")
    assert Case.objects.get(pk=risky.pk).next_check_at == half  # not re-checked every minute
    run_sweep(now=half + timedelta(seconds=1))
    assert fired(risky, "risky at half time")
    run_sweep(now=calm.opened_at + timedelta(hours=30))
    assert not fired(calm, "risky at half time")


def test_escalate_early_when_risky_for_vip_customers(agent):
    """ "escalate early when breach risk >= 0.8 for gold customers"."""
    hand_model(weights={"tier:vip": 1.0}, intercept=-1.0)  # P2 VIP: 0.5, P1 VIP: 0.95
    rule(
        "early for VIP",
        R.Condition.BREACH_RISK,
        {"at_least": 0.8, "and": [{"condition": "customer_tier", "in": ["vip"]}]},
        R.Action.ESCALATE_NEXT,
    )
    vip_risky = open_case(agent, impact=1, urgency=1, customer_tier="vip")
    vip_calm = open_case(agent, impact=2, urgency=2, customer_tier="vip")
    standard_risky = open_case(agent, impact=1, urgency=1)
    score_open_cases()
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    levels = dict(Case.objects.values_list("pk", "level__code"))
    assert levels[vip_risky.pk] == "L2"
    assert levels[vip_calm.pk] == "L1" and levels[standard_risky.pk] == "L1"


def test_priority_rule_with_an_escalation_risk_condition(agent):
    hand_model(target="escalation")
    rule(
        "P1 likely to climb",
        R.Condition.PRIORITY,
        {"at_most": 2, "and": [{"condition": "escalation_risk", "at_least": 0.5}]},
    )
    p1 = open_case(agent, impact=1, urgency=1)
    p2 = open_case(agent, impact=1, urgency=2)
    run_sweep(now=timezone.now() + timedelta(seconds=1))
    assert not fired(p1, "P1 likely to climb")  # not scored yet
    score_open_cases()
    run_sweep(now=timezone.now() + timedelta(seconds=2))
    assert fired(p1, "P1 likely to climb") and not fired(p2, "P1 likely to climb")


# -- the admin's rule form (no JSON) ------------------------------------------------------


def rule_post(**fields) -> dict:
    data = {
        "name": "Risky at half time",
        "order": 100,
        "is_active": "on",
        "level": "",
        "condition": "breach_risk",
        "risk_at_least": "0.6",
        "action": "notify",
        "recipients": ["team_manager"],
        "target_level": "",
        "repeat_every": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_rule_form_builds_a_risk_rule_with_and_conditions(client, manager):
    client.force_login(manager)
    add = reverse("admin:escalations_triggerrule_add")
    mistakes = [
        (rule_post(risk_at_least="1.5"), "risk_at_least", "less than or equal to 1"),
        (rule_post(risk_at_least=""), "risk_at_least", "required for the condition"),
        (rule_post(and_percent="50"), "and_target", "Fill this in too"),
        (rule_post(and_breach_risk="0"), "and_breach_risk", "greater than or equal to 0.01"),
    ]
    for data, field, text in mistakes:
        response = client.post(add, data)
        assert response.status_code == 200, field
        errors = response.context["adminform"].form.errors
        assert field in errors and text in " ".join(errors[field]), (field, errors)
    assert not TriggerRule.objects.filter(name="Risky at half time").exists()

    response = client.post(add, rule_post(and_target="response", and_percent="50", and_tier_in=["vip"]))
    assert response.status_code == 302
    saved = TriggerRule.objects.get(name="Risky at half time")
    assert saved.params == {
        "at_least": 0.6,
        "and": [
            {"condition": "sla_percent", "target": "response", "percent": 50},
            {"condition": "customer_tier", "in": ["vip"]},
        ],
    }
    change = reverse("admin:escalations_triggerrule_change", args=[saved.pk])
    form = client.get(change).context["adminform"].form
    assert form.initial["risk_at_least"] == 0.6 and form.initial["and_percent"] == 50
    assert form.initial["and_tier_in"] == ["vip"]
    # An "and" the form cannot show (complexity, set in the shell) is kept on save.
    saved.params["and"].append({"condition": "complexity", "in": ["high"]})
    saved.save()
    data = rule_post(and_target="response", and_percent="75")
    assert client.post(change, data).status_code == 302
    saved.refresh_from_db()
    assert saved.params["and"] == [
        {"condition": "sla_percent", "target": "response", "percent": 75},
        {"condition": "complexity", "in": ["high"]},
    ]
    listing = client.get(reverse("admin:escalations_triggerrule_changelist")).content.decode()
    cells = re.findall(r'<td class="field-params_text">(.*?)</td>', listing)
    assert "at least 0.6, and 75 % of response, complexity is high" in cells, cells

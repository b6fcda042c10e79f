"""Policy what-if: replaying a period's real cases against a draft policy and draft rules
counts breaches and escalations per level and the load per team, and writes nothing."""

import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from escalations import workflow
from escalations.automation import whatif
from escalations.models import (
    BusinessCalendar,
    Case,
    Collaboration,
    Escalation,
    Note,
    Notification,
    RuleFiring,
    SlaPolicy,
    SlaTarget,
    TriggerRule,
)

from .factories import HANDOFF, TeamFactory, hand_model, level, open_case

pytestmark = pytest.mark.django_db
R = TriggerRule
DAY = date(2025, 6, 2)  # the clock fixture's Monday


@pytest.fixture
def draft(db):
    """A tight draft policy and two inactive draft rules (the live rules are switched off)."""
    TriggerRule.objects.update(is_active=False)
    policy = SlaPolicy.objects.create(name="Tight", calendar=BusinessCalendar.objects.get(name="24x7"))
    for code, response, resolution in (("L1", 10, 30), ("L2", 60, 120)):
        SlaTarget.objects.create(
            policy=policy,
            level=level(code),
            priority=3,
            response=timedelta(minutes=response),
            resolution=timedelta(minutes=resolution),
        )
    warn = TriggerRule.objects.create(
        name="Draft warn",
        is_active=False,
        condition=R.Condition.SLA_PERCENT,
        params={"target": "response", "percent": 50},
        action=R.Action.NOTIFY,
        recipients=["team"],
        order=1,
    )
    esc = TriggerRule.objects.create(
        name="Draft escalate",
        is_active=False,
        level=level("L1"),
        condition=R.Condition.SLA_PERCENT,
        params={"target": "response", "percent": 150},
        action=R.Action.ESCALATE_NEXT,
        order=2,
    )
    return policy, [warn, esc]


@pytest.fixture
def period(clock, agent, specialist):
    """Four P3 cases opened on the day, lived through the real workflow; one the day before."""
    desk = TeamFactory(name="Desk")
    desk.members.add(agent)
    start = clock.now
    clock.now = start - timedelta(days=1)
    open_case(agent, title="E: the day before", team=desk)
    clock.now = start
    a = open_case(agent, title="A", team=desk)
    b = open_case(agent, title="B", team=desk)
    c = open_case(agent, title="C", team=desk)
    d = open_case(agent, title="D", team=desk)
    clock.advance(minutes=3)
    workflow.case_escalate(case_id=c.pk, actor=agent, handoff=HANDOFF)  # a person escalates C
    clock.advance(minutes=2)
    workflow.case_take(case_id=a.pk, actor=agent)  # A answered at 5 min
    clock.advance(minutes=15)
    workflow.case_resolve(case_id=b.pk, actor=agent, summary="Fixed.")  # B silent, then resolved at 20 min
    clock.advance(minutes=10)
    workflow.case_accept(case_id=c.pk, actor=specialist)  # L2 takes C at 30 min
    clock.advance(minutes=30)
    workflow.case_resolve(case_id=a.pk, actor=agent, summary="Fixed.")
    workflow.case_resolve(case_id=c.pk, actor=specialist, summary="Fixed.")
    clock.advance(days=1)  # D is never touched
    return {"a": a, "b": b, "c": c, "d": d}


def written() -> tuple:
    return (
        Case.objects.count(),
        Escalation.objects.count(),
        Case.history.count(),
        Escalation.history.count(),
        Notification.objects.count(),
        RuleFiring.objects.count(),
        Note.objects.count(),
        Collaboration.objects.count(),
        list(Case.objects.order_by("pk").values_list("pk", "version", "level_id", "team_id", "status")),
    )


def test_replay_counts_breaches_escalations_and_load(draft, period):
    policy, rules = draft
    before = written()
    report = whatif.simulate(DAY, DAY, policy, rules)
    assert written() == before  # nothing was written

    assert report.cases == 4 and not report.truncated
    l1, l2 = report.levels["L1"], report.levels["L2"]
    # A: answered in time, resolution (30 min) missed at L1. B and D: silent, response missed
    # at 10 min, escalated by the draft rule at 15 min. C: escalated by a person at 3 min.
    assert (l1.cases, l1.response_breaches, l1.resolution_breaches, l1.rule_escalations, l1.manual_escalations) == (
        4,
        2,
        1,
        2,
        1,
    )
    # At L2: B answered at 20 min (its resolution), C at 30 min (accepted); D never: both
    # its clocks run out there. The customer's resolution (the SLA, 30 min from intake) does
    # not move with the escalation: C, resolved at L2 at 60 min, misses it there too.
    assert (l2.cases, l2.response_breaches, l2.resolution_breaches, l2.rule_escalations) == (3, 1, 2, 0)
    assert report.levels["L3"].cases == 0
    assert (report.cases_breaching_response, report.cases_breaching_resolution, report.cases_escalated_by_rule) == (
        2,
        3,  # A, C and D
        2,
    )
    # The 50 % warning: B and D at L1, D again at L2 (a rule fires once per level).
    assert report.notices == 3
    desk, l2_pool = report.teams["Desk"], report.teams["(no team) L2"]
    assert (desk.cases, desk.escalations_in, desk.peak_open) == (4, 0, 4)
    assert (l2_pool.cases, l2_pool.escalations_in, l2_pool.peak_open) == (3, 3, 3)


def test_without_rules_only_breaches_and_real_escalations(draft, period):
    policy, _ = draft
    report = whatif.simulate(DAY, DAY, policy, [])
    l1, l2 = report.levels["L1"], report.levels["L2"]
    # B and D stay at L1 now: B answers at 20 min (late), D never; A and D miss the resolution.
    assert (l1.response_breaches, l1.resolution_breaches, l1.rule_escalations, l1.manual_escalations) == (2, 2, 0, 1)
    assert (l2.cases, l2.response_breaches) == (1, 0)
    assert report.notices == 0 and report.cases_escalated_by_rule == 0


def test_a_generous_policy_breaches_nothing(draft, period):
    generous = SlaPolicy.objects.create(name="Generous", calendar=BusinessCalendar.objects.get(name="24x7"))
    for code in ("L1", "L2"):
        SlaTarget.objects.create(
            policy=generous, level=level(code), priority=3, response=timedelta(days=5), resolution=timedelta(days=10)
        )
    report = whatif.simulate(DAY, DAY, generous, draft[1])
    assert report.cases_breaching_response == report.cases_breaching_resolution == 0
    assert report.cases_escalated_by_rule == 0 and report.levels["L1"].manual_escalations == 1


def test_an_empty_period(draft):
    report = whatif.simulate(date(2020, 1, 1), date(2020, 1, 31), draft[0], draft[1])
    assert report.cases == 0 and report.teams == {}
    assert "0 cases replayed" in "\n".join(report.lines())


def test_the_command_prints_a_table_and_a_json_line(draft, period):
    out = StringIO()
    call_command(
        "whatif",
        "--from",
        "2025-06-02",
        "--to",
        "2025-06-02",
        "--policy",
        "Tight",
        "--rules",
        ",".join(str(r.pk) for r in draft[1]),
        stdout=out,
    )
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("What-if 2025-06-02 .. 2025-06-02: policy 'Tight'")
    assert any(line.split()[:3] == ["L1", "4", "2"] for line in lines)
    data = json.loads(lines[-1])
    assert data["cases"] == 4 and data["levels"]["L1"]["rule_escalations"] == 2
    assert data["teams"]["Desk"]["peak_open"] == 4

    out = StringIO()
    call_command(
        "whatif", "--from", "2025-06-02", "--to", "2025-06-02", "--policy", "Tight", "--rules", "active", stdout=out
    )
    assert json.loads(out.getvalue().strip().splitlines()[-1])["rules"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "Nope"], "There is no SLA policy 'Nope'"),
        (["--policy", "Tight", "--rules", "x"], "--rules takes all, active or rule ids"),
        (["--policy", "Tight", "--rules", "99999"], "There is no trigger rule 99999"),
    ],
)
def test_the_command_explains_bad_input(draft, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("whatif", "--from", "2025-06-01", "--to", "2025-06-02", *args, stdout=StringIO())
    with pytest.raises(CommandError, match="not a date"):
        call_command("whatif", "--from", "June", "--to", "2025-06-02", "--policy", "Tight", stdout=StringIO())


def test_the_admin_page_for_managers(client, manager, agent, draft, period):
    url = reverse("admin:escalations_scoringpolicy_whatif")
    client.force_login(manager)
    assert url in client.get(reverse("admin:escalations_scoringpolicy_changelist")).content.decode()
    page = client.get(url)
    assert page.status_code == 200 and page.context["report"] is None
    before = written()
    params = {
        "date_from": "2025-06-02",
        "date_to": "2025-06-02",
        "policy": draft[0].pk,
        "rules": [r.pk for r in draft[1]],
    }
    page = client.get(url, params)
    assert page.status_code == 200 and written() == before
    text = page.content.decode()
    assert "Replay of 4 cases" in text and 'id="whatif-levels"' in text and "(no team) L2" in text
    assert page.context["report"].levels["L1"].rule_escalations == 2
    page = client.get(url, {**params, "date_to": "2025-05-01"})
    assert "The period ends before it starts." in page.content.decode()

    client.force_login(agent)
    assert client.get(url, params).status_code == 403


def test_replay_with_a_risk_rule_reports_flags_lead_times_and_escalations(draft, period):
    """Every case scores 0.27 at intake (P3): a rule at 0.25 flags them all at opening. A, C
    and D breach the 30-minute resolution target 30 minutes later; B, resolved at 20
    minutes, is a false alarm."""
    policy, rules = draft
    hand_model()
    flag = TriggerRule.objects.create(
        name="Risky",
        is_active=False,
        condition=R.Condition.BREACH_RISK,
        params={"at_least": 0.25},
        action=R.Action.NOTIFY,
        recipients=["team"],
        order=0,
    )
    before = written()
    report = whatif.simulate(DAY, DAY, policy, [flag, *rules])
    assert written() == before
    risk = report.risk
    assert (risk.rules, risk.scored, risk.flagged) == (["Risky"], 4, 4)
    assert (risk.breaches, risk.breaches_flagged, risk.breaches_missed, risk.false_alarms) == (3, 3, 0, 1)
    assert risk.lead_minutes_median == 30.0 and risk.escalations == 0
    assert "3 of 3 resolution breaches flagged in advance, median 30.0 min ahead" in "\n".join(report.lines())
    # Above every case's risk: nothing flagged, every breach missed.
    flag.params = {"at_least": 0.5}
    quiet = whatif.simulate(DAY, DAY, policy, [flag, *rules]).risk
    assert (quiet.flagged, quiet.breaches_missed, quiet.lead_minutes_median) == (0, 3, None)
    # An escalating risk rule: the escalations it causes are counted.
    early = TriggerRule.objects.create(
        name="Early",
        is_active=False,
        level=level("L1"),
        condition=R.Condition.PRIORITY,
        params={"at_most": 3, "and": [{"condition": "breach_risk", "at_least": 0.25}]},
        action=R.Action.ESCALATE_NEXT,
    )
    escalating = whatif.simulate(DAY, DAY, policy, [early])
    assert escalating.risk.escalations == 4 and escalating.cases_escalated_by_rule == 4
    # The command and the page show the same figures.
    out = StringIO()
    call_command(
        "whatif", "--from", str(DAY), "--to", str(DAY), "--policy", "Tight", "--rules", str(flag.pk), stdout=out
    )
    printed = json.loads(out.getvalue().splitlines()[-1])["risk"]
    assert (printed["flagged"], printed["false_alarms"], printed["lead_minutes_median"]) == (4, 1, 30.0)
    assert "Risk rules (Risky): 4 cases scored, 4 flagged" in out.getvalue()


def test_the_admin_page_shows_the_risk_rules_figures(client, manager, draft, period):
    hand_model()
    flag = TriggerRule.objects.create(
        name="Risky", is_active=False, condition=R.Condition.BREACH_RISK, params={"at_least": 0.25},
        action=R.Action.NOTIFY, recipients=["team"],
    )  # fmt: skip
    client.force_login(manager)
    params = {"date_from": "2025-06-02", "date_to": "2025-06-02", "policy": draft[0].pk, "rules": [flag.pk]}
    text = client.get(reverse("admin:escalations_scoringpolicy_whatif"), params).content.decode()
    assert 'id="whatif-risk"' in text and "3 of 3 resolution breaches flagged in advance" in text

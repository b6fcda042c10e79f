"""Notices go to the right people (issue 11, point 5).

Every rule action x every recipient kind is fired by the real sweep against a case at L1,
and the addresses on the outbox rows (and on the rule firing) are compared with what the
case looked like before and after the move. The rendered e-mails are read back through
Django's locmem backend after the outbox is flushed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from escalations import workflow
from escalations.automation import outbox
from escalations.automation.sweep import run_sweep
from escalations.models import (
    Case,
    EscalationPath,
    KnowledgeArticle,
    Notification,
    PathStep,
    RecipientKind,
    RuleFiring,
    TriggerRule,
)

from .factories import HANDOFF, CategoryFactory, TeamFactory, UserFactory, level, open_case

pytestmark = pytest.mark.django_db

A = TriggerRule.Action
AGENT, RITA, WATCHER = "alice@example.com", "rita@example.com", "walter@example.com"
FRONT, SECOND, THIRD = "front@example.com", "second@example.com", "third@example.com"
M1, M2, M3 = "boss-l1@example.com", "boss-l2@example.com", "boss-l3@example.com"


@pytest.fixture
def desk(agent):
    """A team at each of L1-L3 with its own address and manager; no other rule is active."""
    TriggerRule.objects.update(is_active=False)
    teams = {}
    for code, name, email, boss in (
        ("L1", "Front", FRONT, M1),
        ("L2", "Second", SECOND, M2),
        ("L3", "Third", THIRD, M3),
    ):
        manager = UserFactory(username=boss.split("@")[0], email=boss)
        teams[code] = TeamFactory(name=name, level=level(code), email=email, manager=manager)
    teams["L1"].members.add(agent)
    return teams


def _case(agent, desk, *, with_teams: bool, **kw) -> Case:
    """An L1 case held by the agent in the Front team, watched, on a path L1 -> L2 -> L3
    whose upper steps name a team (``with_teams``) or not (the receiving level decides)."""
    category = CategoryFactory()
    path = EscalationPath.objects.create(name=f"Path for {category.code}", category=category)
    for order, code in enumerate(("L1", "L2", "L3"), start=1):
        team = desk[code] if with_teams or code == "L1" else None
        PathStep.objects.create(path=path, order=order, level=level(code), team=team)
    case = open_case(agent, category=category, team=desk["L1"], **kw)
    workflow.case_take(case_id=case.pk, actor=agent)
    case.watchers.add(UserFactory(username="walter", email=WATCHER))
    return case


def _rule(action: str, kinds: list[str]) -> TriggerRule:
    return TriggerRule.objects.create(
        name=f"{action} {kinds}",
        order=1,
        level=level("L1"),
        condition=TriggerRule.Condition.PRIORITY,
        params={"at_most": 4},
        action=action,
        recipients=kinds,
        target_level=level("L3") if action == A.JUMP_LEVEL else None,
    )


def _expected(action: str, kind: str, with_teams: bool) -> set[str]:
    """Who must be told, from the case before the move (L1, Front, the agent) and after it."""
    if action in (A.NOTIFY, A.RAISE_PRIORITY):  # nothing moved: the kinds name the case as it is
        return {
            "assignee": {AGENT},
            "team": {FRONT},
            "team_manager": {M1},
            "next_level": {SECOND},
            "watchers": {WATCHER, AGENT},  # the opener follows the case too
            "requester": {RITA},
        }[kind]
    to = "L3" if action == A.JUMP_LEVEL else "L2"
    level_address, team_manager = {"L2": (SECOND, M2), "L3": (THIRD, M3)}[to]
    # The receiving team when the path names one, else every team at the level moved to.
    base = {level_address}
    by_kind = {
        "assignee": {AGENT},  # the person who held it: the move left it unassigned
        "team": {level_address} if with_teams else set(),
        "team_manager": {team_manager} if with_teams else set(),
        "next_level": {level_address},  # the level it moved to, never the one above
        "watchers": {WATCHER, AGENT},  # the opener follows the case too
        "requester": {RITA},
    }
    return base | by_kind[kind]


@pytest.mark.parametrize("with_teams", [True, False], ids=["path-names-teams", "path-without-teams"])
@pytest.mark.parametrize("kind", RecipientKind.values)
@pytest.mark.parametrize("action", [A.NOTIFY, A.ESCALATE_NEXT, A.JUMP_LEVEL, A.RAISE_PRIORITY])
def test_every_rule_action_and_recipient_kind_reaches_the_right_people(agent, desk, action, kind, with_teams):
    rule = _rule(action, [kind])
    case = _case(agent, desk, with_teams=with_teams, impact=2, urgency=2)  # P2: a raise is possible
    Notification.objects.all().delete()
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    case = Case.objects.select_related("level").get(pk=case.pk)
    if action == A.ESCALATE_NEXT:
        assert case.level.code == "L2"
    elif action == A.JUMP_LEVEL:
        assert case.level.code == "L3"
    else:
        assert case.level.code == "L1"
    told = set(Notification.objects.filter(case=case).values_list("recipient", flat=True))
    expected = _expected(action, kind, with_teams)
    assert told == expected
    firing = RuleFiring.objects.get(case=case, rule=rule)
    assert set(firing.recipients) == expected
    assert THIRD not in told or action == A.JUMP_LEVEL  # an L1 -> L2 move never mails L3


def test_sweep_escalation_is_addressed_like_a_manual_one(agent, desk):
    """The bug: the sweep addressed "next_level" after the move, so L1 -> L2 mailed L3."""
    _rule(A.ESCALATE_NEXT, [])
    swept = _case(agent, desk, with_teams=False, title="Swept")
    manual = _case(agent, desk, with_teams=False, title="By hand")
    Notification.objects.all().delete()
    workflow.case_escalate(case_id=manual.pk, actor=agent, handoff=HANDOFF)
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    for case in (swept, manual):
        rows = Notification.objects.filter(case=case, event="escalated")
        assert set(rows.values_list("recipient", flat=True)) == {SECOND}


def test_recipients_that_resolve_to_nobody_fall_back_and_say_so(agent, desk):
    rule = _rule(A.NOTIFY, ["assignee", "team"])
    case = open_case(agent, title="Nobody holds it")  # no team, no assignee
    Notification.objects.all().delete()
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    assert set(Notification.objects.filter(case=case).values_list("recipient", flat=True)) == {FRONT}
    firing = RuleFiring.objects.get(case=case, rule=rule)
    assert firing.recipients == [FRONT]
    assert f"notified the L1 teams (no assignee, team to tell): {FRONT}" in firing.reason


def test_without_team_addresses_the_team_manager_is_told(agent, desk):
    desk["L1"].email = ""
    desk["L1"].save()
    desk["L1"].members.clear()
    rule = _rule(A.NOTIFY, ["assignee"])
    case = open_case(agent, title="No one at the desk", team=desk["L1"])
    Notification.objects.all().delete()
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    assert RuleFiring.objects.get(case=case, rule=rule).recipients == [M1]
    assert list(Notification.objects.filter(case=case).values_list("recipient", flat=True)) == [M1]


def test_notifying_nobody_is_recorded_with_the_reason(agent, desk):
    for team in desk.values():
        team.delete()
    rule = _rule(A.NOTIFY, ["team"])
    case = open_case(agent, title="An empty desk")
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    firing = RuleFiring.objects.get(case=case, rule=rule)
    assert firing.recipients == []
    assert "notified nobody: L1 has no team address and no team manager" in firing.reason


def _flush_and_read(settings, case) -> list:
    mail.outbox.clear()
    outbox.flush(now=timezone.now() + timedelta(minutes=1))
    return [m for m in mail.outbox if f"case #{case.pk}" in m.subject]


@pytest.mark.parametrize("how", ["manual", "sweep"])
def test_escalation_mail_carries_the_link_and_the_full_handoff(agent, desk, settings, how):
    settings.SITE_URL = "https://desk.example.org/"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    if how == "sweep":
        _rule(A.ESCALATE_NEXT, [])
    case = _case(agent, desk, with_teams=True)
    if how == "manual":
        workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
        knowledge = HANDOFF.knowledge_consulted
        summary, tried, impact = HANDOFF.summary, HANDOFF.steps_tried, HANDOFF.customer_impact
    else:
        kb = KnowledgeArticle.objects.create(title="Printer fires, first aid", body="Unplug it.")
        workflow.knowledge_link(case_id=case.pk, actor=agent, article_id=kb.pk)
        run_sweep(now=timezone.now() + timedelta(seconds=5))
        knowledge, summary = "Printer fires, first aid", "Automatic escalation by rule"
        tried, impact = "handled at L1 by", "Priority P"
    sent = [m for m in _flush_and_read(settings, case) if m.to == [SECOND]]
    assert len(sent) == 1
    body = sent[0].body
    assert f"https://desk.example.org/cases/{case.pk}/" in body
    for label, text in (
        ("Summary:", summary),
        ("Steps tried:", tried),
        ("Knowledge consulted:", knowledge),
        ("Customer impact:", impact),
    ):
        line = next(line for line in body.splitlines() if line.startswith(label))
        assert text in line


def test_the_admin_shows_who_each_firing_told(agent, desk, manager, client):
    told = _rule(A.NOTIFY, ["assignee"])
    case = _case(agent, desk, with_teams=True)
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    assert RuleFiring.objects.get(case=case, rule=told).recipients == [AGENT]
    client.force_login(manager)
    body = client.get("/admin/escalations/rulefiring/").content.decode()
    assert "Who was told" in body and f'<td class="field-told">{AGENT}</td>' in body

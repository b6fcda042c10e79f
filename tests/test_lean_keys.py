"""The handoff's and the rule firing's references without database constraints (migration
0071, issue 18): what the constraints protected still holds through the ORM's ``on_delete``,
and no handoff or firing is left pointing at a level, team or rule that is gone."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.utils import timezone

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.models import Escalation, Level, RuleFiring, TriggerRule

from .factories import HANDOFF, TeamFactory, open_case

pytestmark = [pytest.mark.django_db]
R = TriggerRule


def _escalated(agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    return workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)


def _dangling() -> int:
    """Handoffs and firings whose level, team or rule no longer exists."""
    checks = [
        ("escalations_escalation", col, parent)
        for col, parent in (
            ("from_level_id", "escalations_level"),
            ("to_level_id", "escalations_level"),
            ("from_team_id", "escalations_team"),
            ("to_team_id", "escalations_team"),
            ("rule_id", "escalations_triggerrule"),
        )
    ] + [
        ("escalations_rulefiring", "rule_id", "escalations_triggerrule"),
        ("escalations_rulefiring", "level_id", "escalations_level"),
    ]
    n = 0
    with connection.cursor() as cur:
        for table, col, parent in checks:
            cur.execute(
                f"SELECT count(*) FROM {table} t WHERE t.{col} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = t.{col})"
            )
            n += cur.fetchone()[0]
    return n


def test_a_level_a_handoff_names_cannot_be_deleted(agent):
    handoff = _escalated(agent)
    spare = Level.objects.get(code="L1")
    spare.pk, spare.code, spare.name, spare.rank = None, "L9", "Spare", 99
    spare.save()
    Escalation.objects.filter(pk=handoff.pk).update(from_level=spare)
    with pytest.raises(ProtectedError):
        spare.delete()
    assert Level.objects.filter(pk=spare.pk).exists() and _dangling() == 0


def test_a_deleted_team_leaves_the_handoff_without_one(agent):
    handoff = _escalated(agent)
    team = TeamFactory(level=Level.objects.get(code="L2"))
    Escalation.objects.filter(pk=handoff.pk).update(from_team=team, to_team=team)
    team.delete()
    handoff.refresh_from_db()
    assert handoff.from_team_id is None and handoff.to_team_id is None
    assert _dangling() == 0


def test_a_deleted_rule_takes_its_firings_and_leaves_its_handoffs(clock, agent):
    TriggerRule.objects.update(is_active=False)
    rule = TriggerRule.objects.create(
        name="escalate at 100",
        condition=R.Condition.SLA_PERCENT,
        params={"target": "response", "percent": 100},
        action=R.Action.ESCALATE_NEXT,
        order=1,
    )
    case = open_case(agent)
    clock.advance(days=3)
    assert run_sweep(now=timezone.now() + timedelta(seconds=1)).escalations == 1
    handoff = Escalation.objects.get(case=case, rule=rule)
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    rule.delete()
    handoff.refresh_from_db()
    assert handoff.rule_id is None and not RuleFiring.objects.filter(case=case).exists()
    assert _dangling() == 0


@pytest.mark.postgres
def test_the_handoff_and_the_firing_keep_only_their_cases_constraint():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid IN ('escalations_escalation'::regclass, 'escalations_rulefiring'::regclass)"
        )
        found = sorted(cur.fetchall())
    assert found == [("escalations_escalation", "escalations_case"), ("escalations_rulefiring", "escalations_case")]

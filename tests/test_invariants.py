import pytest
from django.core.management import call_command
from django.utils import timezone

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.models import Case, Escalation, RuleFiring, TriggerRule
from escalations.selectors.invariants import check

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.django_db


def test_invariants_hold_after_normal_work(agent, specialist, capsys):
    case = open_case(agent, impact=1, urgency=1)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    open_case(agent)
    run_sweep(now=timezone.now() + timezone.timedelta(hours=2))
    assert all(f.held for f in check()), [f for f in check() if not f.held]
    call_command("check_invariants")
    assert '"invariants_held": true' in capsys.readouterr().out


def test_a_doubled_rule_escalation_is_caught(agent):
    case = open_case(agent, impact=1, urgency=1)
    run_sweep(now=timezone.now() + timezone.timedelta(hours=2))
    esc = Escalation.objects.get(case=case)
    esc.pk = None
    esc._state.adding = True
    esc.save()
    failed = {f.name for f in check() if not f.held}
    assert "no case escalated twice by one rule at one level" in failed
    assert TriggerRule.objects.filter(pk=esc.rule_id).exists() and RuleFiring.objects.filter(case=case).exists()
    with pytest.raises(SystemExit):
        call_command("check_invariants")


def test_an_open_case_with_a_resolution_time_is_caught(agent):
    """The live desk's breakdown counts an open case's resolution clock as running."""
    case = open_case(agent)
    assert all(f.held for f in check())
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now())  # a raw write, past the workflow
    failed = {f.name: f.detail for f in check() if not f.held}
    assert failed == {"no open case has a resolution time": "1 open and resolved"}

"""Each handoff carries copies of its case's category, priority and source, which the handoff
rollups are sliced by (issue 15: reports filtered on them read no handoff). Every write path
sets them, and they follow the case when it changes: through the workflow, a set-based update
and the sweep (both paths), with the rollups equal to a recount after each. A review keeps
where its case stood when reviewed, which the reviews report filters on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.models import Category, Escalation, HandoffRollup, Review, TriggerRule
from escalations.reports import REGISTRY, Filters
from escalations.rollups import build
from escalations.selectors import invariants

from .factories import HANDOFF, fresh, open_case
from .test_case_machine import closed_escalated

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
AGREE = "every handoff carries its case's opening moment, category, priority and source (reports read them)"


def copies(case) -> set[tuple]:
    return set(Escalation.objects.filter(case=case).values_list("case_category_id", "case_priority", "case_source"))


def held() -> bool:
    return next(f for f in invariants.check() if f.name == AGREE).held


@pytest.fixture
def rolled(db):
    build.install()
    build.rebuild()


def test_a_handoff_copies_its_case_and_follows_a_priority_change(rolled, agent, manager):
    case = open_case(agent, impact=2, urgency=2)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    case = fresh(case)
    assert copies(case) == {(case.category_id, case.priority, "")}
    new = 1 if case.priority != 1 else 2
    workflow.case_change_priority(case_id=case.pk, actor=manager, priority=new, reason="Customer down")
    assert copies(case) == {(case.category_id, new, "")}
    assert held() and build.check() == []
    own = HandoffRollup.objects.filter(whole=False, basis="r", grain="d", kind="escalate")
    assert {(r.category_id, r.priority, r.source, r.n) for r in own if r.n} == {(case.category_id, new, "", 1)}


def test_a_set_based_update_of_cases_rewrites_their_handoffs_copies(rolled, agent):
    cases = [open_case(agent, title=f"Case {i}") for i in range(3)]
    for case in cases[:2]:
        workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    other = Category.objects.exclude(pk=cases[0].category_id).first()
    with connection.cursor() as cur:  # as an import or a script would: one statement, no Python per case
        cur.execute(
            "UPDATE escalations_case SET category_id = %s, source = 'uci', external_id = id::text WHERE id = ANY(%s)",
            [other.pk, [c.pk for c in cases]],
        )
    assert copies(cases[0]) == copies(cases[1]) == {(other.pk, cases[0].priority, "uci")}
    assert held() and build.check() == []


def test_a_raw_insert_that_leaves_the_copies_out_gets_them_from_the_case(rolled, agent):
    case = open_case(agent)
    esc = workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO escalations_escalation (case_id, kind, status, from_level_id, to_level_id, reason, summary, "
            "steps_tried, knowledge_consulted, customer_impact, justification, return_reason, response_breached, "
            "work_breached, created_at) SELECT case_id, kind, status, from_level_id, to_level_id, reason, summary, "
            "steps_tried, knowledge_consulted, customer_impact, justification, return_reason, response_breached, "
            "work_breached, created_at FROM escalations_escalation WHERE id = %s",
            [esc.pk],
        )
    assert Escalation.objects.filter(case=case).count() == 2
    assert copies(case) == {(case.category_id, case.priority, case.source)}
    assert held() and build.check() == []


@pytest.mark.parametrize("fast", [False, True])
def test_the_sweep_raising_a_priority_moves_the_handoffs_copies_too(rolled, agent, settings, fast):
    settings.ESCALATIONS = {**settings.ESCALATIONS, "SWEEP_FAST": fast}
    TriggerRule.objects.update(is_active=False)
    TriggerRule.objects.create(
        name="vip goes up",
        condition=TriggerRule.Condition.CUSTOMER_TIER,
        params={"in": ["vip"]},
        action=TriggerRule.Action.RAISE_PRIORITY,
    )
    case = open_case(agent, impact=2, urgency=2, customer_tier="vip")
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    before = fresh(case).priority
    run_sweep(now=fresh(case).opened_at + timedelta(minutes=1), batch_size=5, heartbeat="")
    case = fresh(case)
    assert case.priority == before - 1
    assert copies(case) == {(case.category_id, case.priority, case.source)}
    assert held() and build.check() == []


def test_a_review_keeps_where_its_case_stood_and_the_report_filters_on_it(agent, specialist, senior):
    case = closed_escalated(agent, specialist)
    workflow.case_review(case_id=case.pk, actor=senior, root_cause="Expired certificate")
    review = Review.objects.get(case=case)
    assert (review.case_level_id, review.case_team_id, review.case_category_id, review.case_priority) == (
        case.level_id,
        case.team_id,
        case.category_id,
        case.priority,
    )
    today = timezone.localdate(case.closed_at)

    def causes(**kw):
        f = Filters(date_from=today, date_to=today, **kw)
        return [row[0] for row in REGISTRY["reviews"].run(f).tables[0].rows]

    assert causes(level=case.level.code) == ["expired certificate"]
    assert causes(level="L1") == [] and causes(priority=case.priority % 4 + 1) == []
    assert causes(category=case.category.code, priority=case.priority, source="live") == ["expired certificate"]

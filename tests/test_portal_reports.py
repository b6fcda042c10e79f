"""The satisfaction report (``escalations.reports.satisfaction``): CSAT per level, team,
agent, category, period and by escalations, and deflection per category, from answers
and deflections written through the workflow."""

from __future__ import annotations

import pytest
from django.utils import timezone

from escalations import workflow
from escalations.models import KnowledgeArticle, TriggerRule
from escalations.reports import REGISTRY, Filters

from .factories import HANDOFF, CategoryFactory, fresh, open_case

pytestmark = pytest.mark.django_db
SYSTEM = None


def _rated(actor, category, score, escalate_with=None, title="Case"):
    case = open_case(actor, category, title=title)
    workflow.case_take(case_id=case.pk, actor=actor)
    if escalate_with is not None:
        workflow.case_escalate(case_id=case.pk, actor=actor, handoff=HANDOFF)
        workflow.case_accept(case_id=case.pk, actor=escalate_with)
        actor = escalate_with
    workflow.case_resolve(case_id=case.pk, actor=actor, summary="Fixed")
    workflow.survey_answer(
        actor=workflow.system_actor(), case_id=case.pk, requester_email=fresh(case).requester_email, score=score
    )
    return case


def table(result, key):
    found = next(t for t in result.tables if t.key == key)
    return {row[0]: row[1:] for row in found.rows}


def test_csat_per_level_agent_category_escalations_and_deflection(agent, specialist):
    TriggerRule.objects.filter(condition="low_satisfaction").update(is_active=False)
    network, mail = CategoryFactory(code="net", name="Network"), CategoryFactory(code="mail", name="Mail")
    _rated(agent, network, 5)
    _rated(agent, network, 4)
    _rated(agent, mail, 2, escalate_with=specialist)
    _rated(agent, mail, 1, escalate_with=specialist)
    article = KnowledgeArticle.objects.create(title="Reset", body="Hold the button", category=mail)
    workflow.knowledge_deflect(actor=workflow.system_actor(), requester_email="x@example.com", article_id=article.pk)
    today = timezone.localdate()
    result = REGISTRY["satisfaction"].run(Filters(date_from=today, date_to=today))
    # answers, average, CSAT %, unhappy
    assert table(result, "level") == {"L1": [2, 4.5, 100.0, 0], "L2": [2, 1.5, 0.0, 2]}
    assert table(result, "agent")[agent.username] == [2, 4.5, 100.0, 0]
    assert table(result, "agent")[specialist.username] == [2, 1.5, 0.0, 2]
    assert table(result, "category") == {"Network": [2, 4.5, 100.0, 0], "Mail": [2, 1.5, 0.0, 2]}
    assert table(result, "escalations") == {"0": [2, 4.5, 100.0, 0], "1": [2, 1.5, 0.0, 2]}
    assert table(result, "period")[today] == [4, 3.0, 50.0, 2]
    # deflection: one solved by an article in Mail, beside the two cases opened there
    assert table(result, "deflection")["Mail"] == [1, 2, pct(1, 3)]
    assert table(result, "deflection")["Network"] == [0, 2, 0.0]
    # the level filter keeps the answers resolved at that level
    l2 = REGISTRY["satisfaction"].run(Filters(date_from=today, date_to=today, level="L2"))
    assert table(l2, "level") == {"L2": [2, 1.5, 0.0, 2]}


def pct(part, whole):
    return round(100.0 * part / whole, 1)


def test_the_report_page_renders_for_a_manager(client, manager):
    client.force_login(manager)
    response = client.get("/admin/reports/satisfaction/")
    assert response.status_code == 200 and b"CSAT by escalations" in response.content

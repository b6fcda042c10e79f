"""What the reports read without joining a million cases: every handoff carries its case's
opening moment (``Escalation.case_opened_at``, migration 0014) whoever writes it (each
workflow action that moves a case between levels, the sweep's bulk writes, the importers,
and on PostgreSQL a raw INSERT that leaves it out), and the invariant checker notices one
astray; and ``reports.sql.histograms`` (one pass, a histogram per measure) agrees with
one grouped query per measure."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.importers import FORMATS, run_import
from escalations.models import Case, Escalation
from escalations.reports.sql import Bucket, Seconds, histograms
from escalations.selectors.invariants import check

from .factories import HANDOFF, TeamFactory, open_case

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def carried(case: Case) -> list:
    return list(Escalation.objects.filter(case=case).order_by("pk").values_list("case_opened_at", flat=True))


def test_every_workflow_move_carries_the_opening(clock, agent, specialist, senior):
    case = open_case(agent)
    opened = Case.objects.get(pk=case.pk).opened_at

    def step(fn, actor, **kw):
        clock.advance(minutes=10)  # so a handoff's own moment is never its case's opening
        fn(case_id=case.pk, actor=actor, **kw)

    step(workflow.case_take, agent)
    step(workflow.case_escalate, agent, handoff=HANDOFF)  # L1 -> L2
    step(workflow.case_return, specialist, reason="Known issue")  # back to L1 (the same row, decided)
    step(workflow.case_escalate, agent, handoff=HANDOFF)
    step(workflow.case_accept, specialist)
    step(workflow.case_de_escalate, specialist, reason="Expert part done")  # L2 -> L1
    step(workflow.case_escalate, agent, handoff=HANDOFF, to_level_code="L3", justification="Data loss")  # jump
    kinds = list(Escalation.objects.filter(case=case).order_by("pk").values_list("kind", "status"))
    assert kinds == [
        ("escalate", "returned"),
        ("escalate", "accepted"),
        ("de_escalate", "accepted"),
        ("jump", "pending"),
    ]
    assert carried(case) == [opened] * 4
    assert all(e.created_at > opened for e in Escalation.objects.filter(case=case))


def test_the_sweep_writes_the_opening_on_its_handoffs(agent):
    team = TeamFactory(name="Desk")
    team.members.add(agent)
    cases = [open_case(agent, impact=1, urgency=1, team=team) for _ in range(3)]
    result = run_sweep(now=cases[-1].opened_at + timedelta(hours=1))
    assert result.escalations == 3
    for case in cases:
        assert carried(case) == [Case.objects.get(pk=case.pk).opened_at]


def test_the_importers_write_the_opening_on_their_handoffs(db):
    """Both importers write through the same replay; only BPIC's log moves cases between levels."""
    run_import(FORMATS["bpic2013"], str(FIXTURES / "bpic2013_small.csv.gz"), skip_bad_rows=True)
    handoffs = Escalation.objects.filter(case__source="bpic2013")
    assert handoffs.count() == 4  # escalate, jump, returned, de-escalation
    assert handoffs.exclude(case_opened_at=F("case__opened_at")).count() == 0


@pytest.mark.postgres
def test_a_raw_insert_without_the_opening_gets_it_from_the_case(agent):
    """Benchmarks and scripts insert handoffs in SQL; the trigger fills what they leave out."""
    case = open_case(agent)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO escalations_escalation (case_id, kind, status, from_level_id, to_level_id, reason, summary,
                steps_tried, knowledge_consulted, customer_impact, justification, return_reason, response_breached,
                created_at)
            SELECT id, 'escalate', 'pending', level_id, level_id, '', '', '', '', '', '', '', false, now()
            FROM escalations_case WHERE id = %s""",
            [case.pk],
        )
    assert carried(case) == [Case.objects.get(pk=case.pk).opened_at]


def test_histograms_in_one_pass_match_one_query_per_measure(clock, agent, specialist):
    """Both backends: the grouping-sets pass (PostgreSQL) or one pass per measure (SQLite)."""
    cases = [open_case(agent, title=f"Case {i}") for i in range(5)]
    for i, case in enumerate(cases):
        clock.advance(minutes=7 * i + 1)
        workflow.case_take(case_id=case.pk, actor=agent)
        if i % 2 == 0:
            clock.advance(hours=i + 1)
            workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
    clock.advance(days=2)
    workflow.case_escalate(case_id=cases[1].pk, actor=agent, handoff=HANDOFF)
    measures = {
        "first_response_at": Seconds("first_response_at", "opened_at"),
        "resolved_at": Seconds("resolved_at", "opened_at"),
    }
    got = histograms(
        Case.objects.order_by(), ["level_id"], list(measures.values()), [Seconds("level_entered_at", "opened_at")]
    )
    for groups, (column, m) in zip(got, measures.items()):
        expected = {
            (g["level_id"], g["b"], g["n"], round(g["s"]))
            for g in Case.objects.order_by().values("level_id", b=Bucket(m)).annotate(n=Count(column), s=Sum(m))
            if g["b"] is not None
        }
        assert {(g["key"][0], g["b"], g["n"], round(g["s"])) for g in groups if g["b"] is not None} == expected
    rows = {g["key"][0]: g for g in got[0]}  # rows and totals: read from one measure's groups
    totals = {
        g["level_id"]: g
        for g in Case.objects.order_by()
        .values("level_id")
        .annotate(n=Count("pk"), t=Sum(Seconds("level_entered_at", "opened_at")))
    }
    assert {k: sum(g["rows"] for g in got[0] if g["key"][0] == k) for k in rows} == {
        k: g["n"] for k, g in totals.items()
    }
    assert {k: round(sum(g["totals"][0] for g in got[0] if g["key"][0] == k)) for k in rows} == {
        k: round(g["t"]) for k, g in totals.items()
    }


def test_the_invariant_checker_catches_a_handoff_astray(agent):
    name = "every handoff carries its case's opening moment, category, priority and source (reports read them)"
    case = open_case(agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    assert name not in {f.name for f in check() if not f.held}
    Escalation.objects.filter(case=case).update(case_opened_at=F("case_opened_at") - timedelta(hours=1))
    assert name in {f.name for f in check() if not f.held}
    Escalation.objects.filter(case=case).update(case_opened_at=case.opened_at, case_priority=case.priority % 4 + 1)
    assert name in {f.name for f in check() if not f.held}

"""Each case keeps where it entered the ladder, how many handoffs it has had and how often
it was moved down (the flow and volume reports' figures, and their rollup's): every path
that writes handoffs keeps them, the invariant check finds them wrong, and migration 0057
fills them in from the handoffs."""

import importlib
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import F, Sum

from escalations import workflow
from escalations.models import Case, CaseDurationRollup, EntryRollup, Escalation, Level, RaiserRollup
from escalations.reports import REGISTRY, Filters
from escalations.rollups import build
from escalations.selectors import invariants

from .factories import HANDOFF, fresh, open_case

pytestmark = pytest.mark.django_db
AGREE = "each case's handoff count, moves down and entry level agree with its handoffs (reports read them)"


def finding(name: str):
    return next(f for f in invariants.check() if f.name == name)


def ladder_walk(agent, specialist) -> Case:
    """Escalated and returned, escalated and accepted, de-escalated: three handoffs."""
    case = open_case(agent, title="Up and down")
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_return(case_id=case.pk, actor=specialist, reason="Try the KB first")
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Expert part done")
    return fresh(case)


def test_the_workflow_counts_every_handoff_and_keeps_the_entry_level(agent, specialist):
    case = ladder_walk(agent, specialist)
    assert case.escalations.count() == 3  # a return decides a handoff and adds none
    assert (case.handoff_count, case.escalation_count, case.moved_down_count) == (3, 2, 2)
    assert (case.entry_level.code, case.level.code, case.highest_level.code) == ("L1", "L1", "L2")
    assert finding(AGREE).held
    untouched = open_case(agent, title="Never moved")
    assert (untouched.handoff_count, untouched.entry_level_id) == (0, Level.objects.get(code="L1").pk)

    # The flow report counts the case from its columns.
    today = date.today()
    tables = {t.key: t for t in REGISTRY["flow"].run(Filters(date_from=today, date_to=today)).tables}
    assert {r[0]: r[1] for r in tables["bounces"].rows} == {"0": 1, "1": 0, "2": 0, "3": 1, "4+": 0}
    assert {r[0]: r[1] for r in tables["entry_level"].rows}["L1"] == 2
    moved = REGISTRY["volume"].run(Filters(date_from=today, date_to=today)).tables[-1]
    assert [r[:2] for r in moved.rows[-2:]] == [
        ["Moved down at least once (returned or de-escalated)", 1],
        ["Ended below the highest level they reached", 1],
    ]

    # A count that disagrees with the handoffs is found.
    Case.objects.filter(pk=case.pk).update(handoff_count=2)
    bad = finding(AGREE)
    assert not bad.held and bad.detail == "1 differ"


def test_an_import_counts_the_logs_handoffs_and_its_first_level(tmp_path):
    from .test_import_order import log, row

    path = log(
        tmp_path,
        [
            row("7-1", "08:00", "Accepted", "In Progress", "L2"),  # the log starts it at L2
            row("7-1", "08:30", "Queued", "Awaiting Assignment", "L3"),
            row("7-1", "09:00", "Accepted", "In Progress", "L1"),  # returned unworked, then sent on down
            row("7-1", "10:00", "Completed", "Closed", "L1"),
            row("7-2", "08:00", "Accepted", "In Progress", "L1"),
            row("7-2", "09:00", "Completed", "Closed", "L1"),
        ],
    )
    from escalations.importers import FORMATS, run_import

    run_import(FORMATS["bpic2013"], path)
    first = Case.objects.get(external_id="7-1")
    assert (first.entry_level.code, first.handoff_count, first.moved_down_count) == ("L2", 2, 2)
    second = Case.objects.get(external_id="7-2")
    assert (second.entry_level.code, second.handoff_count) == ("L1", 0)
    assert finding(AGREE).held


@pytest.mark.postgres
def test_migrations_0057_0059_0061_and_0073_fill_them_in_and_recount_the_rollups(agent, specialist):
    build.install()
    build.rebuild()
    case = ladder_walk(agent, specialist)
    climbed = open_case(agent, title="Climbed")
    workflow.case_escalate(case_id=climbed.pk, actor=agent, handoff=HANDOFF)
    l3 = Level.objects.get(code="L3")
    # As a database migrated before 0057 would look: no counts, every case entered where it is.
    with connection.cursor() as cur:
        cur.execute("UPDATE escalations_case SET handoff_count = 0, moved_down_count = 0, entry_level_id = %s", [l3.pk])
    assert not finding(AGREE).held
    fill = importlib.import_module("escalations.migrations.0057_entry_level_handoff_count")
    copies = importlib.import_module("escalations.migrations.0059_handoff_case_copies")
    count = importlib.import_module("escalations.migrations.0061_duration_rollup_crossed")
    last = importlib.import_module(
        "escalations.migrations.0073_attributes_in_duration_and_raiser_rollups"
    )  # counts now

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    fill.backfill(None, editor)
    assert not build.active()  # switched off until counted again
    last.build(None, editor)  # all of them
    assert finding(AGREE).held
    after = [(c.handoff_count, c.moved_down_count, c.entry_level.code) for c in (fresh(case), fresh(climbed))]
    assert after == [(3, 2, "L1"), (1, 0, "L1")]
    assert build.check() == []
    assert EntryRollup.objects.filter(grain="d", h3=1, down=1).exists()
    assert Escalation.objects.filter(case=climbed).count() == 1

    # A database at 0058 (counted, handoffs without copies): 0059 fills the copies in and
    # empties the two handoff rollups, 0061 counts only the tables left empty.
    Escalation.objects.filter(case=climbed).update(case_priority=1, case_category_id=0)
    RaiserRollup.objects.all().delete()
    entries = EntryRollup.objects.count()
    copies.backfill(None, editor)
    assert build.active() and not RaiserRollup.objects.exists()
    last.build(None, editor)
    assert build.check() == [] and EntryRollup.objects.count() == entries
    esc = Escalation.objects.get(case=climbed)
    assert (esc.case_priority, esc.case_category_id) == (climbed.priority, climbed.category_id)
    assert RaiserRollup.objects.filter(raised_by_id=agent.pk, kind="escalate", whole=True).exists()
    assert RaiserRollup.objects.filter(whole=False, priority=climbed.priority, category_id=climbed.category_id).exists()

    # 0061 on a counted database: empties the histograms and counts only them, crossed too.
    Case.objects.update(first_response_at=F("opened_at") + timedelta(minutes=5))  # something to measure
    durations = CaseDurationRollup.objects.filter(slice="").count()
    assert durations
    count.empty(None, editor)
    assert not CaseDurationRollup.objects.exists()
    last.build(None, editor)
    assert build.check() == [] and EntryRollup.objects.count() == entries
    assert CaseDurationRollup.objects.filter(slice="").count() == durations
    crossed = CaseDurationRollup.objects.filter(slice="*").aggregate(n=Sum("n"))["n"]
    assert crossed and crossed == CaseDurationRollup.objects.filter(slice="").aggregate(n=Sum("n"))["n"]

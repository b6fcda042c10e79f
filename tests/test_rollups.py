"""Report rollups (PostgreSQL): kept by the database in the facts' own transactions, equal
to a recount after every kind of write, rebuilt by a command, and read by the reports,
which return the same tables from the rollups as from the facts."""

import io
import json
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalations import workflow
from escalations.devtools.benchmarks.reports_bench import ReportsBench
from escalations.models import (
    OPEN_STATUSES,
    AttributeRollup,
    Case,
    CaseAttribute,
    CaseDurationRollup,
    CaseRollup,
    Category,
    HandoffRollup,
    RaiserRollup,
    RollupState,
    Team,
)
from escalations.reports import REGISTRY, Filters
from escalations.reports.output import result_json
from escalations.rollups import build
from escalations.rollups.read import MAX_LISTED_DAYS, cover, listed
from escalations.selectors import invariants

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.postgres


@pytest.fixture
def rolled(db):
    build.install()
    build.rebuild()
    assert build.active()


def test_cover_splits_a_range_into_whole_months_weeks_and_days():
    pieces = cover(date(2025, 1, 30), date(2025, 4, 9), ("m", "w", "d"))
    assert pieces == [
        ("d", date(2025, 1, 30), date(2025, 1, 31)),
        ("m", date(2025, 2, 1), date(2025, 3, 31)),
        ("d", date(2025, 4, 1), date(2025, 4, 9)),
    ]
    days = sorted(d for _g, a, b in pieces for d in range(a.toordinal(), b.toordinal() + 1))
    assert days == list(range(date(2025, 1, 30).toordinal(), date(2025, 4, 9).toordinal() + 1))
    assert cover(date(2025, 1, 30), date(2025, 2, 16), ("w", "d"))[1] == ("w", date(2025, 2, 3), date(2025, 2, 16))
    assert cover(date(2025, 1, 2), date(2025, 1, 3), ("m", "w")) == [("facts", date(2025, 1, 2), date(2025, 1, 3))]


@pytest.mark.parametrize(
    "a, b, grains",
    [
        (date(2023, 1, 4), date(2024, 10, 31), ("m", "w", "d")),  # a range that ended in the past
        (date(2025, 1, 30), date(2025, 4, 9), ("m", "w", "d")),
        (date(2024, 2, 27), date(2024, 12, 3), ("w", "d")),  # a weekly series, leap day inside
        (date(2024, 12, 15), date(2026, 2, 2), ("m", "d")),  # a monthly series over a new year
    ],
)
def test_a_range_of_several_pieces_lists_the_exact_grain_and_day_of_every_row_it_reads(a, b, grains):
    """The list ANDed to the pieces' OR (so an index bounds the read) must keep every row the
    OR matches: each whole day, Monday or first of a month in its piece, and no other day."""
    pieces = cover(a, b, grains)
    assert len([p for p in pieces if p[0] != "facts"]) > 1
    listed_grains, listed_days = listed(pieces)
    assert listed_grains == sorted({g for g, _a, _z in pieces if g != "facts"})
    expected = set()
    for grain, start, end in pieces:
        for n in range(start.toordinal(), end.toordinal() + 1):
            day = date.fromordinal(n)
            if grain == "d" or (grain == "w" and day.weekday() == 0) or (grain == "m" and day.day == 1):
                expected.add(day)
    assert listed_days == sorted(expected)


def test_one_piece_or_a_very_long_range_lists_nothing():
    assert listed(cover(date(2025, 2, 1), date(2025, 3, 31), ("m", "w", "d"))) is None  # whole months
    assert listed(cover(date(2020, 1, 2), date(2025, 3, 31), ("d",))) is None  # one piece of days
    long = cover(date(1990, 1, 2), date(2025, 3, 31), ("w", "d"))  # the weeks before a range
    assert len(long) > 1 and listed(long) is None  # past MAX_LISTED_DAYS: the OR alone
    assert MAX_LISTED_DAYS >= 800  # two years of weeks and edge days, or decades of months


def test_every_workflow_write_keeps_the_rollups_equal_to_a_recount(rolled, agent, specialist, senior):
    before = CaseRollup.objects.count()
    returned = open_case(agent, title="Returned")
    workflow.case_take(case_id=returned.pk, actor=agent)
    workflow.case_escalate(case_id=returned.pk, actor=agent, handoff=HANDOFF)
    workflow.case_return(case_id=returned.pk, actor=specialist, reason="Try the KB first")
    climbed = open_case(agent, title="Climbed")
    workflow.case_escalate(case_id=climbed.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=climbed.pk, actor=specialist)
    workflow.case_change_priority(case_id=climbed.pk, actor=specialist, priority=1, reason="Whole site down")
    workflow.case_resolve(case_id=climbed.pk, actor=specialist, summary="Fixed")
    workflow.case_reopen(case_id=climbed.pk, actor=specialist, reason="Came back")
    workflow.case_resolve(case_id=climbed.pk, actor=specialist, summary="Fixed again")
    workflow.case_close(case_id=climbed.pk, actor=specialist)
    assert CaseRollup.objects.count() > before
    assert build.check() == []
    # A set-based write (what the sweep and the importers do) and a delete are counted too.
    Case.objects.filter(pk=returned.pk).update(priority=4, team=Team.objects.first())
    Case.objects.filter(pk=climbed.pk).delete()
    assert build.check() == []


def test_the_check_finds_a_wrong_rollup_and_the_rebuild_repairs_it(rolled, agent):
    open_case(agent, title="Counted")
    CaseRollup.objects.filter(grain="m").update(n=999)
    found = build.check()
    assert found and found[0].table == "escalations_caserollup"
    with pytest.raises(SystemExit):
        call_command("rebuild_rollups", "--check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["rollups_rebuilt"] is True
    call_command("rebuild_rollups", "--check", stdout=(out := io.StringIO()))
    assert json.loads(out.getvalue().splitlines()[-1])["rollups_match"] is True


def test_without_rollups_the_triggers_write_nothing_and_the_reports_read_the_facts(rolled, agent):
    RollupState.objects.all().delete()
    CaseRollup.objects.all().delete()
    open_case(agent, title="Not rolled up")
    assert not CaseRollup.objects.exists()
    assert not build.active()
    f = Filters(date_from=date.today(), date_to=date.today())
    assert REGISTRY["resolution"].run(f).tables[0].rows[0] == ["Cases opened", 1]


@contextmanager
def _from_the_facts():
    """The reports read the facts meanwhile (no built rollups), then the rollups again."""
    state = list(RollupState.objects.values_list("time_zone", "built_at"))
    RollupState.objects.all().delete()
    try:
        yield
    finally:
        RollupState.objects.create(time_zone=state[0][0], built_at=state[0][1])


RANGES = [
    (date(2023, 1, 1), date(2025, 1, 1), None),  # the whole two years, by month
    (date(2023, 3, 15), date(2024, 2, 20), None),  # edges: weeks and days around months
    (date(2023, 3, 15), date(2024, 2, 20), "week"),
    (date(2023, 5, 3), date(2023, 6, 28), None),  # by day
    (date(2023, 5, 3), date(2023, 6, 28), "month"),
    (date(2023, 5, 3), date(2023, 5, 4), None),  # no whole week: histograms from the cases
]


# The reports that read rollups (the others read only the facts, with or without them).
READ_ROLLUPS = ("volume", "resolution", "speed", "sla", "quality", "flow", "bottlenecks", "satisfaction", "live")


def _vary_the_cases(now) -> None:
    """Give the benchmark cases what their shapes lack, through the triggers (a set-based
    update like the sweep's): OLA clocks met, late, breached and still running past due;
    paused clocks; the source's own verdict; reassignments; live cases beside the others; cases that entered above L1 or
    had three, four or five handoffs; cases with someone on them; open cases about to breach
    (within 1, 4 and 24 hours of ``now``) and handoffs that recorded an OLA breach."""
    with connection.cursor() as cur:
        cur.execute(
            """UPDATE escalations_case SET
                ola_response_due_at = opened_at + interval '1 hour',
                ola_response_breached_at = CASE WHEN id % 7 = 0 THEN opened_at + interval '1 hour' END,
                ola_work_due_at = opened_at + (id % 9) * interval '2 hours',
                ola_work_breached_at = CASE WHEN id % 11 = 0 THEN opened_at + interval '3 hours' END,
                source_made_sla = CASE WHEN id % 3 = 0 THEN NULL ELSE id % 4 <> 0 END,
                reassignment_count = id % 4,
                entry_level_id = CASE WHEN id % 17 = 0 THEN highest_level_id ELSE entry_level_id END,
                handoff_count = CASE WHEN id % 19 = 0 THEN 3 + id % 3 ELSE handoff_count END,
                moved_down_count = CASE WHEN id % 23 = 0 THEN 1 ELSE moved_down_count END,
                assignee_id = CASE WHEN id % 3 = 0 THEN (SELECT MIN(id) FROM auth_user) END,
                reopen_count = CASE WHEN id % 13 = 0 THEN 1 ELSE reopen_count END,
                paused_at = CASE WHEN resolved_at IS NULL AND id % 5 = 0 THEN opened_at + interval '1 hour' END
            WHERE source = 'bench-reports'"""
        )
        cur.execute(
            """UPDATE escalations_case SET
                resolution_due_at = %s + (id %% 30) * interval '1 hour', resolution_breached_at = NULL,
                response_due_at = %s - interval '1 hour', first_response_at = NULL, responded_at = NULL
            WHERE source = 'bench-reports' AND resolved_at IS NULL AND id %% 2 = 0""",
            [now, now],
        )
        cur.execute("UPDATE escalations_escalation SET work_breached = (id % 3 = 0) WHERE id % 2 = 0")
        # Cases reclassified after their handoffs: the handoffs' copies and slices follow.
        cur.execute(
            """UPDATE escalations_case SET priority = 1 + id % 4,
                category_id = (SELECT MIN(id) FROM escalations_category)
            WHERE source = 'bench-reports' AND handoff_count > 0 AND id % 29 = 0"""
        )
        # A fifth of the cases live ones, so the desk has two sources to tell apart.
        cur.execute("UPDATE escalations_case SET source = '' WHERE source = 'bench-reports' AND id % 5 = 1")


def _vary_the_attributes() -> None:
    """After the build, through the triggers on the attributes: cases that lose their
    country, have it changed, or gain a second attribute (their handoffs move with them)."""
    ids = list(Case.objects.filter(source__in=["bench-reports", ""]).values_list("id", flat=True))
    CaseAttribute.objects.filter(key="country", case_id__in=[i for i in ids if i % 7 == 0]).delete()
    CaseAttribute.objects.filter(key="country", case_id__in=[i for i in ids if i % 11 == 0]).update(value="C99")
    CaseAttribute.objects.bulk_create([CaseAttribute(case_id=i, key="product", value=f"P{i % 3}") for i in ids[::2]])
    Case.objects.filter(pk__in=ids[:5]).delete()  # the attributes go first, then the case
    assert build.check() == []
    assert CaseRollup.objects.filter(attr_key="country", attr_value="C99").exists()
    assert AttributeRollup.objects.filter(key="country", value="C99").exists()
    assert AttributeRollup.objects.filter(key="product").exists()
    assert HandoffRollup.objects.filter(attr_key="product", whole=False).exists()
    assert not HandoffRollup.objects.exclude(attr_key="").filter(whole=True).exists()
    assert RaiserRollup.objects.filter(attr_key="country", attr_value="C99", whole=False).exists()
    assert not RaiserRollup.objects.exclude(attr_key="").filter(whole=True).exists()
    assert CaseDurationRollup.objects.filter(slice="attr:product", value="P1").exists()
    assert not CaseDurationRollup.objects.filter(slice="attr:product").exclude(team_id=0, category_id=0).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reports_return_the_same_tables_from_the_rollups_as_from_the_facts():
    reports = Path(build.__file__).parents[1] / "reports"
    readers = {p.stem for p in reports.glob("*.py") if "escalations.rollups" in p.read_text()}
    assert readers - {"breakdown"} == set(READ_ROLLUPS), "a report reads rollups: compare it here too"
    bench = ReportsBench(3000, io.StringIO())
    bench.build()
    build.install()
    build.rebuild()
    _vary_the_cases(bench.now)
    _vary_the_attributes()
    assert [f.held for f in invariants.check() if "category, priority and source" in f.name] == [True]
    team = Team.objects.filter(cases__source="bench-reports").first()
    category = Category.objects.filter(cases__source="bench-reports").first()
    filter_sets = [
        {},
        {"level": "L2"},
        {"team": team.name},
        {"category": category.code},
        {"priority": 3},
        {"source": "live"},  # the rows for all cases of a source
        {"level": "L2", "source": "live"},
        {"category": category.code, "priority": 3},  # two case filters: the crossed rows
        {"level": "L1", "team": team.name},
        {"level": "L2", "category": category.code},  # a handoff's ends and a case filter
        {"team": team.name, "priority": 2, "category": category.code},  # three: crossed too
        {"attr": "country:C03"},  # an imported attribute: the rows under it
        {"attr": "country:C99", "level": "L2"},  # a value given after the build
        {"attr": "product:P1", "priority": 2, "team": team.name},
    ]
    compared = 0
    for date_from, date_to, period in RANGES:
        for extra in filter_sets:
            f = Filters(date_from=date_from, date_to=date_to, period=period, now=bench.now, **extra)
            rolled = {name: result_json(REGISTRY[name].run(f)) for name in READ_ROLLUPS}
            with _from_the_facts():
                for name in READ_ROLLUPS:
                    assert result_json(REGISTRY[name].run(f)) == rolled[name], (name, f)
                    compared += 1
    assert compared == len(RANGES) * len(filter_sets) * len(READ_ROLLUPS)
    assert build.check() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_attribute_filter_reads_the_histograms_and_raisers_under_it_and_a_migration_adds_them():
    """`speed`'s medians and `quality`'s over-escalation under an attribute filter (alone or
    with a level) read the rows under the attribute, not the cases that have it; with
    another case filter the histograms come from the cases. Migration 0073's fill adds the
    rows under each attribute to tables that hold only the rows for all cases, and the
    result equals a recount."""
    bench = ReportsBench(600, io.StringIO())
    bench.build()  # every case with a country
    build.install()
    build.rebuild()
    _vary_the_attributes()
    span = {"date_from": date(2023, 1, 1), "date_to": date(2024, 12, 31), "now": bench.now}  # whole months
    for extra, reads_cases in (({}, False), ({"level": "L2"}, False), ({"priority": 2}, True)):
        f = Filters(attr="country:C03", **span, **extra)
        for name in ("speed", "quality"):
            with CaptureQueriesContext(connection) as queries:
                rolled = result_json(REGISTRY[name].run(f))
            facts = [q["sql"] for q in queries.captured_queries if '"escalations_caseattribute"' in q["sql"]]
            assert bool(facts) == (reads_cases and name == "speed"), (name, extra, facts)
            with _from_the_facts():
                assert result_json(REGISTRY[name].run(f)) == rolled, (name, extra)
    # A database whose two tables count all cases only (as before 0073): the fill adds the rest.
    CaseDurationRollup.objects.filter(slice__startswith="attr:").delete()
    RaiserRollup.objects.exclude(attr_key="").delete()
    assert build.check()
    build.install_and_fill(attributes_added=("escalations_casedurationrollup", "escalations_raiserrollup"))
    assert build.check() == []
    assert CaseDurationRollup.objects.filter(slice="attr:country").exists()
    assert RaiserRollup.objects.filter(attr_key="country").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_breakdown_leaves_the_report_on_its_rollups_and_adds_its_table_from_the_facts():
    bench = ReportsBench(400, io.StringIO())
    bench.build()  # every case with a country (the benchmark's imported attribute)
    build.install()
    build.rebuild()
    span = {"date_from": date(2023, 1, 1), "date_to": date(2024, 12, 31), "now": bench.now}  # whole months
    for name in READ_ROLLUPS:
        plain = json.loads(result_json(REGISTRY[name].run(Filters(**span))))
        with CaptureQueriesContext(connection) as queries:
            split = json.loads(result_json(REGISTRY[name].run(Filters(**span, by="attr:country"))))
        assert any("rollup" in q["sql"] for q in queries.captured_queries), name
        comparison = [t for t in split["tables"] if t["key"] == "breakdown"]
        assert [t for t in split["tables"] if t["key"] != "breakdown"] == plain["tables"], name
        assert split.get("summary") == plain.get("summary"), name
        assert len(comparison) == 1 and comparison[0]["title"] == "By country", name
        values = [row["value"] for row in comparison[0]["rows"]]  # the countries of the cases in view
        assert values and set(values) <= {f"C{k:02}" for k in range(25)}, name


def _breakdown(name: str, f: Filters) -> list:
    return [t for t in json.loads(result_json(REGISTRY[name].run(f)))["tables"] if t["key"] == "breakdown"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_breakdown_by_an_attribute_reads_the_rollups_and_equals_the_facts():
    """Every report's comparison table by an attribute equals the one from the cases, over
    ranges with day and week edges: from the attribute rollup without a filter or with a
    level, from the case rollup's rows under the attribute with a category and a priority;
    with cases that lost their attribute ("(none)"), had it changed, or have a second one."""
    bench = ReportsBench(600, io.StringIO())
    bench.build()  # every case with a country
    build.install()
    build.rebuild()
    _vary_the_cases(bench.now)
    _vary_the_attributes()
    compared = 0
    for date_from, date_to, period in RANGES:
        for extra in ({}, {"level": "L2"}, {"priority": 2, "category": "bench-0"}):
            f = Filters(date_from=date_from, date_to=date_to, period=period, now=bench.now, by="attr:country", **extra)
            rolled = {}
            for name, report in REGISTRY.items():
                if report.population == "open":
                    continue
                with CaptureQueriesContext(connection) as queries:
                    rolled[name] = _breakdown(name, f)
                sql = [q["sql"] for q in queries.captured_queries]
                if "category" in extra:
                    assert any("escalations_caserollup" in q and '"attr_key" = ' in q for q in sql), name
                else:
                    assert any("escalations_attributerollup" in q for q in sql), name
                assert not any('JOIN "escalations_caseattribute"' in q for q in sql), name  # no join to the cases
            with _from_the_facts():
                for name, tables in rolled.items():
                    assert _breakdown(name, f) == tables, (name, f)
                    compared += 1
    assert compared >= len(RANGES) * 3 * 10
    # "(none)" and the changed value are there over the whole range
    whole = Filters(date_from=date(2023, 1, 1), date_to=date(2025, 1, 1), now=bench.now, by="attr:country")
    values = {row["value"] for row in _breakdown("volume", whole)[0]["rows"]}
    assert {"(none)", "C99"} <= values
    # An attribute filter as well: the comparison table reads the cases.
    with CaptureQueriesContext(connection) as queries:
        _breakdown(
            "volume",
            Filters(date_from=date(2023, 1, 1), date_to=date(2025, 1, 1), attr="product:P1", by="attr:country"),
        )
    assert any('JOIN "escalations_caseattribute"' in q["sql"] for q in queries.captured_queries)
    # The live desk's breakdown of the open cases: the open rollup's rows under the key, plus
    # the open cases past due at the report's moment that the sweep has not marked yet.
    with connection.cursor() as cur:
        cur.execute(
            """UPDATE escalations_case SET resolution_due_at = %s - (1 + id %% 5) * interval '1 hour',
                resolution_breached_at = NULL WHERE resolved_at IS NULL AND id %% 3 <> 0""",
            [bench.now],
        )
    unmarked = Case.objects.filter(
        status__in=OPEN_STATUSES, resolution_breached_at=None, resolution_due_at__lt=bench.now
    ).values_list("pk", flat=True)
    # A few of them without a country whatever ids the cases got (an attribute trigger's write).
    CaseAttribute.objects.filter(case_id__in=list(unmarked)[:3], key="country").delete()
    with_country = CaseAttribute.objects.filter(case_id__in=list(unmarked), key="country")
    assert len(unmarked) > with_country.count() > 2  # some without a country, several with
    for extra in ({}, {"level": "L2"}, {"priority": 2, "category": "bench-0"}):
        f = Filters(date_from=date(2024, 12, 1), date_to=date(2024, 12, 31), now=bench.now, by="attr:country", **extra)
        with CaptureQueriesContext(connection) as queries:
            rolled = _breakdown("live", f)
        sql = [q["sql"] for q in queries.captured_queries]
        assert any("escalations_openrollup" in q and '"attr_key" = ' in q for q in sql), extra
        with _from_the_facts():
            assert _breakdown("live", f) == rolled, extra
        if not extra:  # the unmarked cases count: breached ones under several values and "(none)"
            breached = {row["value"] for row in rolled[0]["rows"] if row["breached"]}
            assert "(none)" in breached and len(breached) > 3, rolled


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_reports_prints_reports_beside_and_the_write_path_cost():
    out = io.StringIO()
    call_command(
        "bench_reports",
        *("--cases", "400", "--repeats", "1", "--intake", "5", "--sweep-open", "60", "--sweep-due", "20"),
        stdout=out,
    )
    figures = json.loads(out.getvalue().splitlines()[-1])
    assert figures["rollups"] is True
    assert set(figures["reports_ms"]) == set(REGISTRY)
    filtered = figures["filtered_ms"]  # every report under each filter set, and the slowest printed
    assert {
        "level L2",
        "one category",
        "own source",
        "category + priority",
        "last 30 days",
        "ended 60 days ago",
        "attribute",
        "by attribute",
    } <= set(filtered)
    assert all(set(times) | {"forecast"} == set(REGISTRY) for times in filtered.values())
    assert "Under filters" in out.getvalue() and "category + priority" in out.getvalue()
    for label in ("with_rollups", "without_rollups"):
        assert figures["write_path"][label]["intake_per_s"] > 0
        assert figures["write_path"][label]["swept"] >= 20
    assert figures["write_path"]["rebuild_s"] >= 0
    assert "with rollups" in out.getvalue() and "rollup rebuild" in out.getvalue()
    assert build.check() == []  # the rebuild caught up with what was written without the triggers


def test_the_trigger_functions_run_without_jit(rolled):
    """The planner takes a transition table for 10,000 rows, so a batch's statement crossed
    the JIT threshold and compiled for 60 to 100 ms (the sweep, every batch; migration 0074)."""
    with connection.cursor() as cur:
        cur.execute("SELECT proname, proconfig FROM pg_proc WHERE proname LIKE 'escalations_%%_rollup_%%'")
        functions = dict(cur.fetchall())
    assert len(functions) == 3 * len(build.TRIGGERS)
    assert all(config and "jit=off" in config for config in functions.values()), functions

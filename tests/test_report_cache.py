"""The forecast is computed once a day (``Report.daily``, ``reports.cache``): the second view
reads the kept tables; a new day, an import or a change of the ladder computes again; the
hourly task computes the default views ahead of the first manager and removes past days."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django_q.models import Schedule

from escalations.models import ImportedSource, Level, ReportCache
from escalations.reports import REGISTRY, Filters, cache, warm

from .factories import CategoryFactory, open_case

pytestmark = pytest.mark.django_db

FIRST = date(2025, 6, 2)  # a Monday
LAST = FIRST + timedelta(days=27)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def desk(clock, agent):
    cat = CategoryFactory(code="network")
    for i in range(28):
        clock.now = at(FIRST + timedelta(days=i))
        for _ in range(1 + (i % 7 < 5)):
            open_case(agent, category=cat)
    clock.now = at(LAST + timedelta(days=2), 8)
    return cat


def run(**filters):
    return REGISTRY["forecast"].run(Filters(date_from=FIRST, date_to=LAST, **filters))


def rows(result) -> dict:
    return {t.key: t.rows for t in result.tables}


def test_the_second_view_reads_the_kept_tables(desk, agent, clock, django_assert_max_num_queries):
    first = run()
    assert ReportCache.objects.count() == 1
    with django_assert_max_num_queries(8):  # the filters resolved, then one read: no arrivals, no history
        again = run()
    assert rows(again) == rows(first)
    assert "kept for the rest of the day" in again.tables[0].note
    # a case opened today changes no complete day: the kept forecast stands until midnight
    open_case(agent, category=desk)
    assert rows(run()) == rows(first) and ReportCache.objects.count() == 1
    # other filters are other tables
    run(level="L1")
    assert ReportCache.objects.count() == 2


def test_a_new_day_an_import_or_a_new_ladder_computes_again(desk, clock):
    run()
    clock.now += timedelta(days=1)
    run()
    assert ReportCache.objects.count() == 2
    source = ImportedSource.objects.create(source="uci", first_at=at(FIRST), last_at=at(LAST), cases=0)
    run()
    assert ReportCache.objects.count() == 3
    clock.now += timedelta(minutes=5)
    source.cases = 10
    source.save()  # imported again: a new import time
    run()
    assert ReportCache.objects.count() == 4
    Level.objects.filter(code="L4").update(name="Vendors")  # the name is not shown: same key
    run()
    assert ReportCache.objects.count() == 4
    Level.objects.filter(code="L4").update(code="V4")
    run()
    assert ReportCache.objects.count() == 5


def test_two_processes_keeping_the_same_tables(desk):
    result = run()
    row = ReportCache.objects.get()
    scope_day = row.day
    cache.put(row.key, "forecast", type("S", (), {"now": at(scope_day, 12)})(), result.tables)
    assert ReportCache.objects.count() == 1 and cache.get(row.key) is not None


def test_the_hourly_task_computes_the_default_views_and_removes_past_days(desk, clock):
    ImportedSource.objects.create(source="bpic2013", first_at=at(FIRST), last_at=at(LAST), cases=0)
    ReportCache.objects.create(key="x" * 64, report="forecast", day=FIRST, tables=b"", computed_at=at(FIRST))
    out = warm.warm()
    assert out == {"computed_or_kept": 2, "pruned": 1}  # all cases, and the imported log
    assert set(ReportCache.objects.values_list("day", flat=True)) == {clock.now.date()}
    assert warm.warm()["computed_or_kept"] == 2 and ReportCache.objects.count() == 2  # kept, not recomputed
    assert Schedule.objects.filter(name="escalations.warm_reports", minutes=60).exists()


def test_the_page_says_when_it_was_computed(desk, client, manager, clock):
    client.force_login(manager)
    url = f"/admin/reports/forecast/?date_from={FIRST}&date_to={LAST}"
    first = client.get(url)
    body = first.content.decode()
    assert first.status_code == 200 and "kept for the rest of the day" in body
    stamp = re.search(r"Computed at [0-9-]+ [0-9:]+", body).group(0)
    clock.now += timedelta(minutes=30)
    assert stamp in client.get(url).content.decode()  # read back, not computed again

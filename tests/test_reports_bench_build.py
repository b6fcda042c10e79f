"""bench_reports' (and seed_scale's) builder adds its cases a chunk at a time, each chunk
in its own transaction, spread over the two years as if they had been added at once."""

import io
from datetime import timedelta

import pytest
from django.db.models import Max, Min

from escalations.devtools.benchmarks.reports_bench import (
    ATTRIBUTE,
    ATTRIBUTE_VALUES,
    SOURCE,
    SPAN_DAYS,
    START,
    ReportsBench,
)
from escalations.models import Case, CaseAttribute, Escalation

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_cases_are_built_a_chunk_at_a_time_over_the_whole_range():
    out = io.StringIO()
    assert ReportsBench(2500, out).build(chunk=1000) > 0
    cases = Case.objects.filter(source=SOURCE)
    assert cases.count() == 2500
    assert cases.values("external_id").distinct().count() == 2500
    assert out.getvalue().count("benchmark cases") == 3  # one line per chunk
    # Spread as if built at once: case i opens at i / n of the range, whichever chunk made it.
    span = timedelta(days=SPAN_DAYS)
    last_chunk = cases.filter(external_id__in=[f"r{i}" for i in range(2001, 2501)]).aggregate(
        first=Min("opened_at"), last=Max("opened_at")
    )
    assert last_chunk["first"] >= START + span * 0.79
    assert last_chunk["last"] <= START + span + timedelta(hours=6)
    assert cases.aggregate(first=Min("opened_at"))["first"] <= START + span * 0.01
    # Every chunk has its handoffs, and every case its creation history row.
    handed = Escalation.objects.filter(case__source=SOURCE).order_by()
    for chunk in range(3):
        ids = [f"r{i}" for i in range(1 + 1000 * chunk, min(1001 + 1000 * chunk, 2501))]
        assert handed.filter(case__external_id__in=ids).values("case").distinct().count() > len(ids) / 4
    assert Case.history.filter(id__in=cases.values("pk")).count() == 2500
    # Every case has the imported attribute the attribute filter sets read, spread over its values.
    countries = CaseAttribute.objects.filter(key=ATTRIBUTE, case__source=SOURCE)
    assert countries.count() == 2500
    assert countries.values("value").distinct().count() == ATTRIBUTE_VALUES
    # A larger N adds only the missing cases.
    assert ReportsBench(2600, io.StringIO()).build(chunk=1000) > 0
    assert cases.count() == 2600 and cases.values("external_id").distinct().count() == 2600
    assert countries.count() == 2600
    assert ReportsBench(2600, io.StringIO()).ensure_attributes() == 0  # none added twice
    # Written in chunks of case ids (one statement for 9M cases filled the disk): every
    # case again after its attribute is gone, none twice.
    countries.filter(case_id__in=list(cases.order_by("pk").values_list("pk", flat=True)[:1500])).delete()
    assert ReportsBench(2600, io.StringIO()).ensure_attributes(chunk=700) == 1500
    assert countries.count() == 2600


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_every_kth_case_gets_the_attribute_when_asked_spread_over_the_range():
    """seed_scale --attributed: ten million attributed cases do not fit this machine's disk,
    so a 10M run gives the attribute to a share of them, still over the whole two years."""
    out = io.StringIO()
    assert ReportsBench(900, out, attributed=100).build(chunk=400) > 0
    countries = CaseAttribute.objects.filter(key=ATTRIBUTE, case__source=SOURCE)
    assert countries.count() == 100
    assert countries.values("value").distinct().count() == ATTRIBUTE_VALUES
    opened = Case.objects.filter(attributes__key=ATTRIBUTE, source=SOURCE).aggregate(
        first=Min("opened_at"), last=Max("opened_at")
    )
    span = timedelta(days=SPAN_DAYS)
    assert opened["first"] <= START + span * 0.02 and opened["last"] >= START + span * 0.98
    assert ReportsBench(900, io.StringIO(), attributed=100).ensure_attributes() == 0  # none twice

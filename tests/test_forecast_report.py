"""The staffing forecast report on a desk built through the workflow, where the answer is
known: four weeks of the same week, so every method forecasts it exactly, and every case is
worked for a known time at each level.

Each weekday (Monday to Friday) three cases open at L1 at 09:00: two are taken at 10:00 and
resolved at 12:00 (2 h in progress at L1), one is taken at 10:00, escalated to L2 at 11:00
(1 h at L1), accepted at 13:00 and resolved at 14:00 (1 h at L2). Saturdays and Sundays one
case opens and is worked 2 h at L1. So per week L1 works 5 x 5 + 2 x 2 = 29 h for 17 arrivals
and L2 works 5 h for 5 arrivals; a weekday brings L1 3 new cases and L2 1 escalation.
"""

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from escalations import workflow
from escalations.domain import forecast as fc
from escalations.reports import REGISTRY, FilterError, Filters

from .factories import HANDOFF, CategoryFactory, TeamFactory, open_case

pytestmark = pytest.mark.django_db

FIRST = date(2025, 6, 2)  # a Monday
LAST = FIRST + timedelta(days=27)  # a Sunday: four whole weeks
LATER = datetime(2025, 8, 1, tzinfo=UTC)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def desk(clock, agent, specialist):
    cat = CategoryFactory(code="network")
    for i in range(28):
        day = FIRST + timedelta(days=i)
        weekday = day.weekday() < 5
        clock.now = at(day, 9)
        plain = [open_case(agent, category=cat) for _ in range(2 if weekday else 1)]
        up = open_case(agent, category=cat) if weekday else None
        clock.now = at(day, 10)
        for case in [*plain, *([up] if up else [])]:
            workflow.case_take(case_id=case.pk, actor=agent)
        if up:
            clock.now = at(day, 11)
            workflow.case_escalate(case_id=up.pk, actor=agent, handoff=HANDOFF)
        clock.now = at(day, 12)
        for case in plain:
            workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
        if up:
            clock.now = at(day, 13)
            workflow.case_accept(case_id=up.pk, actor=specialist)
            clock.now = at(day, 14)
            workflow.case_resolve(case_id=up.pk, actor=specialist, summary="Patched")
    clock.now = LATER


def run(**filters):
    return REGISTRY["forecast"].run(Filters(date_from=FIRST, date_to=LAST, now=LATER, **filters))


def rows(result, key: str) -> dict:
    table = next(t for t in result.tables if t.key == key)
    keys = [c.key for c in table.columns]
    return {r[0]: dict(zip(keys, r)) for r in table.rows}


def test_a_repeating_week_is_forecast_exactly_with_the_staff_hours_it_needs(desk):
    result = run()
    handling = rows(result, "handling")
    assert handling["L1"]["arrivals"] == 68 and handling["L1"]["hours_worked"] == 116.0
    assert handling["L1"]["hours_per_arrival"] == round(29 / 17, 2)
    assert handling["L2"]["arrivals"] == 20 and handling["L2"]["hours_per_arrival"] == 1.0
    # tomorrow is Monday 2025-06-30: 3 new cases at L1, one escalation to L2, no spread
    tomorrow = rows(result, "tomorrow")
    assert next(t for t in result.tables if t.key == "tomorrow").title.startswith("Tomorrow, Monday 2025-06-30")
    l1, l2 = tomorrow["L1"], tomorrow["L2"]
    assert (l1["new"], l1["escalations"], l1["arrivals"], l1["arrivals_low"], l1["arrivals_high"]) == (
        3.0,
        0.0,
        3.0,
        3.0,
        3.0,
    )
    assert l1["staff_hours"] == round(3 * 29 / 17, 1)
    assert (l2["new"], l2["escalations"], l2["staff_hours"]) == (0.0, 1.0, 1.0)
    week = rows(result, "week")
    assert week["L1"]["arrivals"] == 17.0 and week["L1"]["staff_hours"] == 29.0
    assert week["L2"]["arrivals"] == 5.0 and week["L2"]["staff_hours"] == 5.0
    days = next(t for t in result.tables if t.key == "days")
    assert [r[0] for r in days.rows] == [date(2025, 6, 30) + timedelta(days=i) for i in range(7)]
    assert [r[days.column("L1_arrivals")] for r in days.rows] == [3.0] * 5 + [1.0] * 2
    # every method is exact here, so none beats the baseline, and the page says so
    evaluation = next(t for t in result.tables if t.key == "evaluation")
    assert "does NOT beat" in evaluation.note
    assert rows(result, "evaluation")["seasonal_naive"]["role"] == "served (baseline)"


def test_the_level_filter_and_the_sources(desk):
    only = run(level="L2")
    assert list(rows(only, "tomorrow")) == ["L2"]
    imported = run(source="bpic2013")  # nothing imported: no arrivals, no forecast, no error
    assert rows(imported, "tomorrow")["L1"]["arrivals"] == 0.0
    assert "Too little history" in next(t for t in imported.tables if t.key == "evaluation").note
    live = run(source="live")
    assert rows(live, "tomorrow")["L1"]["arrivals"] == 3.0
    TeamFactory(name="Frontline")
    with pytest.raises(FilterError, match="per level"):
        run(team="Frontline")


def test_a_live_range_reaching_today_forecasts_from_tomorrow(desk, clock):
    clock.now = at(LAST + timedelta(days=1), 15)  # Monday 2025-06-30, 15:00: today is in progress
    result = REGISTRY["forecast"].run(Filters(date_from=FIRST, date_to=LAST + timedelta(days=1)))
    days = next(t for t in result.tables if t.key == "days")
    assert days.rows[0][0] == date(2025, 6, 30) and days.rows[0][1] == "Mon (today)"
    assert len(days.rows) == 8
    assert next(t for t in result.tables if t.key == "tomorrow").title.startswith("Tomorrow, Tuesday 2025-07-01")
    assert rows(result, "week")["L1"]["arrivals"] == 17.0


def test_the_command_ends_with_the_evaluation_as_json(desk):
    out = io.StringIO()
    call_command("report", "forecast", "--from", str(FIRST), "--to", str(LAST), stdout=out)
    text = out.getvalue()
    assert "Tomorrow, Monday 2025-06-30, per level" in text
    last = json.loads(text.strip().splitlines()[-1])
    assert last["method"] == "seasonal_naive" and last["beats_baseline"] is False
    assert {"mase", "mae", "baseline_mae", "baseline_mase", "coverage_80", "hk_mase"} <= set(last)
    assert last["baseline_mae"] == 0.0 and last["mase"] is None  # 0 / 0: every method is exact
    assert last["tomorrow"]["L1"]["arrivals"] == 3.0 and last["week"]["L2"]["staff_hours"] == 5.0
    whole = json.loads(_call("report", "forecast", "--from", str(FIRST), "--to", str(LAST), "--format", "json"))
    assert whole["summary"]["method"] == "seasonal_naive"
    csv_text = _call(
        "report", "forecast", "--from", str(FIRST), "--to", str(LAST), "--format", "csv", "--table", "week"
    )
    assert csv_text.splitlines()[1].startswith("L1,17.0,")
    TeamFactory(name="Frontline")
    with pytest.raises(CommandError, match="per level"):
        _call("report", "forecast", "--team", "Frontline")


def _call(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_on_noisy_days_the_command_reports_the_evaluation_of_the_counts_it_read(clock, agent):
    """Five weeks where each day's count is the weekday's usual number plus or minus one: the
    command's MASE is the rolling-origin evaluation of exactly those daily counts, and its
    verdict follows it. (Whether a method beats the baseline on noisy counts is checked on
    longer series in ``test_forecast.py``.)"""
    import random

    rng = random.Random(17)
    cat = CategoryFactory(code="network")
    usual = [3, 3, 3, 3, 3, 1, 1]
    first = date(2025, 3, 3)  # a Monday
    counts = [usual[i % 7] + rng.choice((-1, 0, 1)) for i in range(35)]
    for i, n in enumerate(counts):
        clock.now = at(first + timedelta(days=i), 9)
        for _ in range(n):
            open_case(agent, category=cat)
    clock.now = LATER
    out = _call("report", "forecast", "--from", str(first), "--to", str(first + timedelta(days=34)))
    last = json.loads(out.strip().splitlines()[-1])
    ev = fc.evaluate({"L1:new": counts})
    assert last["method"] == ev.chosen
    assert last["mase"] == round(ev.report.mase, 3) and last["baseline_mae"] == round(ev.baseline.mae, 3)
    assert last["mae"] == round(ev.report.mae, 3) and last["baseline_mase"] == 1.0
    assert last["beats_baseline"] is (ev.report.mase < 1)
    assert ("beats the seasonal-naive forecast" in out) is (ev.report.mase < 1)


def test_the_page_and_its_csv(desk, client, manager):
    client.force_login(manager)
    params = {"date_from": str(FIRST), "date_to": str(LAST)}
    page = client.get("/admin/reports/forecast/", params)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Tomorrow, Monday 2025-06-30, per level" in body and "<svg" in body
    assert "Handling time per level" in body and "How the method was chosen" in body
    download = client.get("/admin/reports/forecast/tomorrow.csv", params)
    assert download["Content-Type"].startswith("text/csv")
    lines = download.content.decode().splitlines()
    assert lines[0].startswith("Level,New cases,New low,New high,Escalations in")
    assert lines[1].startswith("L1,3.0,3.0,3.0,0.0,")
    assert "Staffing forecast" in client.get("/admin/reports/").content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "yesterday"}, "Enter a valid date"),
        ({"date_from": "2025-06-03", "date_to": "2025-06-02"}, "ends before it starts"),
        ({"source": "nowhere"}, "Select a valid choice"),
        ({"level": "L9"}, "Select a valid choice"),
        ({"team": "Nobody"}, "Select a valid choice"),
        ({"priority": "urgent"}, "Select a valid choice"),
        ({"date_from": "0001-01-01"}, ""),
    ],
)
def test_bad_parameters_get_a_message_not_a_500(client, manager, params, message):
    client.force_login(manager)
    for url in ("/admin/reports/forecast/", "/admin/reports/forecast/week.csv"):
        response = client.get(url, params)
        assert response.status_code == 400, (url, params)
        assert message in response.content.decode()


def test_a_team_is_refused_with_a_reason(client, manager, desk):
    TeamFactory(name="Frontline")
    client.force_login(manager)
    response = client.get("/admin/reports/forecast/", {"team": "Frontline"})
    assert response.status_code == 400 and "The forecast is per level" in response.content.decode()


def test_the_managers_menu_leads_to_the_forecast(client, manager, agent):
    client.force_login(manager)
    assert 'href="/admin/reports/forecast/" data-menu="forecast"' in client.get("/kb/").content.decode()
    assert 'href="/admin/reports/forecast/"' in client.get("/admin/").content.decode()
    client.force_login(agent)
    assert "/admin/reports/forecast/" not in client.get("/kb/").content.decode()

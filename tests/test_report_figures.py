"""Report figures a desk manager would contest, each on a case built to expose it: open
cases measured to the end of the range (or of an imported log's data), not to today;
"moved down at least once" beside "ended below its highest level"; an imported source's
own date range and the clock its SLA figures use."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from escalations import workflow
from escalations.importers import sources
from escalations.models import Case, Escalation, ImportedSource
from escalations.reports import REGISTRY, Filters
from escalations.reports.base import default_range

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.django_db

DAY = date(2025, 6, 2)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    now = {"t": at(2, 8)}
    monkeypatch.setattr(timezone, "now", lambda: now["t"])
    return now


def tables(name: str, now: datetime, **filters) -> dict:
    f = {"date_from": DAY, "date_to": DAY, "now": now, **filters}
    return {t.key: t for t in REGISTRY[name].run(Filters(**f)).tables}


def l1_hours(table) -> float:
    return next(r for r in table.rows if r[0] == "L1")[2]


def test_an_open_case_counts_to_the_end_of_the_range_not_to_today(frozen, agent):
    open_case(agent, title="Left open")  # opened 2 June 08:00, never resolved
    five_days_later = at(7, 8)
    t = tables("speed", five_days_later)["time_at_level"]
    assert l1_hours(t) == 16.0  # 08:00 to midnight, the end of the one-day range
    assert "end of the range" in t.note
    # The same question asked again a week later gives the same figure.
    assert l1_hours(tables("speed", at(14, 8))["time_at_level"]) == 16.0


def test_a_range_ending_today_measures_an_open_case_to_now(frozen, agent):
    open_case(agent, title="Open now")
    assert l1_hours(tables("speed", at(2, 11))["time_at_level"]) == 3.0


def test_an_imported_open_case_stops_where_its_log_ends(frozen, agent):
    case = open_case(agent, title="Imported, open when the log ended")
    Case.objects.filter(pk=case.pk).update(source="bpic2013", external_id="1-1")
    ImportedSource.objects.create(source="bpic2013", first_at=at(2, 8), last_at=at(2, 14), cases=1)
    wide = {"date_from": DAY, "date_to": date(2025, 6, 30)}
    for source in ("bpic2013", None):  # filtered to the log, and mixed with live cases
        t = tables("speed", at(30, 12), source=source, **wide)["time_at_level"]
        assert l1_hours(t) == 6.0  # 08:00 to the log's last moment, 14:00


def test_moved_down_at_least_once_is_not_ended_below_the_top(frozen, agent, specialist):
    bounced = open_case(agent, title="Returned, then escalated again and solved at L2")
    stayed_down = open_case(agent, title="Returned and solved at L1")
    for case in (bounced, stayed_down):
        workflow.case_take(case_id=case.pk, actor=agent)
        workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
        workflow.case_return(case_id=case.pk, actor=specialist, reason="Try the KB first")
    workflow.case_escalate(case_id=bounced.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=bounced.pk, actor=specialist)
    rows = {r[0]: r[1] for r in tables("volume", at(2, 12))["cases_moved"].rows}
    assert rows["Moved down at least once (returned or de-escalated)"] == 2
    assert rows["Ended below the highest level they reached"] == 1


def test_a_source_filtered_report_opens_on_the_logs_own_dates(agent, capsys):
    ImportedSource.objects.create(source="uci", first_at=at(2, 8), last_at=at(20, 17), cases=3)
    assert default_range("uci", date(2026, 11, 30), 30) == (DAY, date(2025, 6, 20))
    assert default_range(None, date(2026, 11, 30), 30) == (date(2026, 10, 31), date(2026, 11, 30))
    assert default_range("no such log", date(2026, 11, 30), 30)[1] == date(2026, 11, 30)
    call_command("report", "volume", "--source", "uci", "--format", "json")
    assert '"date_from": "2025-06-02"' in capsys.readouterr().out


def test_the_report_page_defaults_to_the_source_range(client, manager):
    ImportedSource.objects.create(source="bpic2013", first_at=at(2, 8), last_at=at(20, 17), cases=3)
    client.force_login(manager)
    page = client.get("/admin/reports/volume/?source=bpic2013")
    assert page.status_code == 200
    assert 'value="2025-06-02"' in page.content.decode() and 'value="2025-06-20"' in page.content.decode()
    assert client.get("/admin/reports/volume/?source=%00junk").status_code in (200, 400)


def test_sla_tables_say_which_clock_an_imported_source_uses(frozen, agent):
    ImportedSource.objects.create(source="bpic2013", first_at=at(2, 8), last_at=at(2, 14), cases=0)
    notes = [t.note for t in tables("sla", at(2, 12), source="bpic2013").values()]
    assert notes and all("BPIC 2013 has no SLA of its own" in n for n in notes)
    assert all("policy clock" not in t.note for t in tables("sla", at(2, 12), source="live").values())


def test_the_importer_records_its_data_range(frozen, agent, specialist):
    case = open_case(agent, title="From a log")
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    frozen["t"] = at(3, 9)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    Case.objects.filter(pk=case.pk).update(source="uci", external_id="INC1")
    row = sources.record("uci")
    assert (row.first_at, row.last_at, row.cases) == (at(2, 8), at(3, 9), 1)  # the acceptance is the last moment
    assert sources.data_range(Case, Escalation, "bpic2013") is None
    Case.objects.filter(pk=case.pk).update(source="")
    assert sources.record("uci") is None and not ImportedSource.objects.exists()


def test_flow_entry_level_bounces_and_ping_pong(frozen, agent, agent2, specialist):
    quiet, once, twice = (open_case(agent, title=t) for t in ("Solved at L1", "Escalated once", "Bounced"))
    workflow.case_take(case_id=quiet.pk, actor=agent)
    workflow.case_assign(case_id=quiet.pk, actor=agent, assignee_id=agent2.pk)  # one reassignment
    for case in (once, twice):
        workflow.case_take(case_id=case.pk, actor=agent)
        workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_return(case_id=twice.pk, actor=specialist, reason="Not ours yet")
    workflow.case_escalate(case_id=twice.pk, actor=agent, handoff=HANDOFF)
    t = tables("flow", at(2, 12))
    assert t["entry_level"].rows[0] == ["L1", 3, 100.0]
    assert [r[:2] for r in t["bounces"].rows] == [["0", 1], ["1", 1], ["2", 1], ["3", 0], ["4+", 0]]
    assert sum(r[2] for r in t["ping_pong_teams"].rows) == 1
    assert t["ping_pong_over_time"].rows == [[DAY, 3, 0.33, 1.0]]
    assert t["verdict_by_team"].rows == []  # live cases carry no verdict of their own


def test_flow_source_verdict_by_team(frozen, agent):
    made, missed = open_case(agent, title="Made"), open_case(agent, title="Missed")
    Case.objects.filter(pk=made.pk).update(source="uci", external_id="1", source_made_sla=True)
    Case.objects.filter(pk=missed.pk).update(source="uci", external_id="2", source_made_sla=False)
    t = tables("flow", at(2, 12), source="uci")
    assert [r[1:] for r in t["verdict_by_team"].rows] == [[2, 1, 50.0]]
    assert t["verdict_over_time"].rows == [[DAY, 2, 50.0]]


def test_the_flow_report_command_and_csv(frozen, agent, capsys):
    open_case(agent, title="One")
    call_command(
        "report", "flow", "--from", "2025-06-02", "--to", "2025-06-02", "--format", "csv", "--table", "bounces"
    )
    assert capsys.readouterr().out.splitlines()[:2] == ["Handoffs,Cases,Share %", "0,1,100.0"]

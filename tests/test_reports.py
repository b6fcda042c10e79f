"""Every report on a small desk built through the workflow with a controlled clock, with the
exact figures a manager should see; the command's three formats; the admin pages (manager
yes, agent 403) and their CSV downloads.

The day (2025-06-02, all times UTC, four P3 cases opened at 08:00 by alice at L1):
  A taken 08:05, resolved 08:50, reopened 08:55, resolved 09:00, closed 11:10
  B taken 08:10, escalated to L2 09:00, accepted 09:30, resolved 11:00, closed 11:10, reviewed
  C taken 08:20, escalated to L2 10:00 (no knowledge consulted), returned 10:15, resolved 10:30,
    closed 11:10, reviewed
  D taken 08:40 (response due 08:30: breached), still open at noon
"""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from escalations import workflow
from escalations.management.commands.report import Command as ReportCommand
from escalations.models import Case
from escalations.reports import REGISTRY, FilterError, Filters

from .factories import HANDOFF, CategoryFactory, TeamFactory, open_case

pytestmark = pytest.mark.django_db

DAY = date(2025, 6, 2)
NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def desk(monkeypatch, agent, specialist, senior):
    clock = Clock(at(8))
    monkeypatch.setattr(timezone, "now", clock)
    team = TeamFactory(name="Frontline")
    cat = CategoryFactory(code="network")
    a, b, c, d = (open_case(agent, category=cat, team=team, title=f"Case {n}") for n in "ABCD")

    def step(hour, minute, fn, **kw):
        clock.now = at(hour, minute)
        return fn(**kw)

    for case, minute in ((a, 5), (b, 10), (c, 20), (d, 40)):
        step(8, minute, workflow.case_take, case_id=case.pk, actor=agent)
    step(8, 50, workflow.case_resolve, case_id=a.pk, actor=agent, summary="Restarted")
    step(8, 55, workflow.case_reopen, case_id=a.pk, actor=agent, reason="Broke again")
    step(9, 0, workflow.case_resolve, case_id=a.pk, actor=agent, summary="Replaced the cable")
    step(9, 0, workflow.case_escalate, case_id=b.pk, actor=agent, handoff=HANDOFF)
    step(9, 30, workflow.case_accept, case_id=b.pk, actor=specialist)
    thin = workflow.Handoff(summary="VPN drops", steps_tried="Reconnected", customer_impact="One user")
    step(10, 0, workflow.case_escalate, case_id=c.pk, actor=agent, handoff=thin)
    step(10, 15, workflow.case_return, case_id=c.pk, actor=specialist, reason="Known issue, see KB")
    step(10, 30, workflow.case_resolve, case_id=c.pk, actor=agent, summary="Applied the KB fix")
    step(11, 0, workflow.case_resolve, case_id=b.pk, actor=specialist, summary="Patched")
    for case, actor in ((a, agent), (b, specialist), (c, agent)):
        step(11, 10, workflow.case_close, case_id=case.pk, actor=actor)
    step(
        11,
        20,
        workflow.case_review,
        case_id=b.pk,
        actor=senior,
        root_cause="Known bug",
        escalation_warranted=True,
        prevention_actions="Patch the client",
    )
    step(
        11,
        25,
        workflow.case_review,
        case_id=c.pk,
        actor=senior,
        root_cause="known bug ",
        escalation_warranted=False,
        prevention_actions="Train L1 on returns",
    )
    clock.now = NOON
    return {"A": a, "B": b, "C": c, "D": d}


def run(name: str, **filters) -> dict:
    result = REGISTRY[name].run(Filters(date_from=DAY, date_to=DAY, now=NOON, **filters))
    return {t.key: t.rows for t in result.tables}


def test_volume(desk):
    t = run("volume")
    assert t["opened"] == [[DAY, 4, 0, 0, 4, 0]]
    assert t["escalations"] == [[DAY, 2, 1, 0]]  # L1->L2, returned, de-escalation
    assert t["transitions"] == [["L1->L2", 2, 1, 1, 0, 50.0], ["de-escalation", 0, 0, 0, 0, None]]
    assert t["cases_moved"] == [
        ["Cases opened", 4, 100.0],
        ["Escalated at least once", 2, 50.0],
        ["Reached a level above L1", 2, 50.0],
        ["Moved down at least once (returned or de-escalated)", 1, 25.0],
        ["Ended below the highest level they reached", 1, 25.0],
    ]


def test_resolution_by_level(desk):
    t = run("resolution")
    assert t["summary"] == [
        ["Cases opened", 4],
        ["Resolved", 3],
        ["Resolved at L1 without leaving it", 1],
        ["First-level resolution rate %", 33.3],
    ]
    assert t["resolved_at"][:3] == [["L1", 2, 66.7, 1, 1], ["L2", 1, 33.3, 0, 0], ["L3", 0, 0.0, 0, 0]]
    assert t["highest_level"][:3] == [["L1", 2, 50.0, 1], ["L2", 2, 50.0, 2], ["L3", 0, 0.0, 0]]


def test_sla(desk):
    t = run("sla")
    # What the customer saw: nobody wrote to them within 30 min (taking a case is no first
    # response); the first contacts were the resolution e-mails (A 50 min, C 2 h 30, B 3 h).
    assert t["sla_by_priority"] == [["P3", 4, 0, 4, 0.0, 2.11, 3, 0, 100.0]]
    assert t["compliance"] == [
        ["L1 P3", "L1", 3, 3, 0, 3, 0.0, 2, 0, 100.0, 0, None],
        ["L2 P3", "L2", 3, 1, 0, 1, 0.0, 1, 0, 100.0, 0, None],
    ]
    # The OLA, every visit: B and C left L1 unbreached; the cases at L1 now: A and C taken in
    # time, D late (08:40); L2 accepted B within its hour; every level's work was on time.
    assert t["ola_by_level"] == [["L1", 2, 4, 1, 80.0, 4, 0, 100.0], ["L2", 0, 1, 0, 100.0, 1, 0, 100.0]]
    assert t["breaches"] == [[DAY, 4, 4, 0]]
    # Every SLA response breached 30 min after opening; D's resolution (20:00) falls due within 24 h.
    assert t["time_to_breach"] == [["P3", 4, 0.5, 0, None, 0, 0, 1]]


def test_speed(desk):
    t = run("speed")
    # First response = first contact with the customer: here the resolution e-mails (A, C at
    # L1; B at L2); taking the case does not count, so D has none.
    assert t["response_resolution"] == [["L1", 3, 2, 1.67, 1.67, 2, 1.75, 1.75], ["L2", 1, 1, 3.0, 3.0, 1, 3.0, 3.0]]
    assert t["accept"] == [["L2", 2, 1, 1, 0, 0.5, 0.5]]
    # L1: A 1 h, B 1 h, C 2 h + 15 min after the return, D 4 h; L2: B 2 h, C 15 min.
    assert t["time_at_level"] == [["L1", 5, 8.25, 1.65, 78.6], ["L2", 2, 2.25, 1.12, 21.4]]


def test_speed_filtered_reads_the_handoffs_through_their_copies(desk):
    """Date-only, the handoffs are selected by their copy of the case's opening; a category
    through their copy of the case's; a level matches either end of the handoff, as in every
    handoff figure, while the case figures take the level holding the case. Time at a level
    under a level filter is that level's visits, the same as its row unfiltered; under a team
    filter, every level the cases the team holds passed through."""
    assert run("speed", category="network") == run("speed")
    t = run("speed", level="L2")  # cases: B only
    assert t["response_resolution"] == [["L2", 1, 1, 3.0, 3.0, 1, 3.0, 3.0]]
    assert t["accept"] == [["L2", 2, 1, 1, 0, 0.5, 0.5]]  # B's accepted and C's returned escalation
    # L2's visits: B 2 h (resolved there), C 15 min (returned); the row of every level, at 100 %.
    assert t["time_at_level"] == [["L2", 2, 2.25, 1.12, 100.0]]
    assert run("speed")["time_at_level"][1][:4] == t["time_at_level"][0][:4]
    t = run("speed", team="Frontline")  # A, C, D held at L1 by Frontline now (B went to L2)
    # A 1 h, C 2 h + 15 min after its return and 15 min at L2, D 4 h: C's L2 visit counts.
    assert t["time_at_level"] == [["L1", 4, 7.25, 1.81, 96.7], ["L2", 1, 0.25, 0.25, 3.3]]


def test_quality(desk):
    t = run("quality")
    assert t["over_by_team"] == [["Frontline", 2, 1, 50.0, 2, 1, 50.0]]
    assert t["over_by_agent"] == [["alice", 2, 1, 50.0, 2, 1, 50.0]]
    assert t["under_escalation"] == [["L1", "Frontline", 3, 1, 1, 33.3]]
    assert t["reopens"] == [["L1", 2, 1, 50.0], ["L2", 1, 0, 0.0]]


def test_bottlenecks(desk):
    t = run("bottlenecks")
    assert t["backlog"] == [[DAY, 4, 3, 1]]
    assert t["teams"] == [["Frontline", "L1", 50, 1, 2.0, 4.0, 4.0, 4.0, 0, 0, 0]]
    assert t["waits"] == [["(no team)", "L2", 2, 0.38, 0.38, 0, None]]


def test_reviews(desk):
    t = run("reviews")
    assert t["root_causes"] == [["known bug", 2, 100.0, 1, 1, 0]]
    assert t["prevention"] == [
        [desk["C"].pk, DAY, "L1", "known bug", "no", "Train L1 on returns"],
        [desk["B"].pk, DAY, "L2", "Known bug", "yes", "Patch the client"],
    ]


def test_filters(desk):
    assert run("resolution", level="L2")["summary"][:2] == [["Cases opened", 1], ["Resolved", 1]]
    assert run("volume", team="Frontline")["opened"] == [[DAY, 3, 0, 0, 3, 0]]  # B is at L2, no team
    assert run("volume", category="network", source="live")["opened"] == [[DAY, 4, 0, 0, 4, 0]]
    assert run("volume", priority=1)["opened"] == [[DAY, 0, 0, 0, 0, 0]]
    assert run("volume", source="uci")["transitions"] == [["de-escalation", 0, 0, 0, 0, None]]
    later = REGISTRY["volume"].run(
        Filters(date_from=DAY + timedelta(days=1), date_to=DAY + timedelta(days=3), now=NOON)
    )
    assert [row[1] for row in later.tables[0].rows] == [0, 0, 0]
    with pytest.raises(FilterError, match="no team 'Nobody'"):
        run("volume", team="Nobody")


def test_command_formats(desk):
    out = io.StringIO()
    call_command(
        "report",
        "volume",
        "--from",
        "2025-06-02",
        "--to",
        "2025-06-02",
        "--format",
        "csv",
        "--table",
        "transitions",
        stdout=out,
    )
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["Transition", "Handoffs", "Accepted", "Returned", "Pending", "Returned %"],
        ["L1->L2", "2", "1", "1", "0", "50.0"],
        ["de-escalation", "0", "0", "0", "0", ""],
    ]
    out = io.StringIO()
    call_command("report", "resolution", "--from", "2025-06-02", "--to", "2025-06-02", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["report"] == "resolution" and data["filters"]["date_from"] == "2025-06-02"
    assert data["tables"][0]["rows"][3] == {"measure": "First-level resolution rate %", "value": 33.3}
    out = io.StringIO()
    call_command("report", "sla", "--from", "2025-06-02", "--to", "2025-06-02", "--level", "L1", stdout=out)
    text = out.getvalue()
    assert "SLA compliance: 2025-06-02 .. 2025-06-02 (level=L1)" in text
    assert "Compliance by level and priority" in text and "L1 P3" in text
    assert "SLA compliance per priority" in text and "OLA compliance per level" in text
    out = io.StringIO()
    call_command("report", "volume", "--from", "2025-06-02", "--to", "2025-06-02", "--format", "csv", stdout=out)
    assert out.getvalue().startswith("# opened: Cases opened\nPeriod,Opened,P1,P2,P3,P4\n2025-06-02,4,0,0,4,0\n")


def test_command_help_lists_the_reports_and_refuses_bad_filters(db):
    text = ReportCommand().create_parser("manage.py", "report").format_help()
    for name in REGISTRY:
        assert name in text
    with pytest.raises(CommandError, match="no level 'L9'"):
        call_command(
            "report", "volume", "--from", "2025-06-02", "--to", "2025-06-02", "--level", "L9", stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="ends before it starts"):
        call_command("report", "volume", "--from", "2025-06-03", "--to", "2025-06-02", stdout=io.StringIO())


def test_admin_pages_for_a_manager(desk, client, manager):
    client.force_login(manager)
    index = client.get("/admin/reports/")
    assert index.status_code == 200
    for r in REGISTRY.values():
        assert r.title in index.content.decode()
    for name in REGISTRY:
        page = client.get(f"/admin/reports/{name}/", {"date_from": "2025-06-02", "date_to": "2025-06-02"})
        assert page.status_code == 200, name
    page = client.get("/admin/reports/volume/", {"date_from": "2025-06-02", "date_to": "2025-06-02"})
    body = page.content.decode()
    assert "<svg" in body and "Handoffs in the range by transition" in body
    assert "/admin/reports/volume/transitions.csv?date_from=2025-06-02&amp;date_to=2025-06-02" in body
    download = client.get("/admin/reports/volume/transitions.csv", {"date_from": "2025-06-02", "date_to": "2025-06-02"})
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().splitlines()[1] == "L1->L2,2,1,1,0,50.0"
    assert client.get("/admin/reports/nothing/").status_code == 404
    bad = client.get("/admin/reports/volume/", {"date_from": "2025-06-03", "date_to": "2025-06-02"})
    assert bad.status_code == 400 and "ends before it starts" in bad.content.decode()


def test_admin_pages_refuse_an_agent(agent, client):
    client.force_login(agent)
    assert client.get("/admin/reports/").status_code == 403
    assert client.get("/admin/reports/volume/").status_code == 403
    assert client.get("/admin/reports/volume/opened.csv").status_code == 403


def test_admin_pages_need_a_login(client, db):
    response = client.get("/admin/reports/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_backlog_per_team_at_a_past_moment_is_every_case_open_then_whatever_its_lifetime(agent):
    """The bottlenecks report's backlog per team at the end of a past range: the cases opened
    before that moment and not resolved before it, found per lifetime class (``case_lifetime``).
    Cases on every side of each boundary: opened at the moment, resolved at it or a second
    before, a lifetime exactly on a class bound, never resolved, open for ten years."""
    team = TeamFactory(name="Past desk")
    category = CategoryFactory(code="past")
    date_to = date(2025, 6, 2)
    moment = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), datetime.min.time()))
    hour, s = timedelta(hours=1), timedelta(seconds=1)
    spans = {  # (opened, resolved or None) -> open at the moment?
        (moment - hour, None): True,
        (moment - 400 * 24 * hour, None): True,
        (moment, None): False,  # opened at the moment, not before it
        (moment - hour, moment): True,  # resolved at the moment: still open until then
        (moment - hour, moment - s): False,
        (moment - 2 * hour, moment): True,  # exactly on a class bound (2 h)
        (moment - 2 * hour + s, moment - s): False,
        (moment - 4 * hour + s, moment + 3 * hour): True,
        (moment - 30 * 24 * hour, moment + 24 * hour): True,
        (moment - 3650 * 24 * hour, moment + hour): True,  # ten years: the last class, no bound
        (moment - 3650 * 24 * hour, moment - hour): False,
        (moment + hour, moment + 2 * hour): False,
    }
    for n, (opened, resolved) in enumerate(spans):
        case = open_case(agent, category=category, team=team, title=f"Span {n}")
        Case.objects.filter(pk=case.pk).update(opened_at=opened, resolved_at=resolved, level_entered_at=opened)
    expected = [o for (o, _r), is_open in spans.items() if is_open]
    f = Filters(date_from=date_to - timedelta(days=30), date_to=date_to, category="past", now=moment + 48 * hour)
    (row,) = next(t for t in REGISTRY["bottlenecks"].run(f).tables if t.key == "teams").rows
    age_h = sum((moment - o).total_seconds() for o in expected) / len(expected) / 3600
    assert row[:4] == ["Past desk", "L1", team.capacity, len(expected)]
    assert row[5] == pytest.approx(age_h, abs=0.01)  # mean age
    assert row[7] == pytest.approx((moment - min(expected)).total_seconds() / 3600, abs=0.01)  # oldest
    assert row[8:] == [sum(moment - o > timedelta(days=d) for o in expected) for d in (1, 3, 7)]

"""Waiting on customers, vendors and other teams (issue 15): every wait is recorded with
the team and level that waited; only the customer stops the SLA clock; waits end however
the case stops waiting; the "Waiting" report gives hours per team and reason, over time,
and the share started near a breach; imported logs' waits keep their reasons."""

from __future__ import annotations

from datetime import UTC, date

import pytest
from django.core.management import call_command
from django.urls import reverse

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.importers import FORMATS, run_import
from escalations.models import Case, CaseStatus, CaseWait, TriggerRule, WaitKind
from escalations.reports import REGISTRY, Filters

from .factories import HANDOFF, TeamFactory, fresh, level, open_case
from .test_import_order import log, row

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def front(agent):
    team = TeamFactory(name="Front", level=level("L1"))
    team.members.add(agent)
    return team


@pytest.fixture
def worked(agent, front, clock):
    case = open_case(agent, team=front)
    workflow.case_take(case_id=case.pk, actor=agent)
    return fresh(case)


def waits_of(case):
    return list(CaseWait.objects.filter(case=case).order_by("started_at", "pk"))


def test_a_customer_pause_is_a_customer_wait_and_resuming_ends_it(agent, front, worked, clock):
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Which printer model?")
    case = fresh(worked)
    assert case.status == CaseStatus.AWAITING_CUSTOMER and case.waiting_on == WaitKind.CUSTOMER
    [wait] = waits_of(case)
    assert (wait.kind, wait.team, wait.level.code, wait.stops_sla, wait.ended_at) == (
        "customer", front, "L1", True, None,
    )  # fmt: skip
    assert wait.reason == "Which printer model?"
    clock.advance(hours=2)
    workflow.case_resume(case_id=worked.pk, actor=agent, reason="HP 4250")
    wait.refresh_from_db()
    assert wait.ended_at == clock.now and fresh(worked).waiting_on == ""
    changes = [h.waiting_on for h in fresh(worked).history.order_by("history_id")]
    assert changes[-3:] == ["", "customer", ""]  # the case's own history records both


def test_the_customers_reply_ends_the_wait(agent, worked, clock):
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Which printer model?")
    clock.advance(minutes=40)
    workflow.case_customer_message(
        actor=workflow.system_actor(), case_id=worked.pk, sender="rita@example.com", body="An HP 4250."
    )
    [wait] = waits_of(worked)
    assert wait.ended_at == clock.now and fresh(worked).status == CaseStatus.IN_PROGRESS


def test_a_vendor_wait_leaves_the_clock_running(agent, worked, clock):
    due = worked.resolution_due_at
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="HP ships a fuser", waiting_for="vendor")
    case = fresh(worked)
    assert case.status == CaseStatus.IN_PROGRESS and case.paused_at is None and case.waiting_on == "vendor"
    clock.advance(hours=3)
    workflow.case_note(case_id=worked.pk, actor=agent, body="Still waiting for HP")
    assert fresh(worked).resolution_due_at == due  # the customer's deadline did not move
    with pytest.raises(workflow.InvalidAction, match="already waits on a vendor"):
        workflow.case_pause(case_id=worked.pk, actor=agent, reason="Again", waiting_for="vendor")
    workflow.case_resume(case_id=worked.pk, actor=agent, reason="Fuser arrived")
    [wait] = waits_of(worked)
    assert (wait.kind, wait.stops_sla, wait.ended_at) == ("vendor", False, clock.now)
    assert fresh(worked).resolution_due_at == due


def test_waiting_on_the_customer_instead_ends_the_vendor_wait(agent, worked, clock):
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Fuser on order", waiting_for="vendor")
    clock.advance(hours=1)
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="When can we come?")
    vendor, customer = waits_of(worked)
    assert vendor.ended_at == customer.started_at == clock.now
    assert fresh(worked).waiting_on == "customer"


def test_an_escalation_ends_the_wait_of_the_level_that_waited(agent, specialist, worked, clock):
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Change window tonight", waiting_for="internal")
    clock.advance(hours=1)
    workflow.case_escalate(case_id=worked.pk, actor=agent, handoff=HANDOFF)
    [wait] = waits_of(worked)
    assert wait.ended_at == clock.now and fresh(worked).waiting_on == ""


def test_the_sweep_ends_the_wait_of_a_case_it_moves_up(agent, worked, clock):
    TriggerRule.objects.update(is_active=False)
    TriggerRule.objects.create(
        name="Up at once", order=1, level=level("L1"), condition=TriggerRule.Condition.PRIORITY,
        params={"at_most": 4}, action=TriggerRule.Action.ESCALATE_NEXT,
    )  # fmt: skip
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="HP ships a fuser", waiting_for="vendor")
    clock.advance(minutes=5)
    run_sweep(now=clock.now)
    case = fresh(worked)
    assert case.level.code == "L2" and case.waiting_on == ""
    [wait] = waits_of(worked)
    assert wait.ended_at == clock.now
    assert case.history.latest().waiting_on == ""


def test_a_wait_started_late_in_the_target_is_near_a_breach(agent, worked, clock):
    target = worked.resolution_due_at - worked.opened_at
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Early", waiting_for="vendor")
    workflow.case_resume(case_id=worked.pk, actor=agent)
    clock.now = worked.resolution_due_at - target * 0.2  # a fifth of the target left
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Late")
    early, late = waits_of(worked)
    assert (early.near_breach, late.near_breach) == (False, True)


def test_the_form_offers_the_reasons_and_refuses_junk(client, agent, worked):
    client.force_login(agent)
    page = client.get(reverse("case-detail", args=[worked.pk])).content.decode()
    assert 'name="pause-waiting_for"' in page and "A vendor or supplier" in page
    refused = client.post(
        reverse("case-action", args=[worked.pk, "pause"]),
        {"pause-waiting_for": "the moon", "pause-reason": "x", "pause-version": worked.version},
    )
    assert refused.status_code == 400 and not CaseWait.objects.exists()
    done = client.post(
        reverse("case-action", args=[worked.pk, "pause"]),
        {"pause-waiting_for": "vendor", "pause-reason": "Fuser", "pause-version": worked.version},
    )
    assert done.status_code == 302
    page = client.get(reverse("case-detail", args=[worked.pk])).content.decode()
    assert 'id="waiting-on"' in page and "waiting on a vendor or supplier (the SLA clock runs)" in page
    assert 'id="action-resume"' in page


# -- the report --------------------------------------------------------------------------------


def _report(now, **filters):
    f = {"date_from": date(2025, 6, 2), "date_to": date(2025, 6, 2), "now": now, **filters}
    return {t.key: t for t in REGISTRY["waiting"].run(Filters(**f)).tables}


def test_the_report_gives_hours_per_team_and_reason_and_the_near_breach_share(agent, agent2, front, clock):
    back = TeamFactory(name="Back", level=level("L1"))
    back.members.add(agent2)
    a = open_case(agent, team=front)
    b = open_case(agent2, team=back)
    for case, who in ((a, agent), (b, agent2)):
        workflow.case_take(case_id=case.pk, actor=who)
    workflow.case_pause(case_id=a.pk, actor=agent, reason="Model?")  # 2 h on the customer
    workflow.case_pause(case_id=b.pk, actor=agent2, reason="Fuser", waiting_for="vendor")  # open: to now
    clock.advance(hours=2)
    workflow.case_resume(case_id=a.pk, actor=agent)
    workflow.case_pause(case_id=a.pk, actor=agent, reason="HP", waiting_for="vendor")  # 1 h on a vendor
    clock.advance(hours=1)
    workflow.case_resume(case_id=a.pk, actor=agent)
    CaseWait.objects.filter(case=a, kind="vendor").update(near_breach=True)
    t = _report(clock.now)
    by_team = {r[0]: r for r in t["waiting_by_team"].rows}
    cols = [c.key for c in t["waiting_by_team"].columns]
    front_row = dict(zip(cols, by_team["Front"]))
    assert (front_row["waits"], front_row["hours"], front_row["hours_customer"], front_row["hours_vendor"]) == (
        2, 3.0, 2.0, 1.0,
    )  # fmt: skip
    assert front_row["near_pct"] == 50.0
    back_row = dict(zip(cols, by_team["Back"]))
    assert (back_row["waits"], back_row["hours_vendor"]) == (1, 3.0)  # still open: measured to now
    reasons = {r[0]: r for r in t["waiting_by_reason"].rows}
    assert reasons["The customer"][1:4] == ["yes", 1, 33.3] and reasons["A vendor or supplier"][2] == 2
    assert reasons["A vendor or supplier"][6:] == [1, 50.0]
    assert t["waiting_over_time"].rows[0][1] == 3
    # Level and team filters are the level and team that waited.
    assert [r[0] for r in _report(clock.now, team="Back")["waiting_by_team"].rows] == ["Back"]


def test_the_report_page_csv_and_command(client, manager, agent, worked, clock, capsys):
    workflow.case_pause(case_id=worked.pk, actor=agent, reason="Model?")
    clock.advance(hours=1)
    client.force_login(manager)
    page = client.get(reverse("reports-detail", args=["waiting"]), {"date_from": "2025-06-02", "date_to": "2025-06-02"})
    assert page.status_code == 200 and "Waiting time per team and reason" in page.content.decode()
    bad = client.get(reverse("reports-detail", args=["waiting"]), {"date_from": "0001-01-01"})
    assert bad.status_code == 400
    call_command("report", "waiting", "--from", "2025-06-02", "--to", "2025-06-02", "--format", "csv")
    assert "Front" in capsys.readouterr().out


# -- imported logs ------------------------------------------------------------------------------


def test_imported_waits_keep_their_reason_team_and_end(tmp_path):
    path = log(
        tmp_path,
        [
            row("7-1", "08:00", "Accepted", "In Progress", "L1"),
            row("7-1", "08:30", "Accepted", "Wait - Vendor", "L1"),
            row("7-1", "10:30", "Accepted", "Wait - User", "L1"),
            row("7-1", "11:00", "Accepted", "In Progress", "L1"),
            row("7-1", "11:30", "Accepted", "Wait - Implementation", "L1"),
            row("7-1", "12:00", "Queued", "Awaiting Assignment", "L2"),
            row("7-1", "13:00", "Completed", "Closed", "L2"),
        ],
    )
    run_import(FORMATS["bpic2013"], path)
    case = Case.objects.get(external_id="7-1")
    got = [
        (w.kind, w.team.name, w.level.code, w.started_at.astimezone(UTC).hour, w.ended_at.astimezone(UTC).hour, w.stops_sla)
        for w in waits_of(case)
    ]  # fmt: skip
    assert got == [
        ("vendor", "BPIC G1", "L1", 7, 9, False),
        ("customer", "BPIC G1", "L1", 9, 10, True),
        ("internal", "BPIC G1", "L1", 10, 11, False),  # ends when the case moves to L2
    ]
    assert case.waiting_on == ""

"""How the desk counts time (docs/counting-time.md), through the workflow and the pages:
the customer's SLA never moves with escalation, return or de-escalation; only a recorded
priority change or a pause moves it, and the case page says why; each level gets its own
OLA; first response means contact with the customer; rules choose their clock; the
reports show both; the data migration sets existing cases right."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.domain import clock as clocks
from escalations.domain import rules
from escalations.models import Case, Note, PolicySnapshot, TriggerRule
from escalations.models.policy import condition_problem
from escalations.reports import REGISTRY, Filters
from escalations.workflow.base import InvalidAction

from .factories import HANDOFF, fresh, level, open_case

pytestmark = pytest.mark.django_db


def sla_due(case):
    case = fresh(case)
    return case.response_due_at, case.resolution_due_at


def page_text(client, user, case) -> str:
    client.force_login(user)
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def shown_due(text: str, which: str) -> str:
    return re.search(rf'id="sla-{which}-due">([^<]*)<', text).group(1).strip()


# -- 1. the SLA never moves on escalation, accept, return, de-escalation, reassignment -------


def test_escalating_a_p1_never_moves_the_customers_sla(clock, agent, specialist):
    case = open_case(agent, impact=1, urgency=1)
    assert case.priority == 1
    response, resolution = clocks.targets_of(case, "L1", 1)
    assert case.response_due_at == case.opened_at + response  # the 24x7 default calendar
    assert case.resolution_due_at == case.opened_at + resolution
    due = sla_due(case)
    clock.advance(minutes=5)
    workflow.case_take(case_id=case.pk, actor=agent)
    clock.advance(minutes=5)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    assert sla_due(case) == due
    # The level that received it has its own OLA, from the level table.
    c = fresh(case)
    ola_response, ola_work = clocks.targets_of(c, "L2", 1)
    assert c.level.code == "L2"
    assert c.ola_response_due_at == c.level_entered_at + ola_response
    assert c.ola_work_due_at == c.level_entered_at + ola_work
    assert ola_work > resolution  # the old code moved the resolution deadline to this
    clock.advance(minutes=20)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    assert sla_due(case) == due
    clock.advance(minutes=30)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Patched the gateway")
    assert sla_due(case) == due
    c = fresh(case)
    assert c.resolution_breached_at is None and c.response_breached_at is not None  # no contact in 15 min


def test_return_de_escalation_and_reassignment_leave_the_sla_alone(clock, agent, agent2, specialist):
    case = open_case(agent)
    due = sla_due(case)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent2.pk)
    clock.advance(minutes=10)
    workflow.case_escalate(case_id=case.pk, actor=agent2, handoff=HANDOFF)
    clock.advance(minutes=10)
    workflow.case_return(case_id=case.pk, actor=specialist, reason="Known issue")
    assert sla_due(case) == due
    workflow.case_escalate(case_id=case.pk, actor=agent2, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    clock.advance(minutes=10)
    workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Expert part done")
    assert sla_due(case) == due
    assert fresh(case).sla_changes in (None, [])


# -- priority changes and pauses move it, and the page says why ---------------------------


def test_priority_change_recomputes_the_sla_and_the_page_says_why(clock, client, agent):
    case = open_case(agent)
    assert case.priority == 3
    old = sla_due(case)
    clock.advance(hours=1)
    workflow.case_change_priority(
        case_id=case.pk, actor=agent, priority=1, reason="Whole office down", version=fresh(case).version
    )
    c = fresh(case)
    response, resolution = clocks.targets_of(c, "L1", 1)
    assert c.priority == 1 and c.sla_started_at == clock.now
    assert (c.response_due_at, c.resolution_due_at) == (clock.now + response, clock.now + resolution)
    assert (c.response_due_at, c.resolution_due_at) != old
    assert [e["clock"] for e in c.sla_changes] == ["response", "resolution"]
    assert c.history.first().history_change_reason == "Priority P3 -> P1: Whole office down"
    text = page_text(client, agent, c)
    assert "Resolution due moved" in text and "priority P3→P1 by alice: Whole office down" in text


def test_priority_change_needs_a_reason_and_a_real_change(clock, agent):
    case = open_case(agent)
    with pytest.raises(InvalidAction, match="Say why"):
        workflow.case_change_priority(case_id=case.pk, actor=agent, priority=1, reason=" ")
    with pytest.raises(InvalidAction, match="already P3"):
        workflow.case_change_priority(case_id=case.pk, actor=agent, priority=3, reason="No change")
    with pytest.raises(InvalidAction, match="P1 to P4"):
        workflow.case_change_priority(case_id=case.pk, actor=agent, priority="P9", reason="Typo")
    assert fresh(case).priority == 3


def test_the_change_priority_page_action(clock, client, agent):
    case = open_case(agent)
    client.force_login(agent)
    url = reverse("case-action", args=[case.pk, "change-priority"])
    prefix = "change-priority"
    response = client.post(
        url, {f"{prefix}-priority": "2", f"{prefix}-reason": "VIP customer", f"{prefix}-version": fresh(case).version}
    )
    assert response.status_code in (200, 302)
    assert fresh(case).priority == 2
    assert "priority P3→P2 by alice: VIP customer" in page_text(client, agent, case)


def test_a_pause_for_the_customer_shifts_the_sla_and_the_page_says_why(clock, client, agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_public_update(case_id=case.pk, actor=agent, body="Which printer?")
    old_resolution = fresh(case).resolution_due_at
    clock.advance(minutes=30)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for the model number")
    clock.advance(hours=1, minutes=30)
    workflow.case_resume(case_id=case.pk, actor=agent, reason="Customer answered")
    c = fresh(case)
    assert c.resolution_due_at == old_resolution + timedelta(hours=1, minutes=30)
    text = page_text(client, agent, c)
    assert "Resolution due moved" in text and "paused for customer 1 h 30 min" in text


# -- 2. first response = first contact with the customer ----------------------------------


def test_take_assign_notes_and_rules_are_not_a_first_response(clock, agent, agent2):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent2.pk)
    workflow.case_note(case_id=case.pk, actor=agent2, body="Looked at the logs")
    c = fresh(case)
    assert c.first_response_at is None
    assert c.responded_at is not None  # the level took it on: its OLA response
    # A rule firing (the sweep) does not answer the customer either.
    TriggerRule.objects.create(
        name="Warn",
        order=1,
        condition="sla_percent",
        params={"target": "response", "percent": 50, "clock": "sla"},
        action="notify",
        recipients=["assignee"],
    )
    clock.advance(hours=1)
    assert run_sweep().actions >= 1
    c = fresh(case)
    assert c.first_response_at is None
    assert c.response_breached_at is not None  # the customer waited past the SLA response


def test_a_public_update_is_the_first_response(clock, agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    clock.advance(minutes=7)
    workflow.case_public_update(case_id=case.pk, actor=agent, body="We are on it")
    c = fresh(case)
    assert c.first_response_at == clock.now
    clock.advance(minutes=7)
    workflow.case_public_update(case_id=case.pk, actor=agent, body="Still on it")
    assert fresh(case).first_response_at == clock.now - timedelta(minutes=7)


def test_a_recorded_phone_call_is_the_first_response(clock, client, agent):
    case = open_case(agent)
    with pytest.raises(InvalidAction, match="what you discussed"):
        workflow.case_record_contact(case_id=case.pk, actor=agent, note="")
    clock.advance(minutes=4)
    note = workflow.case_record_contact(case_id=case.pk, actor=agent, note="Called Rita, restart planned")
    c = fresh(case)
    assert c.first_response_at == clock.now and c.responded_at == clock.now
    assert note.body == "Customer contact (phone): Called Rita, restart planned"
    assert Note.objects.filter(case=c).count() == 1
    assert "Record customer contact (phone)" in page_text(client, agent, c)


# -- rules choose their clock --------------------------------------------------------------


def test_rules_choose_the_sla_or_the_ola_clock(clock, agent):
    case = open_case(agent)  # P3: L1 response 30 min (SLA); L2 response 2 h (its OLA)
    clock.advance(minutes=10)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    clock.advance(minutes=25)
    c = fresh(case)
    sla = {"target": "response", "percent": 100, "clock": "sla"}
    ola = {"target": "response", "percent": 100, "clock": "ola"}
    assert rules.CONDITIONS["sla_percent"](c, sla, clock.now) is not None  # the customer waited 35 min
    assert rules.CONDITIONS["sla_percent"](c, ola, clock.now) is None  # L2 has had it 25 min
    # Without "clock": the response clock is the level's (today's meaning), resolution the SLA.
    assert rules.clock_kind({"target": "response"}) == "ola"
    assert rules.clock_kind({"target": "resolution"}) == "sla"
    assert rules.CONDITIONS["sla_percent"](c, {"target": "response", "percent": 100}, clock.now) is None
    # The next check includes the SLA response breach moment.
    assert rules.next_check_at(c, clock.now, rules=[]) <= c.response_due_at
    assert "clock" in condition_problem("sla_percent", {"target": "response", "percent": 50, "clock": "x"})
    assert condition_problem("sla_percent", {"target": "resolution", "percent": 50, "clock": "ola"}) is None


def test_a_clock_asked_for_by_name_is_the_same_clock_the_case_lists(clock, agent, specialist):
    """``clock_named`` builds only the clock asked for (the rules ask per condition); it must
    be the very clock ``clocks`` lists, after the case moved and with its clocks in every state."""
    case = open_case(agent)
    clock.advance(minutes=10)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    clock.advance(minutes=5)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    c = fresh(case)
    assert c.responded_at is not None and c.first_response_at is None and c.level_entered_at > c.opened_at
    listed = {(k.kind, k.name): k for k in clocks.clocks(c)}
    assert len(listed) == 4
    for (kind, name), expected in listed.items():
        assert clocks.clock_named(c, name, kind) == expected
    assert clocks.clock_named(c, "resolution", "ola") == listed["ola", "work"]  # the OLA's resolution is its work
    assert clocks.clock_named(c, "work", "sla") is None
    assert clocks.clock_named(c, "nonsense", "ola") is None


# -- reports: SLA per priority, OLA per level ----------------------------------------------


def test_reports_show_sla_per_priority_and_ola_per_level(clock, agent, specialist):
    start = clock.now
    fast = open_case(agent, title="Fast")  # P3: SLA response 30 min
    slow = open_case(agent, title="Slow", impact=1, urgency=1)  # P1: SLA response 15 min
    clock.advance(minutes=5)
    workflow.case_take(case_id=fast.pk, actor=agent)
    workflow.case_public_update(case_id=fast.pk, actor=agent, body="On it")
    workflow.case_take(case_id=slow.pk, actor=agent)
    workflow.case_escalate(case_id=slow.pk, actor=agent, handoff=HANDOFF)
    clock.advance(minutes=20)
    workflow.case_accept(case_id=slow.pk, actor=specialist)
    workflow.case_public_update(case_id=slow.pk, actor=specialist, body="Now at L2")  # 25 min: late for P1
    clock.advance(minutes=5)
    workflow.case_resolve(case_id=fast.pk, actor=agent, summary="Done")
    day = start.date()
    result = REGISTRY["sla"].run(Filters(date_from=day, date_to=day, now=clock.now))
    tables = {t.key: t.rows for t in result.tables}
    by_priority = {row[0]: row for row in tables["sla_by_priority"]}
    assert by_priority["P1"][1:5] == [1, 0, 1, 0.0]  # first contact after 25 min, SLA 15 min
    assert by_priority["P3"][1:5] == [1, 1, 0, 100.0]
    assert by_priority["P3"][5] == round(5 / 60, 2) or by_priority["P3"][5] == pytest.approx(5 / 60, abs=0.01)
    ola = {row[0]: row for row in tables["ola_by_level"]}
    assert ola["L1"][1] == 1  # one visit ended by a handoff
    assert ola["L2"][2:5] == [1, 0, 100.0]  # L2 accepted within its OLA
    assert tables["ola_by_level"] and result.tables[0].title.startswith("SLA compliance per priority")


# -- the data migration ---------------------------------------------------------------------


def _old_style(case, **fields):
    """What the code before 0020 left on a case (no SLA level, no OLA fields)."""
    snapshot = dict(case.policy_snapshot)
    snapshot.pop("sla_level", None)
    Case.objects.filter(pk=case.pk).update(
        policy=PolicySnapshot.objects.keep(snapshot),
        sla_started_at=None,
        ola_response_due_at=None,
        ola_work_due_at=None,
        ola_response_breached_at=None,
        ola_work_breached_at=None,
        sla_changes=None,
        **fields,
    )


def test_the_migration_keeps_unmoved_sla_and_recomputes_what_escalation_moved(clock, client, agent, specialist):
    migration = importlib.import_module("escalations.migrations.0021_sla_ola_data")
    still = open_case(agent, title="Never escalated")
    workflow.case_take(case_id=still.pk, actor=agent)
    workflow.case_public_update(case_id=still.pk, actor=agent, body="Hello")
    kept = sla_due(still)
    _old_style(still)
    moved = open_case(agent, title="Escalated", impact=1, urgency=1)
    clock.advance(minutes=5)
    workflow.case_take(case_id=moved.pk, actor=agent)
    workflow.case_escalate(case_id=moved.pk, actor=agent, handoff=HANDOFF)
    m = fresh(moved)
    l2_response, l2_resolution = clocks.targets_of(m, "L2", 1)
    old_response_due = m.level_entered_at + l2_response
    old_resolution_due = m.opened_at + l2_resolution  # where the old code put it
    _old_style(
        moved,
        response_due_at=old_response_due,
        resolution_due_at=old_resolution_due,
        first_response_at=m.opened_at + timedelta(minutes=5),  # the old code: "take" answered
    )
    clock.advance(minutes=20)
    assert migration.migrate_clocks(django_apps, None) == 2

    s = fresh(still)
    assert sla_due(s) == kept
    assert s.policy_snapshot["sla_level"] == "L1" and s.sla_started_at is None
    assert s.first_response_at is not None and not s.sla_changes
    assert s.ola_response_due_at == s.response_due_at and s.ola_work_due_at is not None

    m = fresh(moved)
    response, resolution = clocks.targets_of(m, "L1", 1)
    assert (m.response_due_at, m.resolution_due_at) == (m.opened_at + response, m.opened_at + resolution)
    assert m.policy_snapshot["sla_level"] == "L1"
    assert m.ola_response_due_at == old_response_due  # the old per-level clock is the OLA
    assert m.ola_work_due_at == m.level_entered_at + l2_resolution
    assert m.first_response_at is None  # taking it was no contact with the customer
    assert m.response_breached_at == m.response_due_at  # 15 min passed without contact
    assert [e["clock"] for e in m.sla_changes] == ["response", "resolution"]
    assert "escalation no longer moves it" in page_text(client, specialist, m)
    # Run twice: nothing more moves.
    assert migration.migrate_clocks(django_apps, None) == 2
    assert len(fresh(moved).sla_changes) == 2


# -- the case page ----------------------------------------------------------------------------


def test_the_case_page_shows_the_sla_deadline_unchanged_after_escalation(clock, client, agent, specialist):
    case = open_case(agent, impact=1, urgency=1)
    before = page_text(client, agent, case)
    response, resolution = shown_due(before, "response"), shown_due(before, "resolution")
    assert resolution != "—"
    clock.advance(minutes=5)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    clock.advance(minutes=5)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    after = page_text(client, specialist, case)
    assert (shown_due(after, "response"), shown_due(after, "resolution")) == (response, resolution)
    assert "OLA at L2" in after and "Resolution due moved" not in after
    assert level("L2").pk == fresh(case).level_id

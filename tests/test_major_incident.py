"""Major incidents (issue 11, point 4): what an approved declaration changes, the queues, the
review before closing, ending one, the case page banner and the report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from escalations import selectors, workflow
from escalations.domain import clock as sla_clock
from escalations.models import Case, Notification, SlaPolicy, TriggerRule
from escalations.reports import REGISTRY, Filters
from escalations.selectors import QueueFilters

from .factories import TeamFactory, UserFactory, fresh, level, open_case, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def executive(db):
    return staff("Executive", "eve")


@pytest.fixture
def desk(agent):
    """Teams with managers at L1 and at the top; the desk works office hours (so a notice that
    waited for working hours would show), and no rule fires on its own."""
    TriggerRule.objects.update(is_active=False)
    SlaPolicy.objects.update(is_default=False)
    SlaPolicy.objects.filter(name="Business hours").update(is_default=True)
    front = TeamFactory(
        name="Front", level=level("L1"), email="front@example.com", manager=UserFactory(username="frontboss")
    )
    front.members.add(agent)
    TeamFactory(name="Board", level=level("EXEC"), email="board@example.com", manager=UserFactory(username="chair"))
    return front


def _declare(case, agent, executive, note="approved"):
    req = workflow.approval_request(
        case_id=case.pk, actor=agent, kind="major_incident", description="Payments down for every customer"
    )
    workflow.approval_decide(approval_id=req.pk, actor=executive, approve=True, note=note)
    return req, fresh(case)


def test_an_approved_declaration_makes_the_case_p1_and_major_from_that_moment(agent, executive, desk, clock):
    case = open_case(agent, impact=2, urgency=2, team=desk)  # P3
    workflow.case_take(case_id=case.pk, actor=agent)
    assert fresh(case).priority == 3 and not fresh(case).is_major
    clock.advance(days=4, hours=2)  # Friday 10:30 UTC: inside office hours
    declared_at = clock.now
    req, case = _declare(case, agent, executive)
    assert case.priority == 1 and case.is_major and case.major_declared_at == declared_at
    _, p1_resolution = sla_clock.targets_of(case, "L1", 1)
    expected = sla_clock.calendar_of(case).add(declared_at, p1_resolution, exclude=[])
    assert case.resolution_due_at == expected
    assert case.resolution_due_at != sla_clock.calendar_of(case).add(case.opened_at, p1_resolution, exclude=[])
    row = case.history.order_by("-history_id").first()
    assert row.history_user == executive
    assert f"Major incident declared (approval #{req.pk}" in row.history_change_reason
    assert "priority P3 -> P1; SLA recomputed from the declaration" in row.history_change_reason
    # Another action recomputes the clock: the declaration stays the start.
    workflow.case_note(case_id=case.pk, actor=agent, body="Bridge call opened")
    workflow.case_public_update(case_id=case.pk, actor=agent, body="We are on it")
    assert fresh(case).resolution_due_at == expected


def test_the_executive_level_and_every_team_manager_are_told_at_once(agent, executive, desk, clock):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    clock.advance(days=5, hours=3)  # Saturday: the office calendar is closed
    _declare(case, agent, executive)
    rows = Notification.objects.filter(case=case, event="major_incident")
    assert set(rows.values_list("recipient", flat=True)) == {
        "board@example.com",
        "frontboss@example.com",
        "chair@example.com",
    }
    assert all(r.urgent and r.not_before == clock.now for r in rows)  # not held until Monday


def test_a_rejected_declaration_changes_nothing(agent, executive, desk):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    req = workflow.approval_request(case_id=case.pk, actor=agent, kind="major_incident", description="Maybe")
    workflow.approval_decide(approval_id=req.pk, actor=executive, approve=False, note="One customer only")
    case = fresh(case)
    assert case.priority == 3 and not case.is_major and case.major_declared_at is None


def test_major_incidents_head_every_queue_and_page_on(agent, executive, desk, manager):
    calm = [open_case(agent, impact=1, urgency=1, team=desk, title=f"Urgent {i}") for i in range(3)]
    late = open_case(agent, impact=3, urgency=3, team=desk, title="Was minor")
    _declare(late, agent, executive)
    for user in (agent, manager):
        page = selectors.queue_page(user, scope="team", filters=QueueFilters(), now=late.opened_at)
        assert page.rows[0].case.pk == late.pk
    # Paging one row at a time: the major incident first, then the others, each once.
    seen, cursor = [], None
    while True:
        page = selectors.queue_page(
            agent, scope="team", filters=QueueFilters(), now=late.opened_at, cursor=cursor, per_page=1
        )
        seen += [r.case.pk for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen[0] == late.pk and sorted(seen) == sorted([late.pk, *(c.pk for c in calm)])
    # The collaborating queue and the escalations waiting for a level put it first as well.
    for other in calm:
        workflow.case_escalate(case_id=other.pk, actor=agent, handoff=_handoff())
    workflow.case_escalate(case_id=late.pk, actor=agent, handoff=_handoff())
    specialist = staff("Specialist", "sam")
    assert [c.pk for c in selectors.awaiting_acceptance(specialist)][0] == late.pk


def _handoff():
    return workflow.Handoff(summary="Down", steps_tried="Restarted", customer_impact="Everyone")


def test_the_team_queue_page_shows_it_first_with_a_tag(agent, executive, desk, client):
    open_case(agent, impact=1, urgency=1, team=desk, title="Ordinary P1")
    case = open_case(agent, impact=3, urgency=3, team=desk, title="Now major")
    _declare(case, agent, executive)
    client.force_login(agent)
    body = client.get(reverse("team-queue")).content.decode()
    assert body.index("Now major") < body.index("Ordinary P1")
    assert "MAJOR INCIDENT" in body


def test_the_case_page_shows_a_banner(agent, executive, desk, client):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    client.force_login(agent)
    assert 'id="major-incident"' not in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    _declare(case, agent, executive)
    body = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert 'id="major-incident"' in body and "Major incident" in body


def test_resolving_requires_a_review_before_staff_close_it(agent, executive, desk, manager, senior):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    workflow.case_take(case_id=case.pk, actor=agent)
    _declare(case, agent, executive)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Failed over to the spare")
    assert Notification.objects.filter(case=case, event="review_required").exists()
    with pytest.raises(workflow.InvalidAction, match="post-incident review"):
        workflow.case_close(case_id=case.pk, actor=manager)
    assert fresh(case).status == "resolved"
    assert selectors.can_review(fresh(case), senior)  # never escalated, resolved not closed: still reviewable
    workflow.case_review(case_id=case.pk, actor=senior, root_cause="Expired certificate")
    workflow.case_close(case_id=case.pk, actor=manager)
    assert fresh(case).status == "closed"


def test_the_requester_confirming_closes_it_and_the_review_stays_due(agent, executive, desk):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    workflow.case_take(case_id=case.pk, actor=agent)
    _declare(case, agent, executive)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
    workflow.case_close(case_id=case.pk, actor=workflow.system_actor(), reason="Requester confirmed")
    from escalations.workflow import major

    assert fresh(case).status == "closed" and major.review_required(fresh(case))


def test_only_an_executive_ends_a_major_incident_with_a_reason(agent, executive, desk, manager, expert):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    _declare(case, agent, executive)
    for who in (agent, expert, manager):
        with pytest.raises(workflow.NotAllowed, match="Only an Executive"):
            workflow.case_end_major_incident(case_id=case.pk, actor=who, reason="Over")
    with pytest.raises(workflow.InvalidAction, match="why"):
        workflow.case_end_major_incident(case_id=case.pk, actor=executive, reason=" ")
    workflow.case_end_major_incident(case_id=case.pk, actor=executive, reason="Payments flow again")
    case = fresh(case)
    assert not case.is_major and case.major_ended_at is not None
    assert case.major_end_reason == "Payments flow again" and case.priority == 1
    row = case.history.order_by("-history_id").first()
    assert row.history_user == executive and "Major incident ended" in row.history_change_reason
    with pytest.raises(workflow.InvalidAction, match="not a major incident"):
        workflow.case_end_major_incident(case_id=case.pk, actor=executive, reason="Again")


def test_ending_through_the_case_page(agent, executive, desk, client):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    _, case = _declare(case, agent, executive)
    client.force_login(executive)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    action_url = reverse("case-action", args=[case.pk, "end-major-incident"])
    assert action_url in page
    response = client.post(
        reverse("case-action", args=[case.pk, "end-major-incident"]),
        {"end-major-incident-version": case.version, "end-major-incident-reason": "Restored"},
    )
    assert response.status_code == 302
    assert not fresh(case).is_major
    client.force_login(agent)
    assert action_url not in client.get(reverse("case-detail", args=[case.pk])).content.decode()


def test_the_report_counts_major_incidents_and_their_time_to_resolve(agent, executive, desk, clock, senior):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    open_case(agent, impact=2, urgency=2, team=desk, title="Not major")
    workflow.case_take(case_id=case.pk, actor=agent)
    _declare(case, agent, executive)
    clock.advance(hours=3)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
    day = clock.now.date()
    result = REGISTRY["major"].run(Filters(date_from=day - timedelta(days=1), date_to=day))
    summary, listing = result.tables
    row = dict(zip([c.key for c in summary.columns], summary.rows[0]))
    assert row["declared"] == 1 and row["resolved"] == 1 and row["mean_hours"] == 3.0
    assert row["review_due"] == 1 and row["reviewed"] == 0
    assert [r[0] for r in listing.rows] == [case.pk]
    assert (
        REGISTRY["major"].run(Filters(date_from=date(2020, 1, 1), date_to=date(2020, 1, 2))).tables[0].rows[0][0] == 0
    )


def test_declaring_on_a_resolved_case_is_refused(agent, executive, desk):
    case = open_case(agent, impact=2, urgency=2, team=desk)
    workflow.case_take(case_id=case.pk, actor=agent)
    req = workflow.approval_request(case_id=case.pk, actor=agent, kind="major_incident", description="Down")
    with pytest.raises(workflow.InvalidAction, match="approvals are pending"):  # the declaration blocks it
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed meanwhile")
    Case.objects.filter(pk=case.pk).update(status="resolved")  # finished another way (an import, a repair)
    with pytest.raises(workflow.WorkflowError):
        workflow.approval_decide(approval_id=req.pk, actor=executive, approve=True)
    assert not Case.objects.get(pk=case.pk).is_major


def test_a_cursor_from_an_unknown_phase_is_refused():
    assert selectors.parse_cursor("0|2025-06-02T08:30:00+00:00|3") == (
        0,
        selectors.parse_cursor("1|2025-06-02T08:30:00+00:00|3")[1],
        3,
    )
    assert selectors.parse_cursor("7|2025-06-02T08:30:00+00:00|3") is None

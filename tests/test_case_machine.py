"""The Case state machine (and the Escalation, ApprovalRequest and Review machines),
driven only through ``escalations.workflow``: every transition allowed and forbidden,
by state and by role."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from escalations import workflow
from escalations.models import (
    ApprovalRequest,
    Case,
    CaseStatus,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Review,
)
from escalations.workflow import InvalidAction, NotAllowed

from .factories import HANDOFF, TeamFactory, fresh, level, open_case, staff

pytestmark = pytest.mark.django_db

S = CaseStatus


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def clock_start():
    return datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def escalate(case, actor, **kwargs) -> Escalation:
    return workflow.case_escalate(case_id=case.pk, actor=actor, handoff=kwargs.pop("handoff", HANDOFF), **kwargs)


def taken(agent, **kwargs) -> Case:
    case = open_case(agent, **kwargs)
    return workflow.case_take(case_id=case.pk, actor=agent)


def at_level_two(agent, specialist) -> Case:
    """A case escalated L1 -> L2 and accepted there by the specialist."""
    case = taken(agent)
    escalate(case, agent)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    return fresh(case)


def closed_escalated(agent, specialist) -> Case:
    case = at_level_two(agent, specialist)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Patched the login service.")
    workflow.case_close(case_id=case.pk, actor=specialist)
    return fresh(case)


def in_state(status: str, agent) -> Case:
    """A case at L1 in the given status (escalated: handed to L2, pending)."""
    case = open_case(agent)
    if status == S.NEW:
        return fresh(case)
    workflow.case_take(case_id=case.pk, actor=agent)
    if status == S.AWAITING_CUSTOMER:
        workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for logs")
    elif status == S.ESCALATED:
        escalate(case, agent)
    elif status in (S.RESOLVED, S.CLOSED):
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Restarted the spooler.")
        if status == S.CLOSED:
            workflow.case_close(case_id=case.pk, actor=agent)
    case = fresh(case)
    assert case.status == status
    return case


# -- the state matrix: each action from each status --------------------------------------------
#
# The manager may do everything, so only the state decides here; roles are tested below.

ACTIONS = {
    "take": lambda c, u: workflow.case_take(case_id=c.pk, actor=u["manager"]),
    "assign": lambda c, u: workflow.case_assign(case_id=c.pk, actor=u["manager"], assignee_id=u["agent2"].pk),
    "pause": lambda c, u: workflow.case_pause(case_id=c.pk, actor=u["manager"], reason="Need a screenshot"),
    "resume": lambda c, u: workflow.case_resume(case_id=c.pk, actor=u["manager"]),
    "escalate": lambda c, u: escalate(c, u["manager"]),
    "accept": lambda c, u: workflow.case_accept(case_id=c.pk, actor=u["manager"]),
    "return": lambda c, u: workflow.case_return(case_id=c.pk, actor=u["manager"], reason="L1 can fix this"),
    "resolve": lambda c, u: workflow.case_resolve(case_id=c.pk, actor=u["manager"], summary="Fixed."),
    "reopen": lambda c, u: workflow.case_reopen(case_id=c.pk, actor=u["manager"], reason="Still broken"),
    "close": lambda c, u: workflow.case_close(case_id=c.pk, actor=u["manager"]),
}

ALLOWED = {  # action -> {source status: target status}
    "take": {S.NEW: S.IN_PROGRESS, S.IN_PROGRESS: S.IN_PROGRESS},
    "assign": {S.NEW: S.NEW, S.IN_PROGRESS: S.IN_PROGRESS, S.AWAITING_CUSTOMER: S.AWAITING_CUSTOMER},
    "pause": {S.IN_PROGRESS: S.AWAITING_CUSTOMER},
    "resume": {S.AWAITING_CUSTOMER: S.IN_PROGRESS},
    "escalate": {S.NEW: S.ESCALATED, S.IN_PROGRESS: S.ESCALATED},
    "accept": {S.ESCALATED: S.IN_PROGRESS},
    "return": {S.ESCALATED: S.IN_PROGRESS},
    "resolve": {S.NEW: S.RESOLVED, S.IN_PROGRESS: S.RESOLVED, S.AWAITING_CUSTOMER: S.RESOLVED},
    "reopen": {S.RESOLVED: S.IN_PROGRESS},
    "close": {S.RESOLVED: S.CLOSED},
}


@pytest.fixture
def users(agent, agent2, specialist, manager):
    return {"agent": agent, "agent2": agent2, "specialist": specialist, "manager": manager}


@pytest.mark.parametrize("status", list(S.values))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_state_matrix(users, action, status):
    case = in_state(status, users["agent"])
    target = ALLOWED[action].get(status)
    if target is None:
        with pytest.raises(InvalidAction) as exc:
            ACTIONS[action](case, users)
        assert exc.value.message
        after = fresh(case)
        assert (after.status, after.version) == (case.status, case.version)
    else:
        ACTIONS[action](case, users)
        after = fresh(case)
        assert after.status == target
        assert after.version == case.version + 1


# -- take / assign -----------------------------------------------------------------------------


def test_take_assigns_the_taker_and_answers_the_response_clock(agent):
    case = open_case(agent)
    assert (case.status, case.assignee, case.responded_at) == (S.NEW, None, None)
    workflow.case_take(case_id=case.pk, actor=agent)
    case = fresh(case)
    assert case.status == S.IN_PROGRESS
    assert case.assignee == agent
    # The level took it on (its OLA response); the customer has not heard from us yet.
    assert case.responded_at is not None and case.first_response_at is None
    assert case.reassignment_count == 0


def test_taking_over_from_a_colleague_counts_a_reassignment(agent, agent2):
    case = taken(agent)
    workflow.case_take(case_id=case.pk, actor=agent2)
    case = fresh(case)
    assert case.assignee == agent2
    assert case.reassignment_count == 1


def test_an_agent_may_not_take_a_case_above_their_level(agent, agent2, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(NotAllowed):
        workflow.case_take(case_id=case.pk, actor=agent2)
    assert fresh(case).assignee == specialist


def test_assign_to_a_colleague_at_the_level(agent, agent2):
    case = taken(agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent2.pk)
    case = fresh(case)
    assert case.assignee == agent2
    assert case.reassignment_count == 1
    assert case.status == S.IN_PROGRESS


def test_assign_to_a_colleague_above_the_level_is_an_escalation(agent, specialist):
    case = taken(agent)
    with pytest.raises(InvalidAction, match="use Escalate, with a handoff") as exc:
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=specialist.pk)
    assert "assignee" in exc.value.errors
    assert fresh(case).assignee == agent


def test_assign_to_someone_below_the_case_level_is_invalid(agent, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_assign(case_id=case.pk, actor=specialist, assignee_id=agent.pk)
    assert "assignee" in exc.value.errors
    assert fresh(case).assignee == specialist


def test_assign_to_someone_without_a_level_is_invalid(agent, auditor):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=auditor.pk)
    assert "assignee" in exc.value.errors


@pytest.mark.parametrize("assignee_id", [987654, None])
def test_assign_to_an_unknown_or_inactive_user_is_invalid(agent, assignee_id):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=assignee_id)
    assert "assignee" in exc.value.errors


def test_assign_to_an_inactive_colleague_is_invalid(agent):
    gone = staff("Agent", "gone-agent", is_active=False)
    case = taken(agent)
    with pytest.raises(InvalidAction):
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=gone.pk)


# -- pause / resume ----------------------------------------------------------------------------


def test_pause_and_resume_record_the_pause_and_push_the_due_times_out(clock, agent):
    t0 = clock.now
    case = open_case(agent)  # P3 at L1: response 30 min, resolution 12 h on the 24x7 policy
    assert case.priority == 3
    assert case.response_due_at == t0 + timedelta(minutes=30)
    assert case.resolution_due_at == t0 + timedelta(hours=12)
    workflow.case_take(case_id=case.pk, actor=agent)
    pause_start = clock.advance(minutes=10)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for logs")

    case = fresh(case)
    assert case.status == S.AWAITING_CUSTOMER
    assert case.paused_at == pause_start
    assert case.pauses == []
    assert case.next_check_at is None  # a paused clock needs no look
    assert case.resolution_due_at == t0 + timedelta(hours=12)  # unknown until the pause ends

    pause_end = clock.advance(hours=2)
    workflow.case_resume(case_id=case.pk, actor=agent, reason="Logs arrived")
    case = fresh(case)
    assert case.status == S.IN_PROGRESS
    assert case.paused_at is None
    assert case.pauses == [[pause_start.isoformat(), pause_end.isoformat()]]
    assert case.response_due_at == t0 + timedelta(minutes=30, hours=2)
    assert case.resolution_due_at == t0 + timedelta(hours=12 + 2)
    assert case.next_check_at is not None


def test_pauses_add_up(clock, agent):
    t0 = clock.now
    case = taken(agent)
    for minutes in (20, 40):
        clock.advance(minutes=1)
        workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting")
        clock.advance(minutes=minutes)
        workflow.case_resume(case_id=case.pk, actor=agent)
    case = fresh(case)
    assert len(case.pauses) == 2
    assert case.resolution_due_at == t0 + timedelta(hours=12, minutes=60)


def test_pause_needs_a_reason(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_pause(case_id=case.pk, actor=agent, reason="  ")
    assert "reason" in exc.value.errors
    assert fresh(case).status == S.IN_PROGRESS


def test_resolving_a_paused_case_ends_the_pause(clock, agent):
    case = taken(agent)
    start = clock.advance(minutes=5)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting")
    end = clock.advance(minutes=30)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Customer fixed it themselves.")
    case = fresh(case)
    assert case.status == S.RESOLVED
    assert case.paused_at is None
    assert case.pauses == [[start.isoformat(), end.isoformat()]]


# -- escalate ----------------------------------------------------------------------------------


def test_escalate_hands_the_case_to_the_next_level(agent):
    team = TeamFactory(name="Frontline", level=level("L1"))
    case = taken(agent, team=team)
    esc = escalate(case, agent)
    case = fresh(case)
    assert case.status == S.ESCALATED
    assert case.level.code == "L2" and case.highest_level.code == "L2"
    assert case.assignee is None and case.responded_at is None
    assert case.escalation_count == 1
    esc = Escalation.objects.get(pk=esc.pk)
    assert esc.kind == EscalationKind.ESCALATE
    assert esc.status == EscalationStatus.PENDING
    assert (esc.from_level.code, esc.to_level.code) == ("L1", "L2")
    assert esc.from_team == team and esc.from_assignee == agent and esc.raised_by == agent
    assert esc.summary == HANDOFF.summary and esc.steps_tried == HANDOFF.steps_tried
    assert esc.customer_impact == HANDOFF.customer_impact
    assert esc.knowledge_consulted == HANDOFF.knowledge_consulted
    assert esc.handoff_complete


def test_a_new_case_may_be_escalated_straight_away(agent):
    case = open_case(agent)
    escalate(case, agent)
    assert fresh(case).status == S.ESCALATED


@pytest.mark.parametrize("field", ["summary", "steps_tried", "customer_impact"])
@pytest.mark.parametrize("blank", ["", "   \n"])
def test_escalate_needs_each_handoff_field(agent, field, blank):
    case = taken(agent)
    handoff = workflow.Handoff(**{**HANDOFF.__dict__, field: blank})
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, handoff=handoff)
    assert set(exc.value.errors) == {field}
    assert "handoff is incomplete" in exc.value.message
    assert fresh(case).status == S.IN_PROGRESS
    assert not Escalation.objects.filter(case=case).exists()


def test_escalate_lists_every_missing_handoff_field(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, handoff=workflow.Handoff(summary="", steps_tried="", customer_impact=""))
    assert set(exc.value.errors) == {"summary", "steps_tried", "customer_impact"}


def test_knowledge_consulted_is_optional(agent):
    case = taken(agent)
    esc = escalate(case, agent, handoff=workflow.Handoff(**{**HANDOFF.__dict__, "knowledge_consulted": ""}))
    assert esc.status == EscalationStatus.PENDING


def test_escalating_from_the_top_is_invalid(agent, executive):
    case = taken(agent)
    escalate(case, agent, to_level_code="EXEC", justification="Legal threat from the customer")
    workflow.case_accept(case_id=case.pk, actor=executive)
    case = fresh(case)
    assert (case.level.code, case.status) == ("EXEC", S.IN_PROGRESS)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, executive)
    assert "top" in exc.value.message
    assert Escalation.objects.filter(case=case).count() == 1
    assert fresh(case).version == case.version


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED, S.AWAITING_CUSTOMER, S.ESCALATED])
def test_escalating_a_case_in_the_wrong_state_is_invalid(agent, manager, status):
    case = in_state(status, agent)
    before = Escalation.objects.filter(case=case).count()
    with pytest.raises(InvalidAction) as exc:
        escalate(case, manager)
    assert case.get_status_display().lower() in exc.value.message
    assert Escalation.objects.filter(case=case).count() == before
    assert fresh(case).version == case.version


def test_escalating_to_an_unknown_level_is_invalid(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, to_level_code="L9")
    assert "to_level" in exc.value.errors
    assert "L9" in exc.value.message


@pytest.mark.parametrize("code", ["L1", "L2"])
def test_escalating_to_the_same_or_a_lower_level_is_invalid(agent, specialist, code):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, specialist, to_level_code=code)
    assert "to_level" in exc.value.errors
    assert "use de-escalate to go down" in exc.value.message
    assert fresh(case).level.code == "L2"


def test_naming_the_next_level_is_an_ordinary_escalation(agent):
    case = taken(agent)
    esc = escalate(case, agent, to_level_code="L2")
    assert esc.kind == EscalationKind.ESCALATE and esc.to_level.code == "L2"


def test_skip_level_jump_needs_a_justification(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, to_level_code="L3")
    assert set(exc.value.errors) == {"justification"}
    assert "L2" in exc.value.message  # says which level is skipped
    case = fresh(case)
    assert (case.level.code, case.status) == ("L1", S.IN_PROGRESS)
    assert not Escalation.objects.filter(case=case).exists()


def test_skip_level_jump_with_a_justification(agent):
    case = taken(agent)
    esc = escalate(case, agent, to_level_code="L3", justification="Database corruption: needs a senior now")
    assert esc.kind == EscalationKind.JUMP
    assert esc.justification == "Database corruption: needs a senior now"
    case = fresh(case)
    assert (case.level.code, case.highest_level.code, case.status) == ("L3", "L3", S.ESCALATED)


def test_a_blank_justification_does_not_count(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, to_level_code="L4", justification="   ")
    assert "justification" in exc.value.errors


def test_an_agent_may_not_escalate_a_case_above_their_level(agent, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(NotAllowed):
        escalate(case, agent)


# -- accept ------------------------------------------------------------------------------------


def test_the_receiving_specialist_accepts(agent, specialist):
    case = taken(agent)
    esc = escalate(case, agent)
    accepted = workflow.case_accept(case_id=case.pk, actor=specialist)
    assert accepted.pk == esc.pk
    esc.refresh_from_db()
    assert esc.status == EscalationStatus.ACCEPTED
    assert esc.decided_by == specialist and esc.decided_at is not None
    case = fresh(case)
    assert (case.status, case.level.code, case.assignee) == (S.IN_PROGRESS, "L2", specialist)
    assert case.responded_at is not None


def test_a_manager_may_accept(agent, manager):
    case = taken(agent)
    escalate(case, agent)
    esc = workflow.case_accept(case_id=case.pk, actor=manager)
    assert esc.status == EscalationStatus.ACCEPTED
    assert fresh(case).assignee == manager


@pytest.mark.parametrize("who", ["agent", "agent2", "senior", "expert", "auditor"])
def test_only_the_receiving_level_accepts(request, agent, who):
    actor = request.getfixturevalue(who)
    case = taken(agent)
    esc = escalate(case, agent)
    with pytest.raises(NotAllowed):
        workflow.case_accept(case_id=case.pk, actor=actor)
    esc.refresh_from_db()
    assert esc.status == EscalationStatus.PENDING
    assert fresh(case).status == S.ESCALATED


def test_a_jump_is_accepted_by_the_level_jumped_to(agent, specialist, senior):
    case = taken(agent)
    escalate(case, agent, to_level_code="L3", justification="Outage")
    with pytest.raises(NotAllowed):
        workflow.case_accept(case_id=case.pk, actor=specialist)
    workflow.case_accept(case_id=case.pk, actor=senior)
    assert fresh(case).assignee == senior


# -- return ------------------------------------------------------------------------------------


def test_return_sends_the_case_back_where_it_came_from(agent, specialist):
    team = TeamFactory(name="Frontline", level=level("L1"))
    case = taken(agent, team=team)
    esc = escalate(case, agent)
    returned = workflow.case_return(case_id=case.pk, actor=specialist, reason="A password reset fixes this")
    assert returned.pk == esc.pk
    esc.refresh_from_db()
    assert esc.status == EscalationStatus.RETURNED
    assert esc.return_reason == "A password reset fixes this"
    assert esc.decided_by == specialist
    case = fresh(case)
    assert case.status == S.IN_PROGRESS
    assert case.level.code == "L1"
    assert case.team == team
    assert case.assignee == agent
    assert case.highest_level.code == "L2"  # it did reach L2


def test_return_needs_a_reason(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_return(case_id=case.pk, actor=specialist, reason=" ")
    assert "reason" in exc.value.errors
    assert fresh(case).status == S.ESCALATED
    assert Escalation.objects.get(case=case).status == EscalationStatus.PENDING


@pytest.mark.parametrize("who", ["agent", "senior", "auditor"])
def test_only_the_receiving_level_returns(request, agent, who):
    actor = request.getfixturevalue(who)
    case = taken(agent)
    escalate(case, agent)
    with pytest.raises(NotAllowed):
        workflow.case_return(case_id=case.pk, actor=actor, reason="Not ours")
    assert Escalation.objects.get(case=case).status == EscalationStatus.PENDING


def test_a_returned_case_can_be_escalated_again(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    workflow.case_return(case_id=case.pk, actor=specialist, reason="Try the KB first")
    escalate(case, agent)
    case = fresh(case)
    assert case.status == S.ESCALATED and case.escalation_count == 2
    assert list(Escalation.objects.filter(case=case).values_list("status", flat=True)) == [
        EscalationStatus.RETURNED,
        EscalationStatus.PENDING,
    ]


# -- de-escalate -------------------------------------------------------------------------------


def test_de_escalate_hands_the_case_back_down(agent, specialist):
    case = at_level_two(agent, specialist)
    esc = workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Expert part done")
    assert esc.kind == EscalationKind.DE_ESCALATE
    assert esc.status == EscalationStatus.ACCEPTED
    assert (esc.from_level.code, esc.to_level.code) == ("L2", "L1")
    case = fresh(case)
    assert (case.status, case.level.code, case.assignee) == (S.IN_PROGRESS, "L1", None)
    assert case.highest_level.code == "L2"


def test_de_escalate_to_a_named_lower_level(agent, senior):
    case = taken(agent)
    escalate(case, agent, to_level_code="L3", justification="Outage")
    workflow.case_accept(case_id=case.pk, actor=senior)
    workflow.case_de_escalate(case_id=case.pk, actor=senior, reason="Back to frontline", to_level_code="L1")
    assert fresh(case).level.code == "L1"


def test_de_escalate_needs_a_reason(agent, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="")
    assert "reason" in exc.value.errors


def test_de_escalate_from_the_bottom_is_invalid(agent, manager):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_de_escalate(case_id=case.pk, actor=manager, reason="Down")
    assert "lowest" in exc.value.message
    assert not Escalation.objects.filter(case=case).exists()


@pytest.mark.parametrize("code", ["L2", "L3"])
def test_de_escalate_must_go_down(agent, specialist, code):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction):
        workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Down", to_level_code=code)
    assert fresh(case).level.code == "L2"


def test_de_escalate_to_an_unknown_level_is_invalid(agent, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Down", to_level_code="LX")
    assert "to_level" in exc.value.errors


def test_a_pending_escalation_cannot_be_de_escalated(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    with pytest.raises(InvalidAction):
        workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Down")


@pytest.mark.parametrize("who", ["agent", "senior", "auditor"])
def test_only_the_level_holding_the_case_de_escalates(request, agent, specialist, who):
    actor = request.getfixturevalue(who)
    case = at_level_two(agent, specialist)
    with pytest.raises(NotAllowed):
        workflow.case_de_escalate(case_id=case.pk, actor=actor, reason="Down")
    assert fresh(case).level.code == "L2"


# -- resolve / reopen / close ------------------------------------------------------------------


def test_resolve_records_the_summary(agent):
    case = taken(agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="  Replaced the toner.  ")
    case = fresh(case)
    assert case.status == S.RESOLVED
    assert case.resolution_summary == "Replaced the toner."
    assert case.resolved_at is not None


@pytest.mark.parametrize("summary", ["", "   "])
def test_resolve_needs_a_summary(agent, summary):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_resolve(case_id=case.pk, actor=agent, summary=summary)
    assert "resolution_summary" in exc.value.errors
    case = fresh(case)
    assert case.status == S.IN_PROGRESS and case.resolved_at is None


def test_reopen_counts_reopens(agent):
    case = taken(agent)
    for n in (1, 2):
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
        workflow.case_reopen(case_id=case.pk, actor=agent, reason="Came back")
        case = fresh(case)
        assert case.status == S.IN_PROGRESS
        assert case.reopen_count == n
        assert case.resolved_at is None


def test_the_requester_may_reopen(agent):
    case = in_state(S.RESOLVED, agent)
    workflow.case_reopen(case_id=case.pk, actor=workflow.system_actor(), reason="Still broken")
    assert fresh(case).reopen_count == 1


def test_reopen_needs_a_reason(agent):
    case = in_state(S.RESOLVED, agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_reopen(case_id=case.pk, actor=agent, reason="")
    assert "reason" in exc.value.errors
    assert fresh(case).reopen_count == 0


def test_close_a_resolved_case(agent):
    case = in_state(S.RESOLVED, agent)
    workflow.case_close(case_id=case.pk, actor=agent)
    case = fresh(case)
    assert case.status == S.CLOSED and case.closed_at is not None
    assert not case.is_open


def test_an_agent_may_not_close_a_case_above_their_level(agent, specialist):
    case = at_level_two(agent, specialist)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Done")
    with pytest.raises(NotAllowed):
        workflow.case_close(case_id=case.pk, actor=agent)
    assert fresh(case).status == S.RESOLVED


def test_a_closed_case_stays_closed(agent):
    case = in_state(S.CLOSED, agent)
    for action in (
        lambda: workflow.case_reopen(case_id=case.pk, actor=agent, reason="again"),
        lambda: workflow.case_take(case_id=case.pk, actor=agent),
        lambda: workflow.case_close(case_id=case.pk, actor=agent),
        lambda: workflow.case_note(case_id=case.pk, actor=agent, body="hello"),
        lambda: workflow.case_public_update(case_id=case.pk, actor=agent, body="hello"),
    ):
        with pytest.raises(InvalidAction):
            action()
    assert fresh(case).version == case.version


# -- approvals ---------------------------------------------------------------------------------


def request_approval(case, actor, kind="spend", amount="500", description="Courier a replacement laptop"):
    return workflow.approval_request(case_id=case.pk, actor=actor, kind=kind, amount=amount, description=description)


@pytest.mark.parametrize(
    "kind, amount, code",
    [
        ("spend", "1", "L2"),
        ("spend", "1000", "L2"),
        ("spend", "1000.01", "L3"),
        ("spend", "5000", "L3"),
        ("spend", "10000", "L3"),
        ("spend", "10000.50", "L4"),
        ("spend", "250000", "EXEC"),
        ("policy_exception", None, "L2"),
        ("major_incident", None, "L4"),
    ],
)
def test_approval_goes_to_the_lowest_level_covering_it(agent, kind, amount, code):
    case = taken(agent)
    req = request_approval(case, agent, kind=kind, amount=amount)
    assert req.required_level.code == code
    assert req.status == "pending"
    assert req.requested_by == agent
    if amount is not None:
        assert req.amount == Decimal(amount)


@pytest.mark.parametrize(
    "kind, amount, field",
    [
        ("spend", None, "amount"),
        ("spend", "", "amount"),
        ("spend", "a lot", "amount"),
        ("spend", "-5", "amount"),
        ("spend", "NaN", "amount"),
        ("bribe", "5", "kind"),
    ],
)
def test_approval_request_input_is_checked(agent, kind, amount, field):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        request_approval(case, agent, kind=kind, amount=amount)
    assert field in exc.value.errors
    assert not ApprovalRequest.objects.exists()


def test_approval_request_needs_a_description(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        request_approval(case, agent, description=" ")
    assert "description" in exc.value.errors


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_no_approvals_on_a_finished_case(agent, status):
    case = in_state(status, agent)
    with pytest.raises(InvalidAction):
        request_approval(case, agent)
    assert not ApprovalRequest.objects.exists()


def test_approval_request_needs_someone_who_works_the_case(agent, specialist):
    case = at_level_two(agent, specialist)
    with pytest.raises(NotAllowed):
        request_approval(case, agent)


@pytest.mark.parametrize(
    "who, amount, allowed",
    [
        ("specialist", "999.99", True),
        ("specialist", "1000", True),
        ("specialist", "5000", False),
        ("senior", "5000", True),
        ("senior", "10000", True),
        ("senior", "10001", False),
        ("expert", "100000", True),
        ("executive", "100000", True),
        ("executive", "5000000", True),
        ("agent", "10", False),
        ("auditor", "10", False),
        ("manager", "10", False),
    ],
)
def test_approval_decisions_follow_the_authority_matrix(request, agent, who, amount, allowed):
    decider = request.getfixturevalue(who)
    req = request_approval(taken(agent), agent, amount=amount)
    if allowed:
        workflow.approval_decide(approval_id=req.pk, actor=decider, approve=True)
        req.refresh_from_db()
        assert req.status == "approved"
        assert req.decided_by == decider and req.decided_at is not None
    else:
        with pytest.raises(NotAllowed) as exc:
            workflow.approval_decide(approval_id=req.pk, actor=decider, approve=True)
        assert req.required_level.code in exc.value.message
        req.refresh_from_db()
        assert req.status == "pending" and req.decided_by is None


@pytest.mark.parametrize("who, allowed", [("senior", False), ("expert", True), ("executive", True)])
def test_a_major_incident_needs_l4_or_above(request, agent, who, allowed):
    decider = request.getfixturevalue(who)
    req = request_approval(
        taken(agent), agent, kind="major_incident", amount=None, description="Payments down for all customers"
    )
    if allowed:
        assert workflow.approval_decide(approval_id=req.pk, actor=decider, approve=True).status == "approved"
    else:
        with pytest.raises(NotAllowed):
            workflow.approval_decide(approval_id=req.pk, actor=decider, approve=True)


def test_rejection_needs_a_note(agent, specialist):
    req = request_approval(taken(agent), agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=False, note="  ")
    assert "note" in exc.value.errors
    req.refresh_from_db()
    assert req.status == "pending"
    workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=False, note="Use the spare pool")
    req.refresh_from_db()
    assert (req.status, req.decision_note, req.decided_by) == ("rejected", "Use the spare pool", specialist)


@pytest.mark.parametrize("first, second", [(True, True), (True, False), (False, True), (False, False)])
def test_deciding_twice_is_invalid(agent, specialist, senior, first, second):
    req = request_approval(taken(agent), agent)
    workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=first, note="First word")
    with pytest.raises(InvalidAction) as exc:
        workflow.approval_decide(approval_id=req.pk, actor=senior, approve=second, note="Second word")
    assert "already" in exc.value.message
    req.refresh_from_db()
    assert req.decided_by == specialist
    assert req.status == ("approved" if first else "rejected")


def test_deciding_an_unknown_request_is_invalid(specialist):
    with pytest.raises(InvalidAction):
        workflow.approval_decide(approval_id=424242, actor=specialist, approve=True)


# -- review ------------------------------------------------------------------------------------


def test_review_a_closed_escalated_case(agent, specialist, senior):
    case = closed_escalated(agent, specialist)
    review = workflow.case_review(
        case_id=case.pk,
        actor=senior,
        root_cause="Expired certificate",
        went_well="Fast handoff",
        escalation_warranted=True,
        prevention_actions="Monitor certificate expiry",
    )
    review = Review.objects.get(pk=review.pk)
    assert review.status == "completed" and review.completed_at is not None
    assert review.reviewer == senior
    assert review.root_cause == "Expired certificate"
    assert review.escalation_warranted is True


def test_review_needs_a_root_cause(agent, specialist, senior):
    case = closed_escalated(agent, specialist)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_review(case_id=case.pk, actor=senior, root_cause=" ")
    assert "root_cause" in exc.value.errors
    assert not Review.objects.exists()


def test_a_draft_review_is_completed_later(agent, specialist, senior):
    case = closed_escalated(agent, specialist)
    draft = workflow.case_review(case_id=case.pk, actor=senior, root_cause="Probably DNS", complete=False)
    assert draft.status == "draft"
    done = workflow.case_review(case_id=case.pk, actor=senior, root_cause="DNS TTL too long")
    assert done.pk == draft.pk
    assert Review.objects.get().status == "completed"
    assert Review.objects.get().root_cause == "DNS TTL too long"


def test_a_completed_review_is_final(agent, specialist, senior):
    case = closed_escalated(agent, specialist)
    workflow.case_review(case_id=case.pk, actor=senior, root_cause="DNS")
    with pytest.raises(InvalidAction):
        workflow.case_review(case_id=case.pk, actor=senior, root_cause="Something else")
    assert Review.objects.get().root_cause == "DNS"


def test_only_closed_cases_are_reviewed(agent, specialist, senior):
    case = at_level_two(agent, specialist)
    with pytest.raises(InvalidAction):
        workflow.case_review(case_id=case.pk, actor=senior, root_cause="DNS")
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Done")
    with pytest.raises(InvalidAction):
        workflow.case_review(case_id=case.pk, actor=senior, root_cause="DNS")
    assert not Review.objects.exists()


def test_only_escalated_cases_are_reviewed(agent, senior):
    case = in_state(S.CLOSED, agent)
    with pytest.raises(InvalidAction) as exc:
        workflow.case_review(case_id=case.pk, actor=senior, root_cause="DNS")
    assert "escalated" in exc.value.message


@pytest.mark.parametrize("who", ["agent", "specialist", "auditor"])
def test_reviewing_needs_the_review_role(request, agent, specialist, who):
    case = closed_escalated(agent, specialist)
    with pytest.raises(NotAllowed):
        workflow.case_review(case_id=case.pk, actor=request.getfixturevalue(who), root_cause="DNS")
    assert not Review.objects.exists()


def test_a_manager_may_review(agent, specialist, manager):
    case = closed_escalated(agent, specialist)
    assert workflow.case_review(case_id=case.pk, actor=manager, root_cause="DNS").status == "completed"


# -- the auditor reads, never writes -----------------------------------------------------------

AUDITOR_ACTIONS = {
    # name: (status to set up, action)
    "take": (S.NEW, lambda c, a: workflow.case_take(case_id=c.pk, actor=a)),
    "assign": (S.IN_PROGRESS, lambda c, a: workflow.case_assign(case_id=c.pk, actor=a, assignee_id=c.assignee_id)),
    "pause": (S.IN_PROGRESS, lambda c, a: workflow.case_pause(case_id=c.pk, actor=a, reason="x")),
    "resume": (S.AWAITING_CUSTOMER, lambda c, a: workflow.case_resume(case_id=c.pk, actor=a)),
    "escalate": (S.IN_PROGRESS, lambda c, a: escalate(c, a)),
    "jump": (S.IN_PROGRESS, lambda c, a: escalate(c, a, to_level_code="L3", justification="x")),
    "accept": (S.ESCALATED, lambda c, a: workflow.case_accept(case_id=c.pk, actor=a)),
    "return": (S.ESCALATED, lambda c, a: workflow.case_return(case_id=c.pk, actor=a, reason="x")),
    "resolve": (S.IN_PROGRESS, lambda c, a: workflow.case_resolve(case_id=c.pk, actor=a, summary="x")),
    "reopen": (S.RESOLVED, lambda c, a: workflow.case_reopen(case_id=c.pk, actor=a, reason="x")),
    "close": (S.RESOLVED, lambda c, a: workflow.case_close(case_id=c.pk, actor=a)),
    "note": (S.IN_PROGRESS, lambda c, a: workflow.case_note(case_id=c.pk, actor=a, body="x")),
    "public_update": (S.NEW, lambda c, a: workflow.case_public_update(case_id=c.pk, actor=a, body="x")),
    "approval_request": (S.IN_PROGRESS, lambda c, a: request_approval(c, a)),
}


@pytest.mark.parametrize("action", list(AUDITOR_ACTIONS))
def test_the_auditor_may_not_act(agent, auditor, action):
    status, act = AUDITOR_ACTIONS[action]
    case = in_state(status, agent)
    with pytest.raises(NotAllowed):
        act(case, auditor)
    after = fresh(case)
    assert (after.status, after.version) == (case.status, case.version)


def test_the_auditor_may_not_de_escalate_open_decide_or_review(agent, specialist, auditor):
    case = at_level_two(agent, specialist)
    with pytest.raises(NotAllowed):
        workflow.case_de_escalate(case_id=case.pk, actor=auditor, reason="x")
    req = request_approval(case, specialist)
    with pytest.raises(NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=auditor, approve=True)
    with pytest.raises(NotAllowed):
        open_case(auditor)
    closed = closed_escalated(agent, specialist)
    with pytest.raises(NotAllowed):
        workflow.case_review(case_id=closed.pk, actor=auditor, root_cause="x")


def test_the_agent_may_neither_accept_nor_decide(agent, agent2):
    case = taken(agent)
    escalate(case, agent)
    with pytest.raises(NotAllowed):
        workflow.case_accept(case_id=case.pk, actor=agent2)
    with pytest.raises(NotAllowed):
        workflow.case_return(case_id=case.pk, actor=agent2, reason="no")
    req = request_approval(taken(agent), agent, kind="policy_exception", amount=None)
    with pytest.raises(NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=agent, approve=True)
    with pytest.raises(NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=agent2, approve=False, note="no")

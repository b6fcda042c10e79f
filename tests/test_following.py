"""Levels, assignment and following a case (issue 11, point 6): assignment stays at the
case's level; whoever opened or escalated a case, or pressed Follow, keeps read access
to it, sees it in the Following queue and is told when it moves."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from escalations import selectors, workflow
from escalations.actions import catalogue
from escalations.intelligence import routing
from escalations.models import CaseWatcher, Notification, RoutingPolicy
from escalations.selectors.case_trail import case_trail
from escalations.selectors.readable import person

from .factories import HANDOFF, fresh, open_case, staff

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def escalated(agent):
    """The L1 agent opens, takes and escalates a case: it waits at L2."""
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    return fresh(case)


def buttons(case, user) -> set[str]:
    """The actions the case page offers the user."""
    return catalogue.available(case, user) & {a.slug for a in catalogue.case_page_actions()}


def told(case, user, event) -> bool:
    return Notification.objects.filter(case=case, recipient=user.email, event=event).exists()


# -- assignment ------------------------------------------------------------------------------


def test_an_l1_agent_cannot_assign_a_case_to_the_executive(agent, agent2, executive):
    case = open_case(agent)
    with pytest.raises(workflow.InvalidAction, match="escalation: use Escalate, with a handoff") as refused:
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=executive.pk)
    assert "assignee" in refused.value.errors
    assert fresh(case).assignee is None
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent2.pk)
    assert fresh(case).assignee == agent2


def test_assigning_below_the_case_level_points_to_an_invitation(agent, specialist, senior):
    case = open_case(agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    with pytest.raises(workflow.InvalidAction, match="invite them as a collaborator"):
        workflow.case_assign(case_id=case.pk, actor=specialist, assignee_id=agent.pk)
    with pytest.raises(workflow.InvalidAction, match="escalation"):
        workflow.case_assign(case_id=case.pk, actor=specialist, assignee_id=senior.pk)


def test_the_assign_form_offers_only_people_at_the_case_level(agent, agent2, specialist, executive):
    case = open_case(agent)
    offered = {pk for pk, _ in catalogue.ACTIONS["assign"].choices(case, agent)["choices"]}
    assert agent2.pk in offered and specialist.pk not in offered and executive.pk not in offered


def test_assigning_to_the_executive_on_the_page_is_refused_with_a_message(client, agent, executive):
    case = open_case(agent)
    client.force_login(agent)
    response = client.post(
        reverse("case-action", args=[case.pk, "assign"]),
        {"assign-assignee": executive.pk, "assign-version": fresh(case).version},
    )
    # The executive is not among the choices: the form refuses it before the workflow would.
    assert response.status_code == 400
    assert fresh(case).assignee is None


# -- following -------------------------------------------------------------------------------


def test_the_agent_who_escalated_keeps_read_access_without_actions(client, agent, escalated):
    assert selectors.case_for(agent, escalated.pk) == escalated  # was a 404 before
    assert buttons(escalated, agent) == {"unfollow"}
    client.force_login(agent)
    page = client.get(reverse("case-detail", args=[escalated.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="follow-only"' in html
    assert 'id="action-unfollow"' in html
    for slug in ("take", "assign", "note", "escalate", "resolve", "request-approval", "invite"):
        assert f'id="action-{slug}"' not in html
    refused = client.post(reverse("case-action", args=[escalated.pk, "note"]), {"note-body": "Still me"})
    assert refused.status_code == 403 and not escalated.notes.exists()  # read only: nothing written


def test_escalating_on_the_page_lands_on_the_case_not_a_404(client, agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    client.force_login(agent)
    response = client.post(
        reverse("case-action", args=[case.pk, "escalate"]),
        {
            "escalate-summary": HANDOFF.summary,
            "escalate-steps_tried": HANDOFF.steps_tried,
            "escalate-customer_impact": HANDOFF.customer_impact,
            "escalate-version": fresh(case).version,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("case-detail", args=[case.pk])
    assert client.get(response["Location"]).status_code == 200


def test_the_following_queue_shows_level_owner_and_sla(client, agent, specialist, escalated):
    workflow.case_accept(case_id=escalated.pk, actor=specialist)
    client.force_login(agent)
    html = client.get(reverse("following-queue")).content.decode()
    assert f"#{escalated.pk}" in html and ">L2</td>" in html
    assert (specialist.get_full_name() or specialist.username) in html
    assert "due in" in html or "overdue" in html
    assert reverse("following-queue") in client.get(reverse("my-queue")).content.decode()  # in the staff menu


def test_followers_are_told_when_the_case_is_accepted_resolved_and_reopened(agent, specialist, escalated):
    workflow.case_accept(case_id=escalated.pk, actor=specialist)
    assert told(escalated, agent, "following_accepted")
    assert not told(escalated, specialist, "following_accepted")  # the one who acted knows
    workflow.case_resolve(case_id=escalated.pk, actor=specialist, summary="Patched")
    assert told(escalated, agent, "following_resolved")
    workflow.case_reopen(case_id=escalated.pk, actor=specialist, reason="It came back")
    assert told(escalated, agent, "following_reopened")


def test_a_returned_case_tells_its_follower_once(agent, specialist, senior, escalated):
    workflow.case_follow(case_id=escalated.pk, actor=senior)
    workflow.case_return(case_id=escalated.pk, actor=specialist, reason="Runbook covers it")
    assert told(escalated, senior, "following_returned")
    assert told(escalated, agent, "returned") and not told(escalated, agent, "following_returned")


def test_follow_and_unfollow(agent, agent2, senior, escalated):
    with pytest.raises(workflow.NotAllowed):
        workflow.case_follow(case_id=escalated.pk, actor=agent2)  # an L2 case is out of agent2's sight
    workflow.case_follow(case_id=escalated.pk, actor=senior)
    assert escalated.watchers.filter(pk=senior.pk).exists()
    assert catalogue.available(escalated, senior) >= {"unfollow"} and "follow" not in catalogue.available(
        escalated, senior
    )
    workflow.case_unfollow(case_id=escalated.pk, actor=agent)
    assert not [r for r in selectors.following_rows(agent, escalated.opened_at) if r.case.pk == escalated.pk]
    # The agent escalated it: read access stays after unfollowing, and Follow is offered again.
    assert selectors.case_for(agent, escalated.pk)
    assert buttons(escalated, agent) == {"follow"}


def test_each_follow_and_unfollow_is_a_history_row_with_who_and_why(agent, senior, escalated):
    def rows():
        return list(CaseWatcher.history.filter(case_id=escalated.pk).order_by("history_id"))

    assert [(r.user_id, r.history_user_id, r.history_type, r.history_change_reason) for r in rows()] == [
        (agent.pk, agent.pk, "+", "Follows the case they opened"),
    ]  # escalating again follows nothing twice
    workflow.case_follow(case_id=escalated.pk, actor=senior)
    workflow.case_unfollow(case_id=escalated.pk, actor=agent)
    newest = rows()[-2:]
    assert [(r.user_id, r.history_user_id, r.history_type, r.history_change_reason, r.history_action)
            for r in newest] == [
        (senior.pk, senior.pk, "+", "Followed", "follow"),
        (agent.pk, agent.pk, "-", "Unfollowed", "unfollow"),
    ]  # fmt: skip
    trail = [(t.kind, t.who, t.action, t.why) for t in case_trail(escalated.pk, kinds=["follow"])]
    assert trail[-2:] == [
        ("follow", person(senior), "created", "Followed"),
        ("follow", person(agent), "deleted", "Unfollowed"),
    ]
    call_command("verify_audit")  # the follow rows are chained like every record


def test_the_escalator_who_did_not_open_the_case_follows_it_with_a_reason(agent, agent2):
    case = open_case(agent2)
    workflow.case_take(case_id=case.pk, actor=agent2)
    workflow.case_assign(case_id=case.pk, actor=agent2, assignee_id=agent.pk)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    row = CaseWatcher.history.get(case_id=case.pk, user_id=agent.pk)
    assert (row.history_change_reason, row.history_action) == ("Follows the case they escalated", "escalate")


def test_an_auditor_has_no_follow_button(auditor, escalated):
    assert "follow" not in catalogue.available(escalated, auditor)


def test_a_follower_cannot_decide_approvals_on_a_case_above_their_level(agent, specialist, manager, escalated):
    workflow.case_accept(case_id=escalated.pk, actor=specialist)
    staff("Specialist", "sasha")
    req = workflow.approval_request(case_id=escalated.pk, actor=manager, kind="spend", amount="50", description="x")
    assert not selectors.decidable(req, agent)
    with pytest.raises(workflow.NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=agent, approve=True)


# -- routing ---------------------------------------------------------------------------------


def test_routing_suggests_by_default(agent):
    assert routing.active_policy() is None
    case = fresh(open_case(agent))
    assert case.routing_note.startswith("Suggested at L1")
    RoutingPolicy.objects.create(name="Off", mode=RoutingPolicy.Mode.OFF, is_active=True)
    assert routing.DEFAULT_MODE == RoutingPolicy.Mode.SUGGEST

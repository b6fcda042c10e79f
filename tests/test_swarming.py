"""Swarming: invite people or teams onto a case without a handoff; they see it in their
collaborating queue and add notes; the owner stays accountable; leaving and ending."""

import pytest

from escalations import workflow
from escalations.domain import authority
from escalations.models import Case, Collaboration, Note, Notification
from escalations.selectors.swarming import can_invite, collaborating_cases, collaborators_of
from escalations.workflow import InvalidAction, NotAllowed

from .factories import HANDOFF, TeamFactory, fresh, open_case, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    return fresh(case)


def test_invite_a_person_notifies_them_and_keeps_the_owner(
    owned, agent, specialist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        collab = workflow.case_invite(
            case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Need an eye on the firewall logs."
        )
    assert callbacks  # delivery is requested after commit
    assert (collab.user, collab.team, collab.invited_by, collab.is_active) == (specialist, None, agent, True)
    row = collab.history.get()
    assert row.history_user == agent and "Invited sam" in row.history_change_reason
    mail = Notification.objects.get(event="collaboration_invited")
    assert mail.recipient == specialist.email and "firewall logs" in mail.body
    case = fresh(owned)
    assert case.assignee == agent and case.version == owned.version  # no handoff, the case is untouched
    assert list(collaborating_cases(specialist)) == [case]
    assert list(collaborators_of(case)) == [collab]


def test_invite_a_team_reaches_its_members(owned, agent, agent2):
    team = TeamFactory(name="Networks", email="")
    team.members.add(agent2)
    workflow.case_invite(case_id=owned.pk, actor=agent, team_id=team.pk, reason="Swarm on the outage.")
    assert list(collaborating_cases(agent2)) == [fresh(owned)]
    assert Notification.objects.get(event="collaboration_invited").recipient == agent2.email
    assert authority.is_collaborator(owned, agent2)


def test_collaborators_add_notes_but_run_no_transitions(owned, agent, specialist):
    helper = staff("Agent", "helper", level_code="L1")
    # Open an L2 case (escalate), so an L1 helper cannot work it by level.
    workflow.case_escalate(case_id=owned.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=owned.pk, actor=specialist)
    with pytest.raises(NotAllowed):
        workflow.case_note(case_id=owned.pk, actor=helper, body="Before the invite.")
    workflow.case_invite(case_id=owned.pk, actor=specialist, user_id=helper.pk, reason="You saw this before.")
    note = workflow.case_note(case_id=owned.pk, actor=helper, body="Same as case #12: reboot the switch.")
    assert note.author == helper and Note.objects.filter(case=owned).count() == 1
    with pytest.raises(NotAllowed):
        workflow.case_resolve(case_id=owned.pk, actor=helper, summary="Rebooted.")
    with pytest.raises(NotAllowed):
        workflow.case_invite(case_id=owned.pk, actor=helper, user_id=agent.pk, reason="More help.")
    assert fresh(owned).assignee == specialist  # the owner stays accountable
    assert not can_invite(fresh(owned), helper) and can_invite(fresh(owned), specialist)


def test_no_duplicates_no_owner_no_inactive_or_non_staff(owned, agent, specialist, auditor):
    workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Help")
    with pytest.raises(InvalidAction, match="already collaborating"):
        workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Help again")
    with pytest.raises(InvalidAction, match="owns case"):
        workflow.case_invite(case_id=owned.pk, actor=agent, user_id=agent.pk, reason="Me")
    with pytest.raises(InvalidAction, match="active staff member"):
        workflow.case_invite(case_id=owned.pk, actor=agent, user_id=auditor.pk, reason="No profile")
    specialist.is_active = False
    specialist.save()
    with pytest.raises(InvalidAction, match="either a person or a team"):
        workflow.case_invite(case_id=owned.pk, actor=agent, reason="Nobody")
    with pytest.raises(InvalidAction, match="no team"):
        workflow.case_invite(case_id=owned.pk, actor=agent, team_id="x", reason="Bad")
    with pytest.raises(InvalidAction, match="Say what help"):
        workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason=" ")
    assert Collaboration.objects.count() == 1


def test_only_those_who_work_the_case_may_invite(agent, specialist, senior, auditor):
    case = open_case(agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    with pytest.raises(NotAllowed):  # the case is at L2 now; the L1 agent may not work it
        workflow.case_invite(case_id=case.pk, actor=agent, user_id=senior.pk, reason="Help")
    with pytest.raises(NotAllowed):
        workflow.case_invite(case_id=case.pk, actor=auditor, user_id=senior.pk, reason="Help")
    workflow.case_invite(case_id=case.pk, actor=specialist, user_id=senior.pk, reason="Help")


def test_closed_cases_take_no_invitations(owned, agent, specialist):
    workflow.case_resolve(case_id=owned.pk, actor=agent, summary="Done.")
    workflow.case_close(case_id=owned.pk, actor=agent)
    with pytest.raises(InvalidAction, match="closed"):
        workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Late")


def test_leave_and_end(owned, agent, agent2, specialist):
    collab = workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Help")
    with pytest.raises(NotAllowed):
        workflow.case_leave(collaboration_id=collab.pk, actor=agent)  # only the invitee leaves
    left = workflow.case_leave(collaboration_id=collab.pk, actor=specialist, reason="Found it")
    assert not left.is_active and left.ended_at is not None
    assert "Left by sam: Found it" in left.history.first().history_change_reason
    assert list(collaborating_cases(specialist)) == []
    with pytest.raises(InvalidAction, match="ended already"):
        workflow.case_leave(collaboration_id=collab.pk, actor=specialist)
    assert not authority.is_collaborator(owned, specialist)

    again = workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Once more")
    outsider = staff("Specialist", "stranger")
    # Whoever may work the case (a specialist works an L1 case by rank) may end it.
    workflow.case_end_collaboration(collaboration_id=again.pk, actor=outsider)
    assert not Collaboration.objects.get(pk=again.pk).is_active
    with pytest.raises(InvalidAction):
        workflow.case_end_collaboration(collaboration_id="nope", actor=agent)


def test_team_member_may_leave_for_the_team(owned, agent, agent2):
    team = TeamFactory(name="Networks")
    team.members.add(agent2)
    collab = workflow.case_invite(case_id=owned.pk, actor=agent, team_id=team.pk, reason="Swarm")
    workflow.case_leave(collaboration_id=collab.pk, actor=agent2)
    assert list(collaborating_cases(agent2)) == []


def test_collaborating_queue_shows_only_open_cases(owned, agent, specialist):
    other = open_case(agent, title="Second")
    workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Help")
    workflow.case_invite(case_id=other.pk, actor=agent, user_id=specialist.pk, reason="Help")
    workflow.case_resolve(case_id=other.pk, actor=agent, summary="Done.")
    assert [c.pk for c in collaborating_cases(specialist)] == [owned.pk]
    assert Case.objects.count() == 2


def test_collaborations_are_read_only_in_the_admin(client, manager, owned, agent, specialist):
    from django.urls import reverse

    collab = workflow.case_invite(case_id=owned.pk, actor=agent, user_id=specialist.pk, reason="Help")
    client.force_login(manager)
    for view, args in (("changelist", []), ("change", [collab.pk]), ("history", [collab.pk])):
        assert client.get(reverse(f"admin:escalations_collaboration_{view}", args=args)).status_code == 200
    for term in (str(owned.pk), f"#{owned.pk}", "sam", "x' OR 1=1"):
        assert client.get(reverse("admin:escalations_collaboration_changelist"), {"q": term}).status_code == 200
    page = client.get(reverse("admin:escalations_collaboration_change", args=[collab.pk]))
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:escalations_collaboration_add")).status_code == 403

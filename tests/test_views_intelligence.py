"""The staff pages show the intelligence: predicted risk with reasons in queues and on the
case page, routing notes, and swarming (invite, the collaborating queue, collaborators' notes)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from escalations import workflow
from escalations.models import Case, Collaboration, Note

from .factories import CategoryFactory, open_case, staff
from .test_views import act, login, page, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(agent):
    case = open_case(agent, category=CategoryFactory(code="network", name="Network"))
    Case.objects.filter(pk=case.pk).update(
        breach_risk=0.72,
        escalation_risk=0.35,
        risk_scored_at=timezone.now(),
        risk_reasons=["breach: priority P3 moderate", "escalation: category Network"],
    )
    workflow.case_take(case_id=case.pk, actor=agent)
    return case


def test_queue_and_case_page_show_the_risk_and_its_reasons(client, agent, scored):
    login(client, agent)
    queue = text(client.get(reverse("my-queue")))
    assert "Breach 72%" in queue and "escalation 35%" in queue and "breach: priority P3 moderate" in queue
    body = text(client.get(page(scored)))
    assert "Predicted risk" in body and "escalation: category Network" in body


def test_invite_a_collaborator_who_sees_it_and_adds_notes(client, agent, specialist, scored):
    helper = staff("Agent", "helper")
    login(client, agent)
    response = client.post(
        act(scored, "invite"), {"invite-collaborator": f"u{helper.pk}", "invite-reason": "Knows the VPN setup"}
    )
    assert response.status_code == 302
    collab = Collaboration.objects.get(case=scored, user=helper)
    assert collab.invited_by == agent and collab.reason == "Knows the VPN setup"
    assert "Knows the VPN setup" in text(client.get(page(scored)))

    login(client, helper)
    queue = text(client.get(reverse("collab-queue")))
    assert scored.title in queue
    client.post(act(scored, "note"), {"note-body": "The tunnel MTU is wrong."})
    assert Note.objects.filter(case=scored, author=helper, body="The tunnel MTU is wrong.").exists()
    # A collaborator adds notes but does not take over the case.
    assert Case.objects.get(pk=scored.pk).assignee == agent


def test_an_invalid_invite_keeps_the_typed_reason(client, agent, scored):
    login(client, agent)
    response = client.post(act(scored, "invite"), {"invite-collaborator": "", "invite-reason": "typed reason"})
    assert response.status_code == 400 and "typed reason" in text(response)
    assert not Collaboration.objects.exists()


def test_collaborating_queue_is_empty_without_invitations(client, agent):
    login(client, agent)
    assert "Nobody has invited you" in text(client.get(reverse("collab-queue")))

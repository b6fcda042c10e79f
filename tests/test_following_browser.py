"""Following an escalated case in a real browser (issue 11, point 6): the L1 agent who
escalates a P1 keeps reading it (no action buttons), finds it in the Following queue
with its level, owner and SLA state, and is told when L2 accepts and resolves it."""

import pytest

from escalations.models import Notification

from .factories import CategoryFactory, staff
from .test_browser import case_id, escalate, expect, message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_escalating_agent_follows_the_case_read_only(desk):
    alice, sam = staff("Agent", "alice"), staff("Specialist", "sam")
    CategoryFactory(code="network", name="Network")

    agent = desk.sign_in(alice.username)
    agent.get_by_role("link", name="New case").click()
    agent.get_by_label("Requester's name").fill("Dana Customer")
    agent.get_by_label("Requester's e-mail").fill("dana@example.com")
    agent.get_by_label("Category").select_option(label="Network")
    agent.get_by_label("Title").fill("Payments down for every customer")
    agent.get_by_label("Impact").select_option("1")
    agent.get_by_label("Urgency").select_option("1")
    agent.get_by_role("button", name="Open the case").click()
    pk = case_id(agent)
    agent.get_by_role("button", name="Take it").click()
    escalate(agent, "Card payments fail with a gateway timeout.")

    # Still on the case page, read only: no 404, no action but Unfollow.
    assert agent.url.endswith(f"/cases/{pk}/")
    expect(agent.locator("#follow-only")).to_contain_text("Its actions belong to L2")
    assert agent.locator("#actions form").count() == 1
    expect(agent.locator("#action-unfollow")).to_be_visible()

    # The Following queue, from the staff menu: level, owner and SLA state.
    agent.get_by_role("link", name="Following").click()
    row = agent.locator("table.cases tbody tr", has_text=f"#{pk}")
    expect(row).to_contain_text("L2")
    expect(row).to_contain_text("Unassigned")
    expect(row.locator(".sla")).to_contain_text("due in")

    # L2 accepts: the follower is told, and the queue shows the new owner.
    specialist = desk.sign_in(sam.username)
    specialist.goto(desk.url(f"/cases/{pk}/"))
    specialist.get_by_role("button", name="Accept").click()
    expect(message(specialist)).to_contain_text("You accepted the escalation")
    notice = Notification.objects.get(case_id=pk, event="following_accepted")
    assert notice.recipient == alice.email and "accepted" in notice.subject
    agent.reload()
    expect(agent.locator("table.cases tbody tr", has_text=f"#{pk}")).to_contain_text("sam")

    # L2 resolves: told again; the case page stays readable and still read only.
    panel = specialist.locator("#action-resolve")
    panel.locator("summary").click()
    panel.get_by_label("Resolution summary").fill("Gateway certificate renewed.")
    panel.get_by_role("button", name="Resolve").click()
    expect(message(specialist)).to_contain_text("Resolved")
    assert Notification.objects.filter(case_id=pk, event="following_resolved", recipient=alice.email).exists()
    agent.goto(desk.url(f"/cases/{pk}/"))
    expect(agent.locator(".status")).to_contain_text("Resolved")
    assert agent.locator("#action-reopen").count() == 0

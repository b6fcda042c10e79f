"""A declared major incident in a real browser (issue 11, point 4): the agent asks for the
declaration on the case page, the Executive approves it from "Approvals waiting", and the
case then shows the banner, is P1 on top of the team queue, and the Executive ends it
with a reason (the banner then says when it ran and that the review is still due)."""

import pytest

from escalations.models import Case, Notification, TriggerRule

from .factories import TeamFactory, UserFactory, level, open_case, staff
from .test_browser import expect, message, open_panel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_declaring_and_ending_a_major_incident_on_the_pages(desk):
    TriggerRule.objects.update(is_active=False)
    alice, eve = staff("Agent", "alice"), staff("Executive", "eve")
    front = TeamFactory(name="Front", level=level("L1"), email="front@example.com", manager=UserFactory(username="fb"))
    front.members.add(alice)
    TeamFactory(name="Board", level=level("EXEC"), email="board@example.com", manager=UserFactory(username="chair"))
    older = open_case(alice, title="Printer jams on floor 2", impact=1, urgency=1, team=front)  # P1, opened first
    case = open_case(alice, title="Checkout fails for some customers", impact=2, urgency=2, team=front)  # P3

    agent = desk.sign_in(alice.username)
    agent.goto(desk.url(f"/cases/{case.pk}/"))  # the sign-in lands on the queue; the case is one click away
    expect(agent.locator("#major-incident")).to_have_count(0)
    panel = open_panel(agent, "request-approval")
    panel.get_by_label("Decision needed").select_option(label="Major-incident declaration")
    panel.get_by_label("What needs approving and why").fill("Every card payment fails since 09:10.")
    panel.get_by_role("button", name="Request approval").click()
    expect(message(agent)).to_contain_text("Approval requested from")

    executive = desk.sign_in(eve.username)
    executive.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals waiting (1)").click()
    expect(executive.locator("main")).to_contain_text("Every card payment fails since 09:10.")
    executive.get_by_label("Approve").check()
    executive.get_by_role("button", name="Record decision").click()
    expect(message(executive)).to_contain_text("Decision recorded")

    # The case page: the banner, P1; the team queue: on top, tagged, above the older P1.
    agent.reload()
    banner = agent.locator("#major-incident")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("P1, on top of every queue")
    assert Case.objects.get(pk=case.pk).priority == 1
    agent.get_by_role("navigation", name="Main").get_by_role("link", name="Team queue").click()
    rows = agent.locator("table.cases tbody tr")
    expect(rows.first).to_contain_text("MAJOR INCIDENT")
    expect(rows.first).to_contain_text(f"#{case.pk}")
    expect(agent.locator("table.cases tbody tr", has_text=f"#{older.pk}")).to_be_visible()
    told = set(Notification.objects.filter(case_id=case.pk, event="major_incident").values_list("recipient", flat=True))
    assert told == {"board@example.com", "fb@example.com", "chair@example.com"}  # the top level, every team manager

    # Only the Executive may end it, with a reason; the banner then records it.
    agent.goto(desk.url(f"/cases/{case.pk}/"))
    expect(agent.locator("#action-end-major-incident")).to_have_count(0)
    executive.goto(desk.url(f"/cases/{case.pk}/"))
    end = open_panel(executive, "end-major-incident")
    end.get_by_label("Reason").fill("Payments recovered; monitoring for an hour.")
    end.get_by_role("button", name="End the major incident").click()
    expect(message(executive)).to_contain_text("The major incident is over")
    banner = executive.locator("#major-incident")
    expect(banner).to_have_attribute("role", "status")
    expect(banner).to_contain_text("ended: Payments recovered; monitoring for an hour.")
    expect(banner).to_contain_text("A post-incident review is still required")

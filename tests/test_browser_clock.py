"""The customer's SLA in a real browser (headless Chromium through Playwright): an L1 agent
escalates a P1 case; L2 accepts and resolves it; the SLA deadlines shown on the case page
never change, while the OLA shown follows the level holding the case."""

import re

import pytest

from escalations.models import Case

from .factories import CategoryFactory, open_case, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def open_panel(page, name: str):
    panel = page.locator(f"#action-{name}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def deadlines(page) -> tuple[str, str]:
    return (
        page.locator("#sla-response-due").inner_text().split(" (")[0].strip(),
        page.locator("#sla-resolution-due").inner_text().strip(),
    )


def test_the_sla_deadline_shown_never_moves_through_escalation_accept_and_resolve(desk):
    alice, sam = staff("Agent", "alice"), staff("Specialist", "sam")
    case = open_case(alice, CategoryFactory(code="network", name="Network"), impact=1, urgency=1, title="Site down")
    assert case.priority == 1

    agent = desk.sign_in(alice.username)
    agent.goto(desk.url(f"/cases/{case.pk}/"))
    shown = deadlines(agent)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown[1]), shown
    expect(agent.locator("#ola-due")).to_be_visible()
    ola_at_l1 = agent.locator("#ola-due").inner_text()

    # The L1 agent escalates the P1 with a handoff.
    panel = open_panel(agent, "escalate")
    panel.get_by_label("Summary for the receiving level").fill("Whole site offline since 09:00.")
    panel.get_by_label("Steps already tried").fill("Rebooted the edge router; checked the uplink.")
    panel.get_by_label("Knowledge consulted").fill("KB: site outage runbook")
    panel.get_by_label("Impact on the customer").fill("Nobody at the site can work.")
    panel.get_by_role("button", name="Escalate with this handoff").click()
    expect(agent.locator(".messages")).to_contain_text("The case was escalated")

    # L2 sees the same customer deadline, and its own OLA.
    specialist = desk.sign_in(sam.username)
    specialist.goto(desk.url(f"/cases/{case.pk}/"))
    assert deadlines(specialist) == shown
    expect(specialist.locator("#summary-h + dl")).to_contain_text("OLA at L2")
    assert specialist.locator("#ola-due").inner_text() != ola_at_l1

    specialist.get_by_role("button", name="Accept").click()
    expect(specialist.locator(".messages")).to_contain_text("You accepted the escalation")
    assert deadlines(specialist) == shown

    panel = open_panel(specialist, "resolve")
    panel.get_by_label("Resolution summary").fill("Replaced the failed uplink module.")
    panel.get_by_role("button", name="Resolve").click()
    expect(specialist.locator(".messages")).to_contain_text("Resolved")
    assert deadlines(specialist) == shown
    expect(specialist.locator(".clock")).not_to_contain_text("due moved")

    stored = Case.objects.get(pk=case.pk)
    assert (stored.response_due_at, stored.resolution_due_at) == (case.response_due_at, case.resolution_due_at)
    assert stored.first_response_at == stored.resolved_at  # the resolution e-mail was the first contact

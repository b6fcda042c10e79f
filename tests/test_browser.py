"""The staff pages in a real browser (headless Debian Chromium through Playwright): a
whole case walked by the right person at each step, two people on one case, and the
accessible basics (labels, keyboard, visible focus)."""

import re

import pytest

from escalations.models import Case, CaseStatus, Escalation, KnowledgeArticle, Notification, Review

from .factories import CategoryFactory, open_case, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def message(page):
    return page.locator(".messages")


def open_panel(page, name: str):
    panel = page.locator(f"#action-{name}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def case_id(page) -> int:
    return int(re.search(r"/cases/(\d+)/", page.url).group(1))


def escalate(page, summary: str):
    panel = open_panel(page, "escalate")
    panel.get_by_label("Summary for the receiving level").fill(summary)
    panel.get_by_label("Steps already tried").fill("Restarted the VPN client; reinstalled it.")
    panel.get_by_label("Knowledge consulted").fill("KB: VPN drops every few minutes")
    panel.get_by_label("Impact on the customer").fill("Berlin office works offline.")
    panel.get_by_role("button", name="Escalate with this handoff").click()
    expect(message(page)).to_contain_text("The case was escalated")


def test_a_case_from_intake_to_review(desk):
    alice, sam, sienna = staff("Agent", "alice"), staff("Specialist", "sam"), staff("Senior", "sienna")
    network = CategoryFactory(code="network", name="Network")
    open_case(alice, network, title="VPN slow in Munich")  # the similar case intake should show
    KnowledgeArticle.objects.create(title="VPN drops every few minutes", body="Update the VPN client.")

    # Intake by the L1 agent: priority from the matrix, similar open cases before submitting.
    agent = desk.sign_in(alice.username)
    expect(agent.get_by_role("heading", name="My queue")).to_be_visible()
    agent.get_by_role("link", name="New case").click()
    agent.get_by_label("Requester's name").fill("Dana Customer")
    agent.get_by_label("Requester's e-mail").fill("dana@example.com")
    agent.get_by_label("Category").select_option(label="Network")
    agent.get_by_label("Title").fill("VPN drops every ten minutes")
    agent.get_by_label("Impact").select_option("1")
    agent.get_by_label("Urgency").select_option("2")
    expect(agent.locator("#priority-preview")).to_contain_text("P2 high")
    expect(agent.locator("#similar")).to_contain_text("VPN slow in Munich")
    agent.get_by_role("button", name="Open the case").click()
    expect(message(agent)).to_contain_text("opened at L1 with priority P2 high")
    pk = case_id(agent)
    expect(agent.locator("#clock-h + p")).to_contain_text("Response due in")
    expect(agent.get_by_text("VPN drops every few minutes")).to_be_visible()  # a suggested article
    expect(agent.locator("#similar-resolved")).to_contain_text("None found.")  # loaded after the page

    agent.get_by_role("button", name="Take it").click()
    expect(message(agent)).to_contain_text("You took the case.")
    escalate(agent, "VPN drops for the whole Berlin office.")
    expect(agent.locator("#follow-only")).to_contain_text("You follow this case")  # read only, no 404

    # The L2 specialist returns it with a reason (and is told when the reason is missing).
    specialist = desk.sign_in(sam.username)
    expect(specialist.get_by_role("heading", name="Escalations waiting for your level")).to_be_visible()
    specialist.get_by_role("link", name=f"#{pk} VPN drops every ten minutes").click()
    expect(specialist.locator("#handoff-h")).to_contain_text("Handoff waiting for acceptance at L2")
    expect(specialist.locator(".card--handoff")).to_contain_text("VPN drops for the whole Berlin office.")
    panel = open_panel(specialist, "return")
    panel.get_by_role("button", name="Return it").click()
    expect(specialist.locator("#action-return .field-error")).to_contain_text("Say why the escalation is returned")
    assert specialist.evaluate("document.activeElement.id") == "failure"
    specialist.locator("#action-return").get_by_label("Why return it").fill("L1 runbook covers this: reset the tunnel.")
    specialist.locator("#action-return").get_by_role("button", name="Return it").click()
    expect(message(specialist)).to_contain_text("returned to the level it came from")

    # Back at L1: the agent sees why, and re-escalates with a fuller handoff.
    agent.goto(desk.url(f"/cases/{pk}/"))
    expect(agent.locator(".timeline")).to_contain_text("Returned by sam")
    expect(agent.locator(".timeline")).to_contain_text("L1 runbook covers this")
    escalate(agent, "Tunnel reset did not help; drops continue.")

    # L2 accepts and asks for a spend approval; the authority matrix routes it to L3.
    specialist.reload()
    specialist.get_by_role("button", name="Accept").click()
    expect(message(specialist)).to_contain_text("You accepted the escalation")
    panel = open_panel(specialist, "request-approval")
    panel.get_by_label("Decision needed").select_option("spend")
    panel.get_by_label("Amount").fill("5000")
    panel.get_by_label("What needs approving and why").fill("Replace the office VPN appliance.")
    panel.get_by_role("button", name="Request approval").click()
    expect(message(specialist)).to_contain_text("Approval requested")
    expect(specialist.locator("#approvals")).to_contain_text("Waiting for someone at L3 or above")

    # The L3 senior decides.
    senior = desk.sign_in(sienna.username)
    expect(senior.get_by_role("heading", name="Approvals waiting for a decision")).to_be_visible()
    senior.goto(desk.url(f"/cases/{pk}/"))
    senior.locator("#approvals").get_by_label("Approve").check()
    senior.locator("#approvals").get_by_label("Note").fill("Within budget.")
    senior.get_by_role("button", name="Record decision").click()
    expect(message(senior)).to_contain_text("Decision recorded.")
    expect(senior.locator(".timeline")).to_contain_text("Approved by sienna")

    # L2 resolves; the requester confirms through the signed link, without an account.
    specialist.reload()
    panel = open_panel(specialist, "resolve")
    panel.get_by_label("Resolution summary").fill("Replaced the VPN appliance; no drops for an hour.")
    panel.get_by_role("button", name="Resolve").click()
    expect(message(specialist)).to_contain_text("Resolved")
    body = Notification.objects.filter(case_id=pk, event="resolved").latest("pk").body
    link = re.search(r"/confirm/[^/\s]+/", body).group(0)
    customer = desk.anonymous()
    customer.goto(desk.url(link))
    expect(customer.locator("main")).to_contain_text("Replaced the VPN appliance")
    customer.get_by_role("button", name="Yes, this solved it").click()
    expect(customer.get_by_role("status")).to_contain_text("the case is closed")

    # The senior writes the post-escalation review.
    senior.goto(desk.url(f"/cases/{pk}/"))
    expect(senior.locator(".status")).to_contain_text("Closed")
    senior.get_by_role("link", name="Write the review").click()
    senior.get_by_label("Root cause").fill("Faulty VPN appliance firmware.")
    senior.get_by_label("Was the escalation warranted?").select_option("yes")
    senior.get_by_label("Prevention actions").fill("Monitor appliance error rates.")
    senior.get_by_label("Complete the review").check()
    senior.get_by_role("button", name="Save the review").click()
    expect(message(senior)).to_contain_text("Review completed.")

    case = Case.objects.get(pk=pk)
    assert case.status == CaseStatus.CLOSED and case.escalation_count == 2
    assert list(Escalation.objects.filter(case=case).values_list("status", flat=True)) == ["returned", "accepted"]
    assert Review.objects.get(case=case).status == "completed"


def test_two_people_on_one_case(desk):
    alice, arthur = staff("Agent", "alice"), staff("Agent", "arthur")
    case = open_case(alice, CategoryFactory(code="email", name="E-mail"), title="Mailbox full")
    first = desk.sign_in(alice.username)
    first.goto(desk.url(f"/cases/{case.pk}/"))
    panel = open_panel(first, "resolve")
    panel.get_by_label("Resolution summary").fill("Archived old mail; quota raised.")

    second = desk.sign_in(arthur.username)  # meanwhile, a colleague takes the case
    second.goto(desk.url(f"/cases/{case.pk}/"))
    second.get_by_role("button", name="Take it").click()
    expect(message(second)).to_contain_text("You took the case.")

    first.locator("#action-resolve").get_by_role("button", name="Resolve").click()
    alert = first.locator("#failure")
    expect(alert).to_contain_text("This case changed since you opened it")
    expect(alert).to_contain_text("Taken by arthur")
    expect(first.locator("#action-resolve").get_by_label("Resolution summary")).to_have_value(
        "Archived old mail; quota raised."
    )
    first.locator("#action-resolve").get_by_role("button", name="Resolve").click()  # having read the changes
    expect(message(first)).to_contain_text("Resolved")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED


def test_labels_keyboard_and_visible_focus(desk):
    alice = staff("Agent", "alice")
    case = open_case(alice, CategoryFactory(code="hardware", name="Hardware"))
    page = desk.anonymous()
    page.goto(desk.url("/login/"))
    focused = (
        "[document.activeElement.name || document.activeElement.textContent.trim(), "
        "getComputedStyle(document.activeElement).outlineStyle]"
    )
    name, outline = page.evaluate(focused)
    assert name == "username" and outline not in ("", "none")  # focus starts in the form, visibly
    page.keyboard.type(alice.username)
    page.keyboard.press("Tab")
    page.keyboard.type("pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/queue/mine/"))
    page.keyboard.press("Tab")
    name, outline = page.evaluate(focused)
    assert name == "Skip to main content" and outline not in ("", "none")
    assert page.locator(".skip-link").bounding_box()["x"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    unlabeled = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    for path in ("/queue/mine/", "/queue/team/", "/cases/new/", f"/cases/{case.pk}/", "/kb/"):
        page.goto(desk.url(path))
        assert page.evaluate(unlabeled) == [], path
    page.goto(desk.url(f"/cases/{case.pk}/"))
    page.locator("#action-note summary").focus()
    page.keyboard.press("Enter")  # details open from the keyboard
    expect(page.locator("#action-note").get_by_label("Internal note")).to_be_visible()

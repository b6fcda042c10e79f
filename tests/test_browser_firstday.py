"""In a real browser (Playwright on /usr/bin/chromium): each role reaches its pages through
the menu only, and the case page, the queues and the new-case form fit a 390-px phone
without sideways scrolling."""

import pytest

from escalations import workflow

from .factories import open_case, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def test_menu_walk_per_role(desk):
    alice, sam, max_, audrey = (
        staff("Agent", "alice"),
        staff("Specialist", "sam"),
        staff("Manager", "max"),
        staff("Auditor", "audrey"),
    )
    case = open_case(alice, title="Router down")
    workflow.approval_request(case_id=case.pk, actor=max_, kind="spend", amount="500", description="A new router")

    agent = desk.sign_in(alice.username)
    nav = agent.get_by_role("navigation", name="Main")
    for label in ("My queue", "Team queue", "New case", "Knowledge base"):
        nav.get_by_role("link", name=label).click()
        expect(agent.get_by_role("heading", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="Reports")).to_have_count(0)

    specialist = desk.sign_in(sam.username)
    specialist.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals waiting (1)").click()
    expect(specialist.get_by_role("heading", name="Approvals waiting")).to_be_visible()
    specialist.get_by_label("Approve").check()
    specialist.get_by_role("button", name="Record decision").click()
    expect(specialist.locator(".messages")).to_contain_text("Decision recorded")
    expect(specialist.get_by_role("link", name="Approvals waiting (0)")).to_be_visible()

    manager = desk.sign_in(max_.username)
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Reports")
    manager.go_back()
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    manager.locator("#desk-pages").get_by_role("link", name="Policy what-if").click()
    expect(manager.get_by_role("button", name="Replay")).to_be_visible()
    manager.go_back()
    manager.locator("#desk-pages").get_by_role("link", name="Sweep health").click()
    expect(manager.locator("body")).to_contain_text("Sweep heartbeat")

    auditor = desk.sign_in(audrey.username)
    auditor.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    auditor.get_by_label("Case trail (every record of one case, in one list): case number").fill(str(case.pk))
    auditor.get_by_role("button", name="Show the trail").click()
    expect(auditor.locator("#case-trail")).to_contain_text("Approval #")


def test_pages_fit_a_390px_phone(desk):
    alice = staff("Agent", "alice")
    case = open_case(alice, title="A rather long title " * 4, description="word " * 300)
    workflow.case_take(case_id=case.pk, actor=alice)
    workflow.case_note(case_id=case.pk, actor=alice, body="https://example.com/" + "x" * 200)
    page = desk.sign_in(alice.username)
    page.set_viewport_size(PHONE)
    widths = {}
    for path in ("/queue/mine/", "/queue/team/", "/cases/new/", f"/cases/{case.pk}/", "/approvals/", "/kb/"):
        page.goto(desk.url(path))
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    assert all(w <= 390 for w in widths.values()), widths

"""A first day on the demo desk, in a real browser (Playwright on /usr/bin/chromium): each
role signs in and does its day's work through the menu, links, buttons and forms only (no
typed URL but the login page). The demo is seeded once for the module (one test walks every
role in turn, so the two-minute seed runs once).

The walks are plain functions of a signed-in page so ``demo_screenshots`` and a person at a
laptop can follow the same path."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from escalations.management.demo.desk import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def nav(page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(label)).click()


def first_case(page) -> str:
    """Open the first case listed on the queue page; return its number."""
    link = page.locator("main table a[href*='/cases/']").first
    number = re.search(r"/cases/(\d+)/", link.get_attribute("href")).group(1)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case #{number}")
    return number


def filter_queue(page, **choices: str) -> None:
    for label, option in choices.items():
        select = page.get_by_label(label, exact=True)
        value = select.locator("option", has_text=option).first.get_attribute("value")
        select.select_option(value=value)
    page.get_by_role("button", name="Apply filters").click()


def walk_agent(page) -> None:
    """L1: the own queue, a case in it, the team queue, the knowledge base, the new-case form."""
    expect(page.get_by_role("heading", level=1)).to_have_text("My queue")
    first_case(page)
    expect(page.get_by_role("heading", name=re.compile("SLA clock"))).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("not scored yet")
    nav(page, "^Team queue$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team queue")
    nav(page, "^Knowledge base$")
    expect(page.locator("main")).to_contain_text("VPN drops every few minutes")
    nav(page, "^New case$")
    expect(page.get_by_role("heading", level=1)).to_contain_text("New case")


def walk_specialist(page) -> None:
    """L2: the approvals waiting, then a handoff waiting at L2: read it and accept it."""
    nav(page, "^Approvals waiting")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approvals waiting")
    nav(page, "^Team queue$")
    filter_queue(page, Status="Escalated", Level="Level 2")
    first_case(page)
    title = page.get_by_role("heading", level=1).inner_text().split(": ", 1)[1]
    expect(page.locator("main")).to_contain_text(title + ":")  # the handoff summary names the case
    page.get_by_role("button", name="Accept").click()
    expect(page.locator(".messages")).to_contain_text("ccepted")


def walk_senior(page) -> None:
    """L3: the cases at L3, one of them with its handoff and clocks; the approvals waiting."""
    nav(page, "^Team queue$")
    filter_queue(page, Level="Level 3")
    first_case(page)
    expect(page.get_by_role("heading", name=re.compile("SLA clock"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("L3")
    nav(page, "^Approvals waiting")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approvals waiting")


def walk_manager(page) -> None:
    """The manager: reports, a trigger rule edited without JSON, the policy what-if."""
    nav(page, "^Reports$")
    page.get_by_role("link", name="SLA compliance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SLA")
    expect(page.locator("main table").first).to_be_visible()
    page.get_by_role("link", name="Live desk (team lead)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Live desk")
    page.get_by_role("link", name="Home").first.click()
    page.get_by_role("link", name="Trigger rules").first.click()
    page.get_by_role("link", name="Warn at 50% of the response target").click()
    page.get_by_label("Percentage used (for % of an SLA target):").fill("60")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    page.get_by_role("link", name="Home").first.click()
    page.locator("#desk-pages").get_by_role("link", name="Policy what-if").click()
    page.get_by_role("button", name="Replay").click()
    expect(page.locator("#content")).to_contain_text("cases")


def walk_auditor(page) -> None:
    """The auditor: a case's trail from the queue, the chains verified, an export."""
    number = page.locator("main table a[href*='/cases/']").first.get_attribute("href").split("/")[2]
    nav(page, "^Audit log$")
    page.get_by_label("Case trail (every record of one case, in one list): case number").fill(number)
    page.get_by_role("button", name="Show the trail").click()
    expect(page.locator("#case-trail")).to_contain_text(f"#{number}")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).first.click()
    assert download.value.suggested_filename.endswith(".csv")
    page.get_by_role("link", name="Home").first.click()
    page.locator("#desk-pages").get_by_role("link", name="Verify the audit chains").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("verification")
    expect(page.locator("#content")).to_contain_text("intact")
    expect(page.locator("#content")).not_to_contain_text("broken")


WALKS = [
    ("agent", walk_agent),
    ("specialist", walk_specialist),
    ("senior", walk_senior),
    ("manager", walk_manager),
    ("auditor", walk_auditor),
]


def test_a_first_day_on_the_demo_desk_for_each_role(desk):
    call_command("seed_demo", stdout=io.StringIO())
    for username, walk in WALKS:
        page = desk.sign_in(username, PASSWORD)
        walk(page)

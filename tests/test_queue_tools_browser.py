"""The queue tools in a real browser (issue 12): a queue that updates itself, bulk
actions on checked rows, saved filters. Unit-level refusals: tests/test_queue_tools.py."""

import re

import pytest

from escalations import workflow
from escalations.models import Case

from .factories import CategoryFactory, open_case, staff
from .test_browser import expect, message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def rows(page):
    return page.locator("table.cases tbody tr")


def test_the_team_queue_shows_new_cases_without_a_reload(desk, settings):
    settings.QUEUE_LIVE_SECONDS = 1
    alice, arthur = staff("Agent", "alice"), staff("Agent", "arthur")
    category = CategoryFactory(code="network", name="Network")
    open_case(arthur, category, title="Already waiting")

    page = desk.sign_in(alice.username)
    page.goto(desk.url("/queue/team/"))
    expect(rows(page)).to_have_count(1)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    news = page.locator("#queue-news")
    expect(news).to_be_hidden()

    case = workflow.case_open(
        actor=arthur,
        title="VPN drops every ten minutes",
        requester_name="Dana",
        requester_email="dana@example.com",
        category=category,
        impact=2,
        urgency=2,
    )
    expect(news).to_be_visible()
    expect(news).to_contain_text("1 new case since you opened this page")
    row = page.locator(f'table.cases tbody tr[data-case="{case.pk}"]')
    expect(row).to_contain_text("VPN drops every ten minutes")
    expect(row).to_have_class(re.compile("row--new"))
    assert page.evaluate("window.__sameDocument") is True

    # A row already shown is refreshed in place: taken by someone else, it says so.
    workflow.case_take(case_id=case.pk, actor=arthur)
    expect(row).to_contain_text("arthur")
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("link", name="show").click()  # the first page again, counted from now
    expect(rows(page)).to_have_count(2)
    expect(news).to_be_hidden()


def test_bulk_take_with_one_case_changed_meanwhile(desk, settings):
    settings.QUEUE_LIVE_SECONDS = 0  # the rows stay as shown: the stale one is the point
    alice, arthur = staff("Agent", "alice"), staff("Agent", "arthur")
    category = CategoryFactory(code="network", name="Network")
    cases = [open_case(arthur, category, title=f"Printer {i} jammed") for i in range(3)]

    page = desk.sign_in(alice.username)
    page.goto(desk.url("/queue/team/"))
    expect(page.locator("#bulk-count")).to_contain_text("No case selected")
    for case in cases:
        page.get_by_label(f"Select case #{case.pk}").check()
    expect(page.locator("#bulk-count")).to_contain_text("3 cases selected")
    workflow.case_take(case_id=cases[1].pk, actor=arthur)  # someone else is quicker on one

    page.locator("#bulk-form").get_by_role("button", name="Take").click()
    page.wait_for_url(re.compile(r".*/queue/team/.*"))
    summary = message(page)
    expect(summary).to_contain_text("Take the case: done on 2 of 3 cases")
    expect(summary).to_contain_text("refused on 1 of 3 cases")
    expect(summary).to_contain_text(f"#{cases[1].pk}: Case #{cases[1].pk} changed since you opened it")
    owners = {c.pk: Case.objects.get(pk=c.pk).assignee.username for c in cases}
    assert owners == {cases[0].pk: "alice", cases[1].pk: "arthur", cases[2].pk: "alice"}


def test_save_a_filter_reload_and_pick_it_again(desk):
    alice, arthur = staff("Agent", "alice"), staff("Agent", "arthur")
    category = CategoryFactory(code="network", name="Network")
    open_case(arthur, category, title="Whole office offline", impact=1, urgency=1)
    open_case(arthur, category, title="Mouse squeaks", impact=3, urgency=3)

    page = desk.sign_in(alice.username)
    page.goto(desk.url("/queue/team/"))
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Priority").select_option(label="P1 critical")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(1)
    page.get_by_label("Save the current filter as").fill("Critical only")
    page.get_by_role("button", name="Save filter").click()
    expect(message(page)).to_contain_text("Filter “Critical only” saved.")

    # Reload the bare queue: the filter last used is applied.
    page.goto(desk.url("/queue/team/"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text("Whole office offline")
    page.get_by_role("link", name="Clear filters").click()
    expect(rows(page)).to_have_count(2)
    page.goto(desk.url("/queue/team/"))  # cleared is remembered too
    expect(rows(page)).to_have_count(2)

    # Pick the saved filter again, then delete it.
    page.get_by_role("link", name="Critical only").click()
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_label("Priority")).to_have_value("1")
    page.get_by_role("button", name="Delete the saved filter Critical only").click()
    expect(message(page)).to_contain_text("Filter “Critical only” deleted.")
    expect(page.get_by_role("link", name="Critical only")).to_have_count(0)

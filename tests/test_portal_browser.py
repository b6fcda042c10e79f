"""The requester portal in a real browser (headless Debian Chromium through Playwright),
with a staff member on the desk at the same time: request → staff reply (public update)
→ requester reply with a file → resolution → survey."""

import re

import pytest

from escalations.domain import portal_links
from escalations.models import Case, CaseStatus, Deflection, KnowledgeArticle, Note, Notification, SatisfactionSurvey
from escalations.portal.session import COOKIE

from .factories import CategoryFactory, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def open_panel(page, name: str):
    panel = page.locator(f"#action-{name}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_request_reply_resolution_and_survey(desk, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    alice = staff("Agent", "alice", first_name="Alice", last_name="Agentson")
    CategoryFactory(code="mail", name="E-mail")
    KnowledgeArticle.objects.create(title="Mailbox full", body="Empty the deleted items folder.")

    # Sign in with the e-mailed link (no password).
    rita = desk.anonymous()
    rita.goto(desk.url("/portal/"))
    rita.get_by_label("Your e-mail address").fill("rita@example.com")
    rita.get_by_role("button", name="Send me a link").click()
    expect(rita.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    body = Notification.objects.get(event="portal_link", recipient="rita@example.com").body
    rita.goto(desk.url(path_of(re.search(r"https?://\S+", body).group(0))))
    rita.get_by_role("button", name="Continue to my requests").click()
    expect(rita.get_by_role("heading", name="My requests")).to_be_visible()

    # A new request: suggestions first; "this solved it" is counted, then she sends it anyway.
    rita.get_by_role("link", name="Ask for help").click()
    rita.get_by_label("Your name").fill("Rita Requester")
    rita.get_by_label("Subject").fill("My mailbox is full")
    rita.get_by_label("What is it about?").select_option(label="E-mail")
    rita.get_by_label("Describe the problem").fill("I cannot receive mail, the mailbox is full.")
    rita.get_by_role("button", name="Next").click()
    expect(rita.locator("#suggestions")).to_contain_text("Mailbox full")
    rita.get_by_role("button", name="Send my request").click()
    expect(rita.locator(".messages")).to_contain_text("your request is #")
    case = Case.objects.get()
    expect(rita.locator("#status")).to_contain_text("Received")
    expect(rita.locator("#next")).to_contain_text("You will hear from us by")
    assert Deflection.objects.count() == 0

    # The agent answers with a public update and an internal note, and waits for her.
    agent = desk.sign_in(alice.username)
    agent.goto(desk.url(f"/cases/{case.pk}/"))
    agent.get_by_role("button", name="Take it").click()
    panel = open_panel(agent, "note")
    panel.get_by_label("Internal note").fill("Secret: her quota is tiny.")
    panel.get_by_role("button", name="Add note").click()
    panel = open_panel(agent, "public-update")
    panel.get_by_label("Update to the requester").fill("Please send a screenshot of the error.")
    panel.get_by_role("button", name="Send update").click()
    panel = open_panel(agent, "pause")
    panel.get_by_label("Waiting on").select_option(label="The customer")
    panel.get_by_label("What are you waiting for?").fill("The screenshot")
    panel.get_by_role("button", name="Start waiting").click()
    expect(agent.locator(".messages")).to_contain_text("waiting for the customer")

    # She sees the update (by first name), not the internal note, and replies with a file.
    rita.reload()
    expect(rita.locator("#conversation")).to_contain_text("Please send a screenshot of the error.")
    expect(rita.locator("#conversation")).to_contain_text("Alice")
    expect(rita.locator("#status")).to_contain_text("Waiting for your answer")
    assert "Secret" not in rita.content() and "Agentson" not in rita.content()
    rita.get_by_label("Your message").fill("Here it is.")
    rita.locator("#attachments").set_input_files(
        files=[{"name": "error.png", "mimeType": "image/png", "buffer": b"\x89PNG fake"}]
    )
    rita.get_by_role("button", name="Send").click()
    expect(rita.locator(".messages")).to_contain_text("Your message was sent.")
    expect(rita.locator("#conversation")).to_contain_text("error.png")
    expect(rita.locator("#status")).to_contain_text("We are working on it")
    assert Case.objects.get().status == CaseStatus.IN_PROGRESS  # the paused clock resumed
    assert Note.objects.get(body="Here it is.").attachments.count() == 1

    # The agent resolves; she rates it in the portal.
    agent.reload()
    panel = open_panel(agent, "resolve")
    panel.get_by_label("Resolution summary").fill("Raised the quota to 10 GB.")
    panel.get_by_role("button", name="Resolve").click()
    expect(agent.locator(".messages")).to_contain_text("Resolved")
    assert Notification.objects.filter(case=case, event="survey", recipient="rita@example.com").exists()
    rita.reload()
    expect(rita.locator("#status")).to_contain_text("Solved")
    rita.get_by_role("link", name="Rate how we handled it").click()
    rita.get_by_role("button", name="Send my answer").click()
    expect(rita.locator(".field-error")).to_contain_text("Choose a score from 1 to 5.")
    rita.get_by_label("4", exact=True).check()
    rita.get_by_label("Anything you want to tell us? (optional)").fill("Quick and friendly.")
    rita.get_by_role("button", name="Send my answer").click()
    expect(rita.get_by_role("status")).to_contain_text("Thank you for your answer.")
    survey = SatisfactionSurvey.objects.get()
    assert (survey.score, survey.comment, survey.case_id) == (4, "Quick and friendly.", case.pk)
    rita.goto(desk.url(f"/portal/requests/{case.pk}/"))
    expect(rita.get_by_text("You rated this resolution 4/5")).to_be_visible()


def test_suggestions_appear_while_typing_and_this_solved_it_counts(desk):
    CategoryFactory(code="vpn", name="VPN")
    KnowledgeArticle.objects.create(title="VPN certificate expired", body="Renew it from the self-service page.")
    KnowledgeArticle.objects.create(title="Printer toner", body="Order toner from the supplies page.")
    rita = desk.anonymous()
    rita.context.add_cookies(
        [{"name": COOKIE, "value": portal_links.session_value("rita@example.com"), "url": desk.url("/portal/")}]
    )
    rita.goto(desk.url("/portal/new/"))
    live = rita.locator("#live-suggestions")
    expect(live).to_be_hidden()
    rita.get_by_label("Subject").press_sequentially("vpn certificate", delay=20)  # no "Next"
    expect(live).to_contain_text("VPN certificate expired")
    expect(live).not_to_contain_text("Printer toner")
    rita.get_by_label("Subject").fill("toner")
    expect(live).to_contain_text("Printer toner")
    expect(live).not_to_contain_text("VPN certificate")
    rita.get_by_label("Subject").fill("")
    expect(live).to_be_hidden()
    rita.get_by_label("Describe the problem").fill("The VPN says my certificate expired")
    expect(live).to_contain_text("VPN certificate expired")
    live.get_by_role("button", name="This solved it").click()
    expect(rita.get_by_text("Glad it helped")).to_be_visible()
    row = Deflection.objects.get()
    assert (row.article.title, row.requester_email) == ("VPN certificate expired", "rita@example.com")
    assert not Case.objects.exists()

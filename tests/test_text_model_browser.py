"""The text model's suggestion on the intake form in a real browser: it appears while the
agent types, with its confidence and the words behind it; "Use the suggestion" fills the
category, impact and urgency; the choice is recorded against the suggestion."""

import pytest

from escalations.models import CaseSuggestion, SuggestionDecision

from .factories import staff
from .test_text_model import trained

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def test_the_suggestion_appears_while_typing_and_its_use_is_recorded(desk):
    alice = staff("Agent", "alice")
    cats = trained(alice)
    page = desk.sign_in(alice.username)
    page.goto(desk.url("/cases/new/"))
    page.get_by_label("Requester's name").fill("Dana Customer")
    page.get_by_label("Requester's e-mail").fill("dana@example.com")
    page.get_by_label("Title").fill("printer jammed paper")
    box = page.locator("#text-suggestion")
    expect(box).to_contain_text("Suggested from the text")
    expect(box.locator("[data-suggested-category]")).to_have_text("Printers")
    expect(box).to_contain_text("% confident")
    expect(box).to_contain_text("printer")  # a word that drove it
    expect(box.locator("[data-suggested-level]")).to_contain_text("L1")
    box.get_by_role("button", name="Use the suggestion").click()
    expect(page.get_by_label("Category")).to_have_value(str(cats["printers"].pk))
    expect(page.locator("#priority-preview")).to_contain_text("P4")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator(".messages")).to_contain_text("opened at L1 with priority P4")
    s = CaseSuggestion.objects.get(case__title="printer jammed paper")
    assert s.decision == SuggestionDecision.ACCEPTED and s.decided_by == alice

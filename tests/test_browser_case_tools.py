"""In a real browser (Playwright on /usr/bin/chromium): keyboard shortcuts on the queue
and the case page, a file on an internal note (attached, shown, downloaded), and a canned
reply picked, inserted and sent as a public update."""

import re

import pytest

from escalations.models import Attachment, CannedReply, Note, NoteKind

from .factories import fresh, open_case, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_keyboard_shortcuts_on_the_queue_and_the_case_page(desk):
    alice = staff("Agent", "alice")
    cases = [open_case(alice, title=f"Router {n}") for n in range(3)]
    page = desk.sign_in(alice.username)
    page.goto(desk.url("/queue/team/"))
    rows = page.locator("tr[data-open]")
    expect(rows).to_have_count(3)

    expect(page.locator("#shortcuts-hint")).to_contain_text("press ? for shortcuts")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("is-selected"))
    expect(rows.nth(0)).not_to_have_class(re.compile("is-selected"))
    expect(rows.nth(1).locator("a").first).to_be_focused()  # the focus ring shows where it is
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))

    # While typing in a field the keys are text, not shortcuts.
    search = page.get_by_role("search").locator("input[type=search]").first
    search.focus()
    page.keyboard.type("jk")
    expect(search).to_have_value("jk")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    expect(page.locator("tr.is-selected")).to_have_count(1)

    # ? shows the keys in a dialog; Esc closes it and the focus goes back.
    rows.nth(0).locator("a").first.focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Take the selected case")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("j")  # ignored while the list is open
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(rows.nth(0).locator("a").first).to_be_focused()

    # o opens the selected case; back on the queue, t takes the selected one.
    first_href = rows.nth(0).get_attribute("data-open")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(re.escape(first_href) + "$"))
    page.goto(desk.url("/queue/team/"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator("tr.is-selected").get_attribute("data-open")
    assert second == rows.nth(1).get_attribute("data-open")
    page.keyboard.press("t")
    expect(page.locator(".messages")).to_contain_text("You took the case.")
    assert page.url.endswith(second)
    taken = [c for c in cases if fresh(c).assignee_id == alice.pk]
    assert len(taken) == 1 and second.endswith(f"/cases/{taken[0].pk}/")

    # On a case page: n goes to the note box, t takes this case.
    other = next(c for c in cases if c.pk != taken[0].pk)
    page.goto(desk.url(f"/cases/{other.pk}/"))
    page.keyboard.press("n")
    note_box = page.get_by_label("Internal note")
    expect(note_box).to_be_focused()
    page.keyboard.type("tnj typed, not shortcuts")
    expect(note_box).to_have_value("tnj typed, not shortcuts")
    note_box.blur()
    page.keyboard.press("t")
    expect(page.locator(".messages")).to_contain_text("You took the case.")
    assert fresh(other).assignee_id == alice.pk


def test_a_file_on_an_internal_note_is_shown_and_downloaded(desk, tmp_path):
    alice = staff("Agent", "alice")
    case = open_case(alice, title="Router down")
    page = desk.sign_in(alice.username)
    page.goto(desk.url(f"/cases/{case.pk}/"))
    page.locator("#action-note summary").click()
    page.get_by_label("Internal note").fill("The router's log, from the customer's site.")
    page.get_by_label("Files (staff only)").set_input_files(
        {"name": "router.log", "mimeType": "text/plain", "buffer": b"09:14 link down\n"}
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".messages")).to_contain_text("Note added.")
    link = page.locator(".timeline .attachments").get_by_role("link", name="router.log")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "router.log"
    saved = tmp_path / "downloaded.log"
    download.save_as(saved)
    assert saved.read_bytes() == b"09:14 link down\n"
    note = Note.objects.get(case=case, kind=NoteKind.INTERNAL)
    assert Attachment.objects.get().note_id == note.pk


def test_a_file_that_is_refused_keeps_the_typed_text(desk, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    alice = staff("Agent", "alice")
    case = open_case(alice, title="Router down")
    page = desk.sign_in(alice.username)
    page.goto(desk.url(f"/cases/{case.pk}/"))
    page.locator("#action-note summary").click()
    page.get_by_label("Internal note").fill("Keep me.")
    page.get_by_label("Files (staff only)").set_input_files(
        {"name": "big.log", "mimeType": "text/plain", "buffer": b"x" * 100}
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#action-note")).to_contain_text("too large")
    expect(page.get_by_label("Internal note")).to_have_value("Keep me.")
    assert not Note.objects.exists()


def test_pick_a_canned_reply_and_send_the_public_update(desk):
    alice = staff("Agent", "alice")
    CannedReply.objects.create(name="We are on it", body="Hello {requester_name}, we are looking into {case_ref}.")
    case = open_case(alice, title="Router down")
    page = desk.sign_in(alice.username)
    page.goto(desk.url(f"/cases/{case.pk}/"))
    page.locator("#action-public-update summary").click()
    page.get_by_label("Canned reply").select_option(label="We are on it (everyone)")
    page.get_by_role("button", name="Insert the canned reply").click()
    body = page.get_by_label("Update to the requester")
    expect(body).to_have_value(f"Hello Rita Requester, we are looking into [case #{case.pk}].")
    body.fill(body.input_value() + " Expect news by noon.")
    page.get_by_role("button", name="Send update").click()
    expect(page.locator(".messages")).to_contain_text("Update sent to the requester.")
    expect(page.locator(".timeline")).to_contain_text("Expect news by noon.")
    assert Note.objects.get(kind=NoteKind.PUBLIC).body.startswith("Hello Rita Requester")

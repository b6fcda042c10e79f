"""What staff see of the mail channel: requester messages and files on the case page, the
download, the mailbox admin; and the workflow functions the channel calls."""

from __future__ import annotations

import pytest
from django.urls import reverse

from escalations import workflow
from escalations.models import Attachment, CaseStatus, Mailbox

from .factories import CategoryFactory, fresh, open_case

pytestmark = pytest.mark.django_db

LOG = workflow.IncomingFile("<script>x</script>.html", "text/plain", b"<script>alert(1)</script>")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_the_case_page_shows_the_requesters_message_and_files_for_download(client, agent):
    case = open_case(agent)
    sent = workflow.case_customer_message(
        actor=workflow.system_actor(), case_id=case.pk, sender="rita@example.com", body="Here is the log.", files=[LOG]
    )
    client.force_login(agent)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Message from the requester" in page and "rita@example.com" in page and "Here is the log." in page
    attachment = sent.note.attachments.get()
    url = reverse("case-attachment", args=[case.pk, attachment.pk])
    assert url in page and "&lt;script&gt;x&lt;/script&gt;.html" in page and "<script>x" not in page
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == LOG.data
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    # The attachment id must belong to the case in the URL.
    other = open_case(agent, title="Another")
    assert client.get(reverse("case-attachment", args=[other.pk, attachment.pk])).status_code == 404


def test_files_are_checked_before_anything_is_written(agent, settings):
    case = open_case(agent)
    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(workflow.InvalidAction, match="limit"):
        workflow.case_customer_message(
            actor=workflow.system_actor(), case_id=case.pk, sender="rita@example.com", body="x", files=[LOG]
        )
    settings.ATTACHMENT_MAX_BYTES = 10_000
    with pytest.raises(workflow.InvalidAction, match="not accepted"):
        workflow.case_customer_message(
            actor=workflow.system_actor(),
            case_id=case.pk,
            sender="rita@example.com",
            body="x",
            files=[workflow.IncomingFile("a.exe", "application/x-msdownload", b"MZ")],
        )
    assert case.notes.count() == 0 and Attachment.objects.count() == 0


def test_the_same_file_twice_is_stored_once(agent):
    case = open_case(agent)
    for _ in range(2):
        workflow.case_customer_message(
            actor=workflow.system_actor(), case_id=case.pk, sender="rita@example.com", body="again", files=[LOG]
        )
    first, second = Attachment.objects.all()
    assert first.file.name == second.file.name and first.sha256 == second.sha256


def test_a_message_on_a_new_case_changes_nothing_but_adds_the_note(agent):
    case = open_case(agent)
    before = fresh(case).version
    sent = workflow.case_customer_message(
        actor=workflow.system_actor(), case_id=case.pk, sender="rita@example.com", body="Any news?"
    )
    assert sent.outcome == "replied" and fresh(case).version == before and fresh(case).status == CaseStatus.NEW


def test_the_mailbox_admin_offers_the_configured_mailboxes_without_passwords(client, manager, settings):
    settings.MAILBOX_URLS = ["imap+ssl://desk%40example.org:s3cret@mail.example/INBOX"]
    client.force_login(manager)
    page = client.get(reverse("admin:escalations_mailbox_add")).content.decode()
    assert "desk@example.org@mail.example:993/INBOX" in page and "s3cret" not in page
    category = CategoryFactory()
    response = client.post(
        reverse("admin:escalations_mailbox_add"),
        {
            "name": "Support",
            "source": "desk@example.org@mail.example:993/INBOX",
            "category": category.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Mailbox.objects.get().source == "desk@example.org@mail.example:993/INBOX"
    response = client.post(
        reverse("admin:escalations_mailbox_add"),
        {"name": "Other", "source": "someone@elsewhere:143/INBOX", "category": category.pk},
    )
    assert response.status_code == 200 and Mailbox.objects.count() == 1  # not in MAILBOX_URLS

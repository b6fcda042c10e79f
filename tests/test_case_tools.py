"""Issue 12's tools on the case page: files on staff notes and public updates (limits,
the virus-scan hook, history, download, the e-mail to the requester, the portal) and
canned replies per team (who is offered which, placeholders, insertion without script)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from escalations import workflow
from escalations.automation import outbox
from escalations.domain import portal_links
from escalations.models import Attachment, CannedReply, Note, NoteKind
from escalations.portal.session import COOKIE

from .factories import TeamFactory, fresh, open_case

pytestmark = pytest.mark.django_db

LOG = workflow.IncomingFile("router.log", "text/plain", b"link down at 09:14")


def refuse_marked(filename: str, content_type: str, data: bytes) -> str | None:
    """The test scanner named by ATTACHMENT_SCANNER: refuses files carrying a marker."""
    return "it carries the test signature" if b"VIRUS-TEST" in data else None


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def taken(agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    return fresh(case)


def upload(name="router.log", data=b"link down at 09:14", content_type="text/plain"):
    return SimpleUploadedFile(name, data, content_type=content_type)


# -- files on notes and public updates ------------------------------------------------------


def test_a_note_with_a_file_is_written_with_history_and_downloaded(client, agent):
    case = taken(agent)
    client.force_login(agent)
    response = client.post(
        reverse("case-action", args=[case.pk, "note"]),
        {"note-body": "The router log.", "note-attachments": [upload()]},
    )
    assert response.status_code == 302
    note = Note.objects.get(case=case, kind=NoteKind.INTERNAL)
    attachment = note.attachments.get()
    assert (attachment.filename, attachment.size, attachment.uploaded_by) == ("router.log", 18, agent)
    history = attachment.history.get()
    assert history.history_user == agent and history.history_change_reason == "Attached router.log"
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    url = reverse("case-attachment", args=[case.pk, attachment.pk])
    assert url in page
    download = client.get(url)
    assert b"".join(download.streaming_content) == b"link down at 09:14"
    assert download["Content-Disposition"] == 'attachment; filename="router.log"'
    assert download["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (upload(data=b"x" * 2000), "too large"),
        (upload(name="tool.exe", data=b"MZ", content_type="application/x-msdownload"), "not accepted"),
        (upload(data=b""), "empty"),
        (upload(data=b"VIRUS-TEST payload"), "virus scan"),
    ],
)
def test_a_refused_file_keeps_what_was_typed_and_writes_nothing(client, agent, settings, file, words):
    settings.ATTACHMENT_MAX_BYTES = 1000
    settings.ATTACHMENT_SCANNER = "tests.test_case_tools.refuse_marked"
    case = taken(agent)
    client.force_login(agent)
    file.seek(0)
    response = client.post(
        reverse("case-action", args=[case.pk, "public-update"]),
        {
            "public-update-version": case.version,
            "public-update-body": "Please see the attached tool.",
            "public-update-attachments": [file],
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page.lower() and "Please see the attached tool." in page
    assert 'id="action-public-update" class="panel" open' in page
    assert not Note.objects.filter(case=case).exists() and not Attachment.objects.exists()
    assert fresh(case).version == case.version


def test_the_scanner_hook_refuses_in_every_channel(agent, settings):
    settings.ATTACHMENT_SCANNER = "tests.test_case_tools.refuse_marked"
    case = open_case(agent)
    bad = workflow.IncomingFile("x.txt", "text/plain", b"VIRUS-TEST")
    with pytest.raises(workflow.InvalidAction, match="virus scan: it carries the test signature"):
        workflow.case_customer_message(
            actor=workflow.system_actor(), case_id=case.pk, sender=case.requester_email, body="x", files=[bad]
        )
    workflow.case_customer_message(
        actor=workflow.system_actor(), case_id=case.pk, sender=case.requester_email, body="x", files=[LOG]
    )
    assert Attachment.objects.count() == 1


def test_public_update_files_go_out_by_mail_and_show_in_the_portal_internal_ones_never(client, agent):
    case = taken(agent)
    workflow.case_note(
        case_id=case.pk, actor=agent, body="Internal", files=[workflow.IncomingFile("secret.txt", "text/plain", b"s")]
    )
    workflow.case_public_update(
        case_id=case.pk,
        actor=agent,
        body="Here is the fix.",
        version=fresh(case).version,
        files=[workflow.IncomingFile("fix.pdf", "application/pdf", b"%PDF-1.4 fix")],
    )
    mail.outbox.clear()
    outbox.flush(now=timezone.now() + timedelta(minutes=1))
    sent = [m for m in mail.outbox if m.subject.startswith("Update on your request")]
    assert len(sent) == 1 and sent[0].to == [case.requester_email]
    assert sent[0].attachments == [("fix.pdf", b"%PDF-1.4 fix", "application/pdf")]
    assert all("secret.txt" not in str(m.attachments) for m in mail.outbox)

    client.cookies[COOKIE] = portal_links.session_value(case.requester_email)
    page = client.get(reverse("portal:case", args=[case.pk])).content.decode()
    public = Attachment.objects.get(filename="fix.pdf")
    secret = Attachment.objects.get(filename="secret.txt")
    assert "fix.pdf" in page and "secret.txt" not in page and "Internal" not in page
    assert client.get(reverse("portal:attachment", args=[case.pk, public.pk])).status_code == 200
    assert client.get(reverse("portal:attachment", args=[case.pk, secret.pk])).status_code == 404


def test_the_download_follows_the_case_pages_visibility(client, agent, specialist, manager):
    case = taken(agent)
    workflow.case_note(case_id=case.pk, actor=agent, body="Log", files=[LOG])
    attachment = Attachment.objects.get()
    workflow.case_escalate(
        case_id=case.pk,
        actor=manager,
        handoff=workflow.Handoff(summary="s", steps_tried="t", knowledge_consulted="k", customer_impact="i"),
        to_level_code="L3",
        justification="Data loss",
    )
    url = reverse("case-attachment", args=[case.pk, attachment.pk])
    client.force_login(specialist)  # L2: an L3 case is out of sight
    assert client.get(reverse("case-detail", args=[case.pk])).status_code == 404
    assert client.get(url).status_code == 404


# -- canned replies -------------------------------------------------------------------------


def test_only_the_users_teams_and_everyones_active_replies_are_offered_and_inserted(client, agent):
    mine, other = TeamFactory(name="Network L1"), TeamFactory(name="Billing L1")
    mine.members.add(agent)
    everyone = CannedReply.objects.create(
        name="Thanks", body="Hello {requester_name}, about {case_ref}: {case_title}. {unknown} {agent_name}"
    )
    CannedReply.objects.create(name="Team reply", body="Ours", team=mine)
    theirs = CannedReply.objects.create(name="Their reply", body="Theirs", team=other)
    CannedReply.objects.create(name="Old reply", body="Old", is_active=False)
    case = taken(agent)
    client.force_login(agent)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Thanks (everyone)" in page and "Team reply (Network L1)" in page
    assert "Their reply" not in page and "Old reply" not in page

    insert = reverse("case-insert-reply", args=[case.pk])
    response = client.post(
        insert,
        {
            "public-update-version": case.version,
            "public-update-body": "Typed first.",
            "public-update-canned": everyone.pk,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    name = agent.get_full_name() or agent.username
    assert f"Typed first.\n\nHello Rita Requester, about [case #{case.pk}]: Printer on fire. {{unknown}} {name}" in page
    assert "Not done" not in page and not Note.objects.exists()

    refused = client.post(insert, {"public-update-version": case.version, "public-update-canned": theirs.pk})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert not Note.objects.exists()


def test_a_placeholder_value_is_text_not_markup(client, agent):
    CannedReply.objects.create(name="Hi", body="Dear {requester_name}")
    case = open_case(agent, requester_name="<b>Eve</b>")
    workflow.case_take(case_id=case.pk, actor=agent)
    client.force_login(agent)
    reply = CannedReply.objects.get()
    page = client.post(
        reverse("case-insert-reply", args=[case.pk]),
        {"public-update-version": fresh(case).version, "public-update-canned": reply.pk},
    ).content.decode()
    assert "Dear &lt;b&gt;Eve&lt;/b&gt;" in page and "Dear <b>Eve" not in page


def test_the_canned_choice_is_not_sent_to_the_workflow(client, agent):
    CannedReply.objects.create(name="Hi", body="Hello")
    case = taken(agent)
    client.force_login(agent)
    response = client.post(
        reverse("case-action", args=[case.pk, "public-update"]),
        {"public-update-version": case.version, "public-update-body": "Sent as typed.", "public-update-canned": ""},
    )
    assert response.status_code == 302
    assert Note.objects.get(kind=NoteKind.PUBLIC).body == "Sent as typed."


def test_auditors_cannot_insert(client, agent, auditor):
    case = taken(agent)
    client.force_login(auditor)
    assert client.post(reverse("case-insert-reply", args=[case.pk]), {}).status_code == 403

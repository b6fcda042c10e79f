"""E-mail in and out against real servers: Dovecot for IMAP (tests/mail_conftest.py) and
an aiosmtpd SMTP server the outbox sends to. Nothing of ours is mocked."""

from __future__ import annotations

import os
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from django.core.files.storage import default_storage

from escalations import workflow
from escalations.automation import outbox
from escalations.channels.mail.config import MailboxConfig
from escalations.channels.mail.fetch import fetch_all
from escalations.models import Attachment, Case, CaseStatus, InboundMessage, Mailbox, Note, NoteKind, Notification

from .factories import CategoryFactory, TeamFactory, fresh
from .mail_conftest import deliver, mail, unseen

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(imap_url, settings, tmp_path, agent):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MAILBOX_URLS = [imap_url]
    settings.DEFAULT_FROM_EMAIL = "desk@example.org"
    team = TeamFactory(name="Mail desk", email="mail-desk@example.org")
    team.members.add(agent)
    category = CategoryFactory(code="mail-support")
    mailbox = Mailbox.objects.create(
        name="support", source=MailboxConfig.from_url(imap_url).source, category=category, team=team
    )
    return SimpleNamespace(url=imap_url, mailbox=mailbox, category=category, team=team, agent=agent)


def fetch(expect_errors: bool = False):
    results = fetch_all()
    assert all(not r.error for r in results) or expect_errors, [str(r) for r in results]
    return results[0]


def only_case() -> Case:
    cases = list(Case.objects.all())
    assert len(cases) == 1, cases
    return cases[0]


def sent_to(smtp, address: str) -> list[EmailMessage]:
    outbox.flush()
    return [m for m in smtp.messages if m["To"] == address]


def test_a_new_message_opens_a_case_with_its_text_and_attachments_and_the_reply_threads(desk, smtp):
    msg = mail(subject="SUBJECT", body="It smokes.\nPlease come.")
    msg.add_attachment(b"%PDF-1.4 the report", maintype="application", subtype="pdf", filename="report.pdf")
    # A tab and a line break inside an encoded subject: the title gets neither.
    deliver(
        desk.url, msg.as_bytes().replace(b"Subject: SUBJECT", b"Subject: =?utf-8?q?Printer=09on_fire=0D=0A_again?=")
    )
    result = fetch()
    assert result.outcomes == {"opened": 1}
    case = only_case()
    assert (case.title, case.requester_name, case.requester_email) == (
        "Printer on fire again",
        "Rita",
        "rita@example.com",
    )
    assert (case.category, case.team, case.status) == (desk.category, desk.team, CaseStatus.NEW)
    note = case.notes.get()
    assert (note.kind, note.body, note.sender, note.author) == (
        NoteKind.CUSTOMER,
        "It smokes.\nPlease come.",
        "rita@example.com",
        None,
    )
    attachment = Attachment.objects.get()
    assert (attachment.case, attachment.note, attachment.filename, attachment.content_type) == (
        case,
        note,
        "report.pdf",
        "application/pdf",
    )
    with default_storage.open(attachment.file.name) as f:
        assert f.read() == b"%PDF-1.4 the report"
    assert attachment.history.count() == 1 and note.history.count() == 1
    row = InboundMessage.objects.get()
    assert (row.message_id, row.outcome, row.case, row.note) == ("<m1@example.com>", "opened", case, note)
    assert unseen(desk.url) == 0

    # The acknowledgement threads to the customer's message and carries the case token.
    [ack] = sent_to(smtp, "rita@example.com")
    notice = Notification.objects.get(case=case, event="opened")
    assert f"[case #{case.pk}]" in ack["Subject"]
    assert ack["Message-ID"] == outbox.notice_message_id(notice.pk)
    assert ack["Message-ID"].endswith("@example.org>") and f"notice.{notice.pk}." in ack["Message-ID"]
    assert ack["In-Reply-To"] == "<m1@example.com>" and ack["References"] == "<m1@example.com>"
    assert ack["X-Escalation-Notice"] == str(notice.pk)
    # Running again reads nothing new.
    assert fetch().outcomes == {}


def test_a_reply_with_the_case_token_adds_a_customer_note(desk):
    deliver(desk.url, mail())
    fetch()
    case = only_case()
    deliver(
        desk.url,
        mail(
            subject=f"Re: We received your request [case #{case.pk}]", body="More smoke.", message_id="<m2@example.com>"
        ),
    )
    assert fetch().outcomes == {"replied": 1}
    assert only_case() == case
    assert list(case.notes.values_list("kind", "body")) == [("customer", "It smokes."), ("customer", "More smoke.")]
    assert InboundMessage.objects.get(message_id="<m2@example.com>").reason.startswith("subject token")


def test_a_reply_by_in_reply_to_our_message_threads_without_a_token(desk, smtp):
    deliver(desk.url, mail())
    fetch()
    case = only_case()
    [ack] = sent_to(smtp, "rita@example.com")
    # A colleague answers (another address, no token): the reference to our mail is enough.
    deliver(
        desk.url,
        mail(
            subject="Re: something",
            body="I am Rita's colleague.",
            sender="bob@example.com",
            message_id="<m3@example.com>",
            In_Reply_To=ack["Message-ID"],
            References=f"<m1@example.com> {ack['Message-ID']}",
        ),
    )
    assert fetch().outcomes == {"replied": 1}
    assert only_case() == case
    assert case.notes.last().sender == "bob@example.com"
    # A forged reference (right shape, wrong signature) threads nothing.
    sig = ack["Message-ID"].split(".")[2].split("@")[0]
    forged = ack["Message-ID"].replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    deliver(
        desk.url, mail(subject="Re: x", message_id="<m4@example.com>", sender="eve@example.net", In_Reply_To=forged)
    )
    assert fetch().outcomes == {"opened": 1}


def test_the_subject_alone_never_threads(desk):
    deliver(desk.url, mail(subject="Printer on fire"))
    fetch()
    first = only_case()
    deliver(
        desk.url,
        mail(subject="Re: Printer on fire", message_id="<m5@example.com>"),
        # A token naming someone else's case, from a stranger, with no reference to our mail.
        mail(
            subject=f"Re: [case #{first.pk}] give me the data",
            sender="mallory@example.net",
            message_id="<m6@example.com>",
        ),
    )
    assert fetch().outcomes == {"opened": 2}
    assert Case.objects.count() == 3 and first.notes.count() == 1
    assert "not its requester" in InboundMessage.objects.get(message_id="<m6@example.com>").reason


def test_auto_replies_bounces_and_loops_never_open_cases(desk):
    deliver(
        desk.url,
        mail(message_id="<a1@x.example>", Auto_Submitted="auto-replied"),
        mail(message_id="<a2@x.example>", Precedence="bulk"),
        mail(message_id="<a3@x.example>", X_Autoreply="yes"),
        mail(message_id="<a4@x.example>", sender="MAILER-DAEMON@mx.example"),
        mail(message_id="<a5@x.example>", Return_Path="<>"),
        mail(message_id=outbox.notice_message_id(99)),
        mail(message_id="<a7@x.example>", sender="desk@example.org"),
    )
    assert fetch().outcomes == {"skipped": 7}
    assert Case.objects.count() == 0 and Note.objects.count() == 0
    reasons = dict(InboundMessage.objects.values_list("message_id", "reason"))
    assert "Auto-Submitted" in reasons["<a1@x.example>"] and "Precedence" in reasons["<a2@x.example>"]
    assert "loop" in reasons[outbox.notice_message_id(99)] and "loop" in reasons["<a7@x.example>"]
    assert unseen(desk.url) == 0


def test_the_same_message_id_twice_opens_one_case(desk):
    deliver(desk.url, mail(), mail(body="the same message, delivered twice"))
    assert fetch().outcomes == {"opened": 1, "duplicate": 1}
    assert Case.objects.count() == 1 and unseen(desk.url) == 0
    # Without a Message-ID the bytes decide: the same bytes twice are one message.
    same = mail(subject="No id", message_id=None).as_bytes()
    deliver(desk.url, same, same)
    assert fetch().outcomes == {"opened": 1, "duplicate": 1}
    assert InboundMessage.objects.filter(message_id__startswith="<sha256-").count() == 1


def test_malformed_mime_is_refused_clearly_and_never_read_again(desk):
    deliver(
        desk.url,
        b"From: rita@example.com\r\nSubject: broken\r\nMessage-ID: <bad@example.com>\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--qq\r\nno boundary ever\r\n',
    )
    assert fetch().outcomes == {"error": 1}
    row = InboundMessage.objects.get()
    assert row.outcome == "error" and "Malformed MIME" in row.reason and row.case is None
    assert Case.objects.count() == 0 and unseen(desk.url) == 0
    assert fetch().outcomes == {}


def test_a_30_mb_attachment_is_refused_and_nothing_is_written(desk, settings):
    big = mail(subject="Huge log", message_id="<huge@example.com>")
    big.add_attachment(b"x" * (30 * 1024 * 1024), maintype="application", subtype="zip", filename="log.zip")
    deliver(desk.url, big)
    assert fetch().outcomes == {"error": 1}
    row = InboundMessage.objects.get()
    assert "the limit is 25.0 MB" in row.reason and row.message_id == "<huge@example.com>"
    assert row.subject == "Huge log" and "rita@example.com" in row.from_address
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0 and unseen(desk.url) == 0


def test_an_attachment_over_the_limit_or_of_a_refused_type_refuses_the_message(desk, settings, tmp_path):
    settings.ATTACHMENT_MAX_BYTES = 100_000
    large = mail(message_id="<large@example.com>")
    large.add_attachment(b"y" * 200_000, maintype="image", subtype="png", filename="screen.png")
    exe = mail(message_id="<exe@example.com>")
    exe.add_attachment(b"MZ...", maintype="application", subtype="x-msdownload", filename="fix.exe")
    deliver(desk.url, large, exe)
    assert fetch().outcomes == {"error": 2}
    reasons = dict(InboundMessage.objects.values_list("message_id", "reason"))
    assert reasons["<large@example.com>"] == "The attachment 'screen.png' is 195 kB; the limit is 98 kB."
    assert "not accepted" in reasons["<exe@example.com>"]
    assert Case.objects.count() == 0 and Note.objects.count() == 0 and Attachment.objects.count() == 0


def test_a_reply_resumes_a_clock_paused_for_the_customer_and_tells_the_assignee(desk, smtp):
    deliver(desk.url, mail())
    fetch()
    case = only_case()
    workflow.case_take(case_id=case.pk, actor=desk.agent)
    workflow.case_pause(case_id=case.pk, actor=desk.agent, reason="Which printer?")
    assert fresh(case).status == CaseStatus.AWAITING_CUSTOMER
    deliver(desk.url, mail(subject=f"Re: [case #{case.pk}]", body="The one on floor 2.", message_id="<m7@example.com>"))
    assert fetch().outcomes == {"replied": 1}
    case = fresh(case)
    assert case.status == CaseStatus.IN_PROGRESS and case.paused_at is None and len(case.pauses) == 1
    latest = case.history.first()
    assert latest.history_change_reason == "Resumed: the requester answered (rita@example.com)"
    assert latest.history_user == workflow.system_actor() and latest.history_action == "requester-message"
    [notice] = sent_to(smtp, desk.agent.email)
    assert "The one on floor 2." in notice.get_content() and f"case #{case.pk}" in notice["Subject"]
    assert notice["X-Escalation-Notice"] and not notice["In-Reply-To"]


def test_without_an_assignee_the_team_is_told(desk, smtp):
    deliver(desk.url, mail())
    fetch()
    case = only_case()
    deliver(desk.url, mail(subject=f"[case #{case.pk}]", message_id="<m8@example.com>"))
    fetch()
    assert [m["Subject"] for m in sent_to(smtp, "mail-desk@example.org")] == [
        f"The requester wrote on case #{case.pk}: Printer on fire"
    ]


def test_a_reply_to_a_resolved_case_reopens_it_and_to_a_closed_case_opens_a_follow_up(desk, settings):
    deliver(desk.url, mail())
    fetch()
    case = only_case()
    workflow.case_take(case_id=case.pk, actor=desk.agent)
    workflow.case_resolve(case_id=case.pk, actor=desk.agent, summary="Replaced the fuser.")
    deliver(
        desk.url, mail(subject=f"Re: Resolved [case #{case.pk}]", body="Still smoking.", message_id="<r1@example.com>")
    )
    assert fetch().outcomes == {"reopened": 1}
    assert fresh(case).status == CaseStatus.IN_PROGRESS and fresh(case).reopen_count == 1
    workflow.case_resolve(case_id=case.pk, actor=desk.agent, summary="New printer.")
    workflow.case_close(case_id=case.pk, actor=workflow.system_actor())  # the requester confirmed
    deliver(
        desk.url,
        mail(subject=f"Re: Resolved [case #{case.pk}]", body="Thanks, and the scanner?", message_id="<r2@example.com>"),
    )
    assert fetch().outcomes == {"follow_up": 1}
    follow_up = Case.objects.exclude(pk=case.pk).get()
    assert follow_up.follow_up_of == case and follow_up.requester_email == "rita@example.com"
    assert follow_up.notes.get().body == "Thanks, and the scanner?"
    assert fresh(case).status == CaseStatus.CLOSED and case.notes.count() == 2
    assert f"follow-up case #{follow_up.pk}" in InboundMessage.objects.get(message_id="<r2@example.com>").reason


def test_an_unknown_mailbox_or_server_is_reported_not_raised(desk, settings, dovecot):
    settings.MAILBOX_URLS = [desk.url, f"imap://nobody:x@127.0.0.1:{dovecot.port}/INBOX"]
    deliver(desk.url, mail())
    results = fetch_all()
    assert results[0].outcomes == {"opened": 1}
    assert "no mailbox in the admin" in results[1].error
    Mailbox.objects.create(
        name="wrong password", source=f"nobody@127.0.0.1:{dovecot.port}/INBOX", category=desk.category
    )
    results = fetch_all()
    assert results[1].error and Mailbox.objects.get(name="wrong password").last_error


def test_the_minutely_schedule_runs_fetch_mail_through_django_q(desk):
    from django_q.models import Schedule
    from django_q.tasks import async_task

    schedule = Schedule.objects.get(name="escalations.fetch_mail")  # declared by migration 0017
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "escalations.automation.tasks.fetch_mail",
        "I",
        1,
    )
    deliver(desk.url, mail())
    async_task(schedule.func, sync=True)
    assert only_case().title == "Printer on fire" and unseen(desk.url) == 0


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_mailboxes_are_read_and_an_untrusted_certificate_is_refused(desk, dovecot, settings, security):
    if dovecot.cert is None:
        message = "openssl is missing: Dovecot runs without TLS"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the TLS tests, as it must run Dovecot
        pytest.skip(message)
    url = dovecot.tls_url(desk.url, security)
    assert url.startswith(f"imap+{security}://")
    settings.MAILBOX_URLS = [url]
    desk.mailbox.source = MailboxConfig.from_url(url).source
    desk.mailbox.save()
    deliver(desk.url, mail())
    [result] = fetch_all()  # the self-signed certificate is not trusted
    assert "CERTIFICATE_VERIFY_FAILED" in result.error and Case.objects.count() == 0 and unseen(desk.url) == 1
    settings.MAIL_CA_FILE = dovecot.cert
    assert fetch().outcomes == {"opened": 1}
    assert unseen(desk.url) == 0

"""The pure side of the mail channel: parsing, subject normalisation, what is skipped.
No database, no server."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from escalations.channels.mail.config import BadMailboxUrl, MailboxConfig
from escalations.channels.mail.html_text import html_to_text
from escalations.channels.mail.parse import MailRejected, Own, normalise_subject, parse, skip_reason

OWN = Own(frozenset({"desk@example.org"}), lambda mid: mid.startswith("<notice."))


def msg(body="Hello", **headers) -> EmailMessage:
    m = EmailMessage()
    m["From"] = headers.pop("From", "Rita Requester <rita@example.com>")
    m["Subject"] = headers.pop("Subject", "Printer on fire")
    m["Message-ID"] = headers.pop("Message_ID", "<a1@example.com>")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


def test_a_plain_message_gives_sender_subject_body_and_no_attachments():
    mail = parse(msg("It smokes.\r\nPlease help.").as_bytes())
    assert (mail.from_name, mail.from_address) == ("Rita Requester", "rita@example.com")
    assert mail.subject == "Printer on fire"
    assert mail.body == "It smokes.\nPlease help."
    assert mail.attachments == () and mail.message_id == "<a1@example.com>"


def test_subjects_lose_control_characters_and_line_breaks_and_fit_the_title():
    assert normalise_subject("Re:\tdisk\r\n  full\x00 now") == "Re: disk full now"
    long = normalise_subject("x" * 500)
    assert len(long) == 200 and long.endswith("…")
    raw = b"From: a@b.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_=0D=0A_aus?= Bonn\r\n\r\nhi\r\n"
    assert parse(raw).subject == "Grüße aus Bonn"


def test_html_only_mail_becomes_text_without_scripts():
    m = msg()
    m.set_content(
        "<html><head><style>p{}</style></head><body><p>Disk <b>full</b></p><script>x()</script>"
        "<ul><li>one</li><li>two</li></ul><a href='https://ex.example/k'>see</a></body></html>",
        subtype="html",
    )
    text = parse(m.as_bytes()).body
    assert "Disk full" in text and "- one" in text and "- two" in text
    assert "x()" not in text and "p{}" not in text and "see (https://ex.example/k)" in text


def test_plain_text_is_preferred_to_html_and_attachments_are_kept():
    m = msg("the plain text")
    m.add_alternative("<p>the html</p>", subtype="html")
    m.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="../../etc/report.pdf")
    inner = msg("forwarded", Message_ID="<inner@example.com>")
    m.add_attachment(inner)
    mail = parse(m.as_bytes())
    assert mail.body == "the plain text"
    assert [(f.filename, f.content_type) for f in mail.attachments] == [
        ("report.pdf", "application/pdf"),
        ("attachment-2.eml", "message/rfc822"),
    ]
    assert mail.attachments[0].data == b"%PDF-1.4 data"
    assert b"forwarded" in mail.attachments[1].data


def test_references_and_the_case_token():
    mail = parse(
        msg(
            Subject="Re: Update on your request [Case #42]",
            In_Reply_To="<b@x.example>",
            References="<a@x.example> <b@x.example>",
        ).as_bytes()
    )
    assert mail.references == ("<b@x.example>", "<a@x.example>")
    assert mail.case_token == 42
    assert parse(msg(Subject="case 42 again").as_bytes()).case_token is None


def test_a_missing_message_id_gets_one_from_the_bytes():
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\nhi\r\n"
    one, two = parse(raw), parse(raw + b"more\r\n")
    assert one.message_id.startswith("<sha256-") and one.message_id != two.message_id
    assert parse(raw).message_id == one.message_id


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", "empty"),
        (b"just some words without headers", "no headers"),
        (b"From: nobody\r\nSubject: x\r\n\r\nhi", "sender address"),
        (b"From: a@b.example\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here", "Malformed MIME"),
        (
            b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--qq\r\nnothing\r\n',
            "Malformed MIME",
        ),
        (
            b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\n'
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\nJVBERi0x!!!*\r\n--zz--\r\n',
            "base64",
        ),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(raw, words):
    with pytest.raises(MailRejected) as err:
        parse(raw)
    assert words in err.value.reason


@pytest.mark.parametrize(
    "headers, words",
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"Precedence": "bulk"}, "Precedence"),
        ({"Precedence": "auto_reply"}, "Precedence"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"X_Autorespond": "yes"}, "X-Autorespond"),
        ({"From": "Mail Delivery System <MAILER-DAEMON@mx.example>"}, "delivery report"),
        ({"Return_Path": "<>"}, "Return-Path"),
        ({"Message_ID": "<notice.7.abc@example.org>"}, "loop"),
        ({"From": "desk@example.org"}, "loop"),
        ({"X_Escalation_Notice": "12"}, "loop"),
    ],
)
def test_automatic_mail_and_our_own_is_skipped(headers, words):
    assert words in skip_reason(parse(msg(**headers).as_bytes()), OWN)


def test_auto_submitted_no_and_ordinary_mail_are_not_skipped():
    assert skip_reason(parse(msg(Auto_Submitted="no").as_bytes()), OWN) is None
    assert skip_reason(parse(msg(Precedence="first-class").as_bytes()), OWN) is None


def test_a_delivery_report_is_skipped():
    raw = (
        b"From: postmaster@mx.example\r\nSubject: Undelivered\r\nContent-Type: multipart/report; "
        b'report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.0.0\r\n--b--\r\n"
    )
    assert "report" in skip_reason(parse(raw), OWN)
    raw = raw.replace(b"postmaster@", b"relay@")
    assert "multipart/report" in skip_reason(parse(raw), OWN)


def test_html_to_text_keeps_paragraphs():
    assert html_to_text("<p>a</p><p>b<br>c</p>") == "a\n\nb\nc"


def test_mailbox_urls_are_read_without_showing_the_password():
    cfg = MailboxConfig.from_url("imap+ssl://desk%40example.org:p%40ss@mail.example/Support%20In")
    assert (cfg.security, cfg.host, cfg.port, cfg.username, cfg.password, cfg.folder) == (
        "ssl",
        "mail.example",
        993,
        "desk@example.org",
        "p@ss",
        "Support In",
    )
    assert cfg.source == "desk@example.org@mail.example:993/Support In"
    assert "p@ss" not in repr(cfg)
    assert MailboxConfig.from_url("imap://u:p@h").port == 143
    assert MailboxConfig.from_url("imap+starttls://u:p@h:1143/").security == "starttls"
    with pytest.raises(BadMailboxUrl):
        MailboxConfig.from_url("pop3://u:p@h")
    with pytest.raises(BadMailboxUrl):
        MailboxConfig.from_url("imap://h")

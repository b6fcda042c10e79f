"""Real mail servers for the mail tests: Debian's Dovecot (IMAP) started once per session
as a child process, and an aiosmtpd SMTP server in a thread that Django's SMTP backend
sends to. Under CI a missing Dovecot fails the run instead of skipping it."""

from __future__ import annotations

import os
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient

from escalations.channels.mail.config import MailboxConfig
from escalations.devtools.benchmarks import dovecot as dovecot_server


@pytest.fixture(scope="session")
def dovecot():
    if dovecot_server.binary() is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = dovecot_server.Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def imap_url(dovecot) -> str:
    """A fresh, empty mailbox on the session's Dovecot."""
    return dovecot.add_user()


def imap(url: str) -> IMAPClient:
    cfg = MailboxConfig.from_url(url)
    client = IMAPClient(cfg.host, port=cfg.port, ssl=False, timeout=30)
    client.login(cfg.username, cfg.password)
    client.select_folder(cfg.folder)
    return client


def deliver(url: str, *messages: bytes | EmailMessage) -> None:
    """Put messages into the mailbox as a mail server would (IMAP APPEND, unseen)."""
    client = imap(url)
    try:
        for msg in messages:
            client.append("INBOX", msg if isinstance(msg, bytes) else msg.as_bytes(), flags=())
    finally:
        client.logout()


def unseen(url: str) -> int:
    client = imap(url)
    try:
        return len(client.search(["UNSEEN"]))
    finally:
        client.logout()


def mail(
    subject: str = "Printer on fire",
    body: str = "It smokes.",
    sender: str = "Rita <rita@example.com>",
    message_id: str | None = "<m1@example.com>",
    **headers,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "desk@mail.test"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


class _Collector:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"


@pytest.fixture(scope="session")
def _smtp_server():
    from aiosmtpd.controller import Controller

    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=dovecot_server.free_port())
    controller.start()
    yield controller, collector
    controller.stop()


@pytest.fixture
def smtp(_smtp_server, settings):
    """A real SMTP server receiving what the outbox sends; ``.messages`` are the parsed mails."""
    controller, collector = _smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    with collector.lock:
        collector.messages.clear()
    return collector

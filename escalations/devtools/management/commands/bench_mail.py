"""E-mails taken in per second by fetch_mail's polling from a local Dovecot.

Starts a throwaway Dovecot (Debian's dovecot-imapd), appends N new requests (one in ten
with a small PDF) and times one poll of them: each opens a case with its first note and
attachments and queues the acknowledgement. Then it appends one reply per case (the
case token in the subject) and times the poll that threads them. Writes real cases into
the configured database: use a scratch database. Prints a table and one JSON line.
"""

from __future__ import annotations

import json
import tempfile
import time
from email.message import EmailMessage

from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from imapclient import IMAPClient

from escalations.channels.mail.config import MailboxConfig
from escalations.channels.mail.fetch import own_mail, poll
from escalations.devtools.benchmarks.dovecot import Dovecot, binary
from escalations.models import Category, InboundMessage, Mailbox


def _message(n: int, run: str, subject: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Requester {n} <requester{n}@bench.example>"
    msg["To"] = "desk@mail.test"
    msg["Subject"] = subject or f"Bench request {n}: the VPN drops every few minutes"
    msg["Message-ID"] = f"<bench-{run}-{n}-{'r' if subject else 'n'}@bench.example>"
    msg.set_content(f"Hello,\n\nrequest {n}: the VPN drops every few minutes since Monday.\n\nRegards")
    if n % 10 == 0 and not subject:
        msg.add_attachment(b"%PDF-1.4 " + b"x" * 20_000, maintype="application", subtype="pdf", filename="log.pdf")
    return msg.as_bytes()


class Command(BaseCommand):
    help = "E-mails processed per second by fetch_mail from a local Dovecot (writes cases: scratch database)."

    def add_arguments(self, parser):
        parser.add_argument("--mail", type=int, default=500, help="New requests (and as many replies).")

    def handle(self, *args, mail: int, **options):
        if binary() is None:
            raise CommandError("dovecot is not installed: apt-get install dovecot-imapd")
        with (
            Dovecot(users=1) as server,
            tempfile.TemporaryDirectory() as media,
            override_settings(MEDIA_ROOT=media, MAIL_FETCH_LIMIT=mail),
        ):
            url = server.add_user()
            config = MailboxConfig.from_url(url)
            run = str(int(time.time()))
            category, _ = Category.objects.get_or_create(code="bench-mail", defaults={"name": "Bench mail"})
            mailbox = Mailbox.objects.create(name=f"bench {run} {config.port}", source=config.source, category=category)
            own = own_mail([config])
            figures = {}
            self._append(config, [_message(n, run) for n in range(mail)])
            figures["new"] = self._timed(config, mailbox, own, mail, "opened")
            cases = dict(InboundMessage.objects.filter(mailbox=mailbox).values_list("message_id", "case_id"))
            replies = [
                _message(n, run, subject=f"Re: Bench request {n} [case #{cases[f'<bench-{run}-{n}-n@bench.example>']}]")
                for n in range(mail)
            ]
            self._append(config, replies)
            figures["replies"] = self._timed(config, mailbox, own, mail, "replied")
        total = figures["new"]["seconds"] + figures["replies"]["seconds"]
        figures["all"] = {"messages": 2 * mail, "seconds": round(total, 2), "per_second": round(2 * mail / total, 1)}
        self.stdout.write(f"{'phase':<10}{'messages':>10}{'seconds':>10}{'per second':>12}")
        for phase, f in figures.items():
            self.stdout.write(f"{phase:<10}{f['messages']:>10}{f['seconds']:>10}{f['per_second']:>12}")
        self.stdout.write(
            json.dumps(
                {
                    "mail_per_second": figures["all"]["per_second"],
                    "new_per_second": figures["new"]["per_second"],
                    "replies_per_second": figures["replies"]["per_second"],
                    "mail": mail,
                }
            )
        )

    def _append(self, config: MailboxConfig, messages: list[bytes]) -> None:
        client = IMAPClient(config.host, port=config.port, ssl=False)
        client.login(config.username, config.password)
        for raw in messages:
            client.append(config.folder, raw, flags=())
        client.logout()

    def _timed(self, config, mailbox, own, count: int, expected: str) -> dict:
        started = time.perf_counter()
        result = poll(config, mailbox, own, limit=count)
        seconds = time.perf_counter() - started
        if result.outcomes != {expected: count}:
            raise CommandError(f"expected {count} {expected}, got {dict(result.outcomes)}")
        return {"messages": count, "seconds": round(seconds, 2), "per_second": round(count / seconds, 1)}

"""Polling the mailboxes in ``MAILBOX_URLS`` over IMAP (imapclient).

Unseen messages are read with ``BODY.PEEK[]`` (reading does not mark them seen), each is
taken in in its own transaction (``intake.take_in``), and only after those transactions
have committed are they flagged ``\\Seen`` on the server, a chunk at a time. A crash
before the flag leaves them unseen: the next poll reads them again and finds their rows.
A message larger than ``MAIL_MESSAGE_MAX_BYTES`` is not downloaded: its headers are read
and it is recorded as refused.
"""

from __future__ import annotations

import ssl
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.imapclient import SEEN

from escalations.automation import outbox
from escalations.channels.mail.config import BadMailboxUrl, MailboxConfig, configured
from escalations.channels.mail.intake import identity, record, take_in
from escalations.channels.mail.parse import Own
from escalations.models import InboundOutcome, Mailbox

CHUNK = 50  # messages per FETCH and per STORE
FETCH_BYTES = 16 * 1024 * 1024  # at most this much message text per FETCH


@dataclass
class PollResult:
    mailbox: str
    outcomes: Counter = field(default_factory=Counter)
    error: str = ""

    @property
    def read(self) -> int:
        return sum(self.outcomes.values())

    def __str__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing new"
        return f"{self.mailbox}: {counts}" + (f"; ERROR {self.error}" if self.error else "")


def own_mail(configs: list[MailboxConfig]) -> Own:
    addresses = {settings.DEFAULT_FROM_EMAIL.lower(), settings.SERVER_EMAIL.lower()}
    addresses |= {c.username.lower() for c in configs if "@" in c.username}
    return Own(frozenset(addresses), lambda mid: outbox.notice_of_message_id(mid) is not None)


def connect(config: MailboxConfig) -> IMAPClient:
    timeout = settings.MAIL_TIMEOUT_SECONDS
    context = ssl.create_default_context()
    if settings.MAIL_CA_FILE:  # e.g. a company CA, in addition to the system's
        context.load_verify_locations(cafile=settings.MAIL_CA_FILE)
    if config.security == "ssl":
        client = IMAPClient(config.host, port=config.port, ssl=True, ssl_context=context, timeout=timeout)
    else:
        client = IMAPClient(config.host, port=config.port, ssl=False, timeout=timeout)
        if config.security == "starttls":
            client.starttls(context)
    client.login(config.username, config.password)
    return client


def _batches(uids: list[int], sizes: dict[int, int]):
    """Groups of UIDs whose messages together stay under ``FETCH_BYTES`` (one when larger)."""
    batch, total = [], 0
    for uid in uids:
        if batch and total + sizes[uid] > FETCH_BYTES:
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


def _take_chunk(client: IMAPClient, mailbox: Mailbox, chunk: list[int], own: Own, result: PollResult) -> list[int]:
    """Take in one chunk; the UIDs whose outcome is committed (to be flagged seen)."""
    limit = settings.MAIL_MESSAGE_MAX_BYTES
    sizes = {uid: data[b"RFC822.SIZE"] for uid, data in client.fetch(chunk, ["RFC822.SIZE"]).items()}
    done = []
    big = [uid for uid in chunk if sizes.get(uid, 0) > limit]
    if big:
        for uid, data in client.fetch(big, ["BODY.PEEK[HEADER]"]).items():
            reason = f"The message is {sizes[uid] / 1024 / 1024:.1f} MB; the limit is {limit / 1024 / 1024:.1f} MB."
            head = data[b"BODY[HEADER]"]
            outcome = record(
                mailbox, identity(head), InboundOutcome.ERROR, reason, uid=uid, raw_headers=head, size=sizes[uid]
            )
            result.outcomes[outcome] += 1
            done.append(uid)
    small = [uid for uid in chunk if uid in sizes and uid not in big]
    for batch in _batches(small, sizes):
        messages = client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            if uid not in messages:
                continue  # expunged meanwhile
            outcome = take_in(mailbox, messages[uid][b"BODY[]"], own, uid=uid)
            if outcome is None:
                result.outcomes["retry later"] += 1
                continue
            result.outcomes[outcome] += 1
            done.append(uid)
    return done


def poll(config: MailboxConfig, mailbox: Mailbox, own: Own, limit: int | None = None) -> PollResult:
    """Read a mailbox's unseen messages (at most ``limit``, oldest first)."""
    result = PollResult(mailbox.name)
    client = connect(config)
    try:
        client.select_folder(config.folder)
        uids = sorted(client.search(["UNSEEN", "NOT", "DELETED"]))[: limit or settings.MAIL_FETCH_LIMIT]
        for start in range(0, len(uids), CHUNK):
            done = _take_chunk(client, mailbox, uids[start : start + CHUNK], own, result)
            if done:
                client.add_flags(done, [SEEN])  # only now: their transactions have committed
    finally:
        try:
            client.logout()
        except Exception:  # the connection is already gone; the messages stay unseen
            pass
    return result


def fetch_all(urls: list[str] | None = None, limit: int | None = None) -> list[PollResult]:
    """Poll every configured mailbox; one failing mailbox does not stop the others."""
    results = []
    try:
        configs = configured(urls)
    except BadMailboxUrl as exc:
        return [PollResult("MAILBOX_URLS", error=str(exc))]
    own = own_mail(configs)
    boxes = {m.source: m for m in Mailbox.objects.select_related("category", "team")}
    for config in configs:
        mailbox = boxes.get(config.source)
        if mailbox is None:
            results.append(
                PollResult(
                    config.source,
                    error="no mailbox in the admin has this source: add one (Mailboxes) to give it a category and team",
                )
            )
            continue
        if not mailbox.is_active:
            results.append(PollResult(mailbox.name, error="switched off in the admin"))
            continue
        try:
            result = poll(config, mailbox, own, limit)
        except (OSError, IMAPClient.Error, IMAPClient.AbortError) as exc:  # ssl errors are OSErrors
            result = PollResult(mailbox.name, error=f"{type(exc).__name__}: {exc}")
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=result.error[:2000])
        results.append(result)
    return results

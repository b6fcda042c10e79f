"""Sending the outbox: each due row is claimed with SKIP LOCKED, sent through Django's
e-mail backend (or POSTed to its webhook) and marked sent in its own transaction, so a
worker killed mid-flush can have at most the one notice in flight delivered again (with
the same Message-ID); failures retry with backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from escalations.core.text import one_line
from escalations.models import Attachment, InboundMessage, NoteKind, Notification, NotificationStatus, TeamWebhook
from escalations.workflow.notices import case_token

MAX_ATTEMPTS = 5
log = logging.getLogger(__name__)


def flush(now: datetime | None = None, limit: int = 200) -> int:
    """Send pending rows that are due. Safe with several workers: each row is claimed with
    SKIP LOCKED and marked sent in the transaction that sent it, one row per transaction,
    so what a crash undoes is never more than the one send in flight."""
    now = now or timezone.now()
    sent, after = 0, 0
    while True:
        due = Notification.objects.sendable(now).filter(pk__gt=after).order_by("pk")
        due = list(due.values_list("pk", flat=True)[:limit])
        for pk in due:
            after = pk
            with transaction.atomic():
                row = Notification.objects.sendable(now).select_for_update(skip_locked=True).filter(pk=pk).first()
                if row is not None:  # None: another worker holds it, or sent it since
                    sent += _deliver(row, now)
        if len(due) < limit:
            return sent


# Every message names its outbox row, so a delivery can be traced (and deduplicated) downstream.
NOTICE_HEADER = "X-Escalation-Notice"


def message_id_domain() -> str:
    return settings.MAIL_MESSAGE_ID_DOMAIN or settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


def _signature(pk: int) -> str:
    key = (getattr(settings, "AUDIT_SECRET", "") or settings.SECRET_KEY).encode()
    return hmac.new(key, f"notice:{pk}".encode(), hashlib.sha256).hexdigest()[:12]


def notice_message_id(pk: int) -> str:
    """Our Message-ID for an outbox row: names the row and carries a keyed signature, so a
    reply's In-Reply-To proves the sender received our mail (a row number alone is guessable)."""
    return f"<notice.{pk}.{_signature(pk)}@{message_id_domain()}>"


_NOTICE_ID = re.compile(r"^<notice\.(\d{1,18})\.([0-9a-f]{12})@([^<>@\s]+)>$")


def notice_of_message_id(message_id: str) -> int | None:
    """The outbox row one of our Message-IDs names, or None when it is not ours."""
    match = _NOTICE_ID.match(message_id or "")
    if not match or match.group(3).lower() != message_id_domain().lower():
        return None
    pk = int(match.group(1))
    return pk if hmac.compare_digest(match.group(2), _signature(pk)) else None


def _headers(row: Notification) -> tuple[str, dict[str, str]]:
    """Subject and headers: every notice names its row; one to the requester also carries
    the case token and threads to the e-mails the requester sent on this case."""
    headers = {NOTICE_HEADER: str(row.pk), "Message-ID": notice_message_id(row.pk)}
    subject = row.subject
    if row.to_requester and row.case_id:
        token = case_token(row.case_id)
        if token.lower() not in subject.lower():
            subject = f"{subject} {token}"
        theirs = list(
            InboundMessage.objects.filter(case_id=row.case_id, from_address__iexact=row.recipient)
            .exclude(message_id__startswith="<sha256-")
            .order_by("received_at", "pk")
            .values_list("message_id", flat=True)
        )
        if theirs:
            headers["In-Reply-To"] = theirs[-1]
            headers["References"] = " ".join(dict.fromkeys([theirs[0], theirs[-1]]))
    return subject, headers


SIGNATURE_HEADER = "X-Escalation-Signature"


def webhook_body(row: Notification) -> bytes:
    """Slack- and Teams-compatible: both show ``text``; the other keys are for other receivers."""
    return json.dumps(
        {
            "text": f"*{row.subject}*\n{row.body}",
            "event": row.event,
            "case": row.case_id,
            "subject": row.subject,
            "notice": row.pk,
        }
    ).encode()


def _post(row: Notification) -> None:
    """POST the row to its webhook, signed (HMAC-SHA256 of the body); a non-2xx answer raises."""
    hook = TeamWebhook.objects.filter(pk=row.webhook_id).first()
    if hook is None or not hook.is_active:
        raise RuntimeError("The webhook was removed or switched off.")
    body = webhook_body(row)
    headers = {"Content-Type": "application/json", NOTICE_HEADER: str(row.pk), "User-Agent": "escalation-desk"}
    if hook.secret:
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read(1024)


def public_attachments(row: Notification) -> list[Attachment]:
    """The files that go with a notice: those of a public update, to the requester only
    (an internal note's files never leave the desk)."""
    if not (row.note_id and row.to_requester):
        return []
    return list(Attachment.objects.filter(note_id=row.note_id, note__kind=NoteKind.PUBLIC).order_by("pk"))


def _build(row: Notification) -> EmailMessage:
    """The message for a row, fully built (headers encoded), so a notice that can never be
    sent (a line break in a header, a malformed address) is known before any transport."""
    subject, headers = _headers(row)
    message = EmailMessage(one_line(subject), row.body, settings.DEFAULT_FROM_EMAIL, [row.recipient], headers=headers)
    for attachment in public_attachments(row):
        with attachment.file.open("rb") as handle:
            message.attach(attachment.filename, handle.read(), attachment.content_type)
    message.message()  # raises BadHeaderError / ValueError on what no retry can fix
    return message


def _deliver(row: Notification, now: datetime) -> int:
    row.attempts += 1
    try:
        message = None if row.webhook_id else _build(row)
    except Exception as exc:  # cannot be built: fail loudly, once; the other notices go on
        row.status = NotificationStatus.FAILED
        row.last_error = f"cannot be built, not retried: {type(exc).__name__}: {exc}"[:2000]
        row.save(update_fields=["attempts", "last_error", "status"])
        log.error("Notice %s cannot be built and is marked failed: %s", row.pk, row.last_error)
        return 0
    try:
        if row.webhook_id:
            _post(row)
        else:
            message.send()
    except Exception as exc:  # any transport failure: keep the row, retry with backoff
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = NotificationStatus.FAILED
        else:
            row.not_before = now + timedelta(minutes=2**row.attempts)
        row.save(update_fields=["attempts", "last_error", "status", "not_before"])
        return 0
    row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
    row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return 1

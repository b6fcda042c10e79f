"""Sending the outbox: due rows are claimed with SKIP LOCKED, sent through Django's
e-mail backend, and marked sent in the same transaction; failures retry with backoff."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from escalations.models import Notification, NotificationStatus

MAX_ATTEMPTS = 5


def flush(now: datetime | None = None, limit: int = 200) -> int:
    """Send pending rows that are due. Safe with several workers: rows are claimed
    with SKIP LOCKED and marked sent in the same transaction as the send."""
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Notification.objects.sendable(now)
                .select_for_update(skip_locked=True)
                .order_by("not_before", "pk")[:limit]
            )
            if not batch:
                return sent
            for row in batch:
                sent += _deliver(row, now)
        if len(batch) < limit:
            return sent


# Every message names its outbox row, so a delivery can be traced (and deduplicated) downstream.
NOTICE_HEADER = "X-Escalation-Notice"


def _deliver(row: Notification, now: datetime) -> int:
    row.attempts += 1
    try:
        EmailMessage(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.recipient],
                     headers={NOTICE_HEADER: str(row.pk)}).send()
    except Exception as exc:  # any transport failure: keep the row, retry with backoff
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = NotificationStatus.FAILED
        else:
            row.not_before = now + timedelta(minutes=2 ** row.attempts)
        row.save(update_fields=["attempts", "last_error", "status", "not_before"])
        return 0
    row.status, row.sent_at, row.last_error = NotificationStatus.SENT, now, ""
    row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return 1

"""The outbox: rows written in the caller's transaction, sent after commit by a task.

A row's ``dedupe_key`` is unique, so the same notice can never be queued twice, and
delivery claims a row with a lock so the same row is never sent twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from . import clock
from .models import Case, Level, Notification, NotificationStatus

MAX_ATTEMPTS = 5
RECIPIENT_KINDS = ("assignee", "team", "team_manager", "next_level", "watchers", "requester")


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    body: str
    urgent: bool = True


def recipients_for(case: Case, kinds: list[str] | tuple[str, ...], cache: dict | None = None) -> list[str]:
    """E-mail addresses for the named recipient kinds, in a stable order, without repeats.

    ``cache`` keeps team and level addresses across many cases (the sweep)."""
    emails: list[str] = []
    cache = {} if cache is None else cache

    def add(*addresses: str) -> None:
        emails.extend(a for a in addresses if a and a not in emails)

    for kind in kinds:
        if kind == "assignee" and case.assignee_id:
            add(case.assignee.email)
        elif kind == "team" and case.team_id:
            if ("team", case.team_id) not in cache:
                cache["team", case.team_id] = _team_addresses(case.team)
            add(*cache["team", case.team_id])
        elif kind == "team_manager" and case.team_id and case.team.manager_id:
            add(case.team.manager.email)
        elif kind == "next_level":
            nxt = case.level.next_level()
            if nxt is not None:
                if ("level", nxt.pk) not in cache:
                    cache["level", nxt.pk] = level_addresses(nxt)
                add(*cache["level", nxt.pk])
        elif kind == "watchers":
            add(*case.watchers.values_list("email", flat=True))
        elif kind == "requester":
            add(case.requester_email)
    return emails


def _team_addresses(team) -> list[str]:
    return [team.email] if team.email else [e for e in team.members.values_list("email", flat=True) if e]


def level_addresses(level: Level) -> list[str]:
    out: list[str] = []
    for team in level.teams.prefetch_related("members"):
        out.extend(a for a in _team_addresses(team) if a not in out)
    return out





def build(case: Case | None, message: Message, recipients: list[str], key: str,
          now: datetime | None = None, not_before: datetime | None = None) -> list[Notification]:
    """Unsaved outbox rows; a non-urgent notice waits for the case calendar's working hours."""
    now = now or timezone.now()
    if not_before is None and not message.urgent and case is not None and case.policy_snapshot:
        cal = clock.calendar_of(case)
        not_before = now if cal.is_working(now) else cal.next_opening(now)
    return [
        Notification(
            case=case, event=message.event, recipient=r, subject=message.subject[:200],
            body=message.body, urgent=message.urgent, dedupe_key=f"{key}:{r}"[:200],
            created_at=now, not_before=not_before or now,
        )
        for r in recipients
    ]


def queue(case: Case | None, message: Message, recipients: list[str], key: str,
          not_before: datetime | None = None) -> list[Notification]:
    """Write outbox rows now; ask for delivery once the surrounding transaction commits."""
    rows = build(case, message, recipients, key, not_before=not_before)
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.urgent for row in rows):  # non-urgent notices go with the next scheduled flush
        request_delivery()
    return rows


def request_delivery() -> None:
    transaction.on_commit(_enqueue_flush)


def _enqueue_flush() -> None:
    from django_q.tasks import async_task

    async_task("escalations.tasks.flush_outbox", task_name="flush_outbox", q_options={"group": "outbox"})


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

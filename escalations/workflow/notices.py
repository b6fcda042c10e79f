"""Notices: who is told, in which words, written to the outbox in the caller's transaction.

A row's ``dedupe_key`` is unique, so the same notice can never be queued twice; the
rows are sent after commit by ``automation.outbox``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.core import config_cache
from escalations.domain import clock
from escalations.models import Case, Level, Notification, TeamWebhook


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
                cache["team", case.team_id] = team_addresses(case.team)
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


def team_addresses(team) -> list[str]:
    return [team.email] if team.email else [e for e in team.members.values_list("email", flat=True) if e]


def level_addresses(level: Level) -> list[str]:
    out: list[str] = []
    for team in level.teams.prefetch_related("members"):
        out.extend(a for a in team_addresses(team) if a not in out)
    return out


def build(
    case: Case | None,
    message: Message,
    recipients: list[str],
    key: str,
    now: datetime | None = None,
    not_before: datetime | None = None,
) -> list[Notification]:
    """Unsaved outbox rows; a non-urgent notice waits for the case calendar's working hours."""
    now = now or timezone.now()
    if not_before is None and not message.urgent and case is not None and case.policy_snapshot:
        cal = clock.calendar_of(case)
        not_before = now if cal.is_working(now) else cal.next_opening(now)
    requester = case.requester_email.lower() if case is not None and case.requester_email else None
    rows = [
        Notification(
            case=case,
            event=message.event,
            recipient=r,
            subject=message.subject[:200],
            body=message.body,
            urgent=message.urgent,
            dedupe_key=f"{key}:{r}"[:200],
            created_at=now,
            not_before=not_before or now,
            to_requester=r.lower() == requester,
        )
        for r in recipients
    ]
    if urgent_for_webhooks(case, message):
        rows += [
            Notification(
                case=case,
                event=message.event,
                recipient=hook.name[:254],
                webhook=hook,
                subject=message.subject[:200],
                body=message.body,
                urgent=True,
                dedupe_key=f"{key}:webhook:{hook.pk}"[:200],
                created_at=now,
                not_before=now,
            )
            for hook in team_webhooks(case.team_id)
        ]
    return rows


# Events that are urgent whatever the case's priority (the major-incident feature names its own).
WEBHOOK_EVENTS = ("major_incident", "breach")


def urgent_for_webhooks(case: Case | None, message: Message) -> bool:
    """Urgent notices also go to the team's webhooks (chat): a P1, a breached SLA, a major incident."""
    if case is None or not message.urgent or not case.team_id:
        return False
    breached = case.response_breached_at is not None or case.resolution_breached_at is not None
    return case.priority == 1 or breached or any(word in message.event for word in WEBHOOK_EVENTS)


def team_webhooks(team_id: int) -> list[TeamWebhook]:
    return config_cache.cached(
        ("team_webhooks", team_id), lambda: list(TeamWebhook.objects.filter(team_id=team_id, is_active=True))
    )


def queue(
    case: Case | None, message: Message, recipients: list[str], key: str, not_before: datetime | None = None
) -> list[Notification]:
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

    async_task("escalations.automation.tasks.flush_outbox", task_name="flush_outbox", q_options={"group": "outbox"})


def case_token(case_id: int) -> str:
    """The token in every subject to the requester; a reply carrying it finds its case."""
    return f"[case #{case_id}]"

"""Notices: who is told, in which words, written to the outbox in the caller's transaction.

A row's ``dedupe_key`` is unique, so the same notice can never be queued twice; the
rows are sent after commit by ``automation.outbox``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from escalations.core import config_cache
from escalations.domain import clock
from escalations.models import Case, Escalation, Level, Note, Notification, TeamWebhook


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    body: str
    urgent: bool = True
    note: Note | None = None  # a public update: its files go out with the e-mail to the requester


def recipients_for(
    case: Case, kinds: list[str] | tuple[str, ...], cache: dict | None = None, moved: Escalation | None = None
) -> list[str]:
    """E-mail addresses for the named recipient kinds, in a stable order, without repeats.

    ``moved``: the handoff that just moved the case (the case is already at its new level).
    Then "next_level" is the level it moved to, never the one above that (an L1 -> L2
    escalation must not mail L3), and "assignee" is the person who held it (the move left
    it unassigned). ``cache`` keeps team and level addresses across many cases (the sweep)."""
    emails: list[str] = []
    cache = {} if cache is None else cache

    def add(*addresses: str) -> None:
        emails.extend(a for a in addresses if a and a not in emails)

    for kind in kinds:
        if kind == "assignee":
            holder = case.assignee if case.assignee_id else (moved.from_assignee if moved is not None else None)
            if holder is not None:
                add(holder.email)
        elif kind == "team" and case.team_id:
            if ("team", case.team_id) not in cache:
                cache["team", case.team_id] = team_addresses(case.team)
            add(*cache["team", case.team_id])
        elif kind == "team_manager" and case.team_id and case.team.manager_id:
            add(case.team.manager.email)
        elif kind == "next_level":
            target = moved.to_level if moved is not None else case.level.next_level()
            if target is not None:
                add(*_cached_level(target, cache))
        elif kind == "watchers":
            add(*case.watchers.values_list("email", flat=True))
        elif kind == "requester":
            add(case.requester_email)
    return emails


def _cached_level(level: Level, cache: dict) -> list[str]:
    if ("level", level.pk) not in cache:
        cache["level", level.pk] = level_addresses(level)
    return cache["level", level.pk]


def team_addresses(team) -> list[str]:
    return [team.email] if team.email else [e for e in team.members.values_list("email", flat=True) if e]


def level_addresses(level: Level) -> list[str]:
    out: list[str] = []
    for team in level.teams.prefetch_related("members"):
        out.extend(a for a in team_addresses(team) if a not in out)
    return out


def level_managers(level: Level) -> list[str]:
    """The managers of the level's teams (who answers for the level when no team address does)."""
    emails = level.teams.filter(manager__isnull=False).values_list("manager__email", flat=True).order_by("name")
    return list(dict.fromkeys(e for e in emails if e))


def fallback(case: Case, level: Level, cache: dict | None = None) -> tuple[list[str], str]:
    """Who is told when the named recipients resolve to nobody: the level's team addresses,
    else the case team's manager, else the managers of the level's teams. Says who, in words,
    so a firing never records "notified nobody" without the reason."""
    emails = _cached_level(level, {} if cache is None else cache)
    if emails:
        return list(emails), f"the {level.code} teams"
    if case.team_id and case.team.manager_id and case.team.manager.email:
        return [case.team.manager.email], f"the manager of {case.team.name}"
    managers = level_managers(level)
    if managers:
        return managers, f"the managers of the {level.code} teams"
    return [], f"nobody: {level.code} has no team address and no team manager"


def escalation_recipients(case: Case, esc: Escalation, cache: dict | None = None) -> tuple[list[str], str]:
    """Who hears of a handoff: the receiving team, else (``fallback``) the level the case moved
    to. The one rule for manual and automatic escalations alike."""
    emails = recipients_for(case, ["team"], cache=cache)
    if emails:
        return emails, f"team {case.team.name}"
    return fallback(case, esc.to_level, cache)


_URL_MARK = 918273645546372819  # stands for the case id in a reversed case link


@functools.lru_cache(maxsize=16)
def _case_path(prefix: str, urlconf) -> str:
    return reverse("case-detail", args=[_URL_MARK], urlconf=urlconf)


def case_url(case: Case) -> str:
    """The absolute link to the case page that every staff notice carries (``SITE_URL``).
    The route is reversed once per script prefix and URL configuration (the sweep links
    thousands of cases a batch)."""
    path = _case_path(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return f"{settings.SITE_URL.rstrip('/')}{path.replace(str(_URL_MARK), str(case.pk))}"


def handoff_text(esc: Escalation) -> str:
    """The full handoff, as the receiving level reads it in the e-mail."""
    return (
        f"Summary: {esc.summary or '-'}\n"
        f"Steps tried: {esc.steps_tried or '-'}\n"
        f"Knowledge consulted: {esc.knowledge_consulted or '-'}\n"
        f"Customer impact: {esc.customer_impact or '-'}\n"
        f"Justification: {esc.justification or '-'}"
    )


def build(
    case: Case | None,
    message: Message,
    recipients: list[str],
    key: str,
    now: datetime | None = None,
    not_before: datetime | None = None,
    make=Notification,
) -> list[Notification]:
    """Unsaved outbox rows (built by ``make``: the model, or the sweep's plain rows); a
    non-urgent notice waits for the case calendar's working hours."""
    now = now or timezone.now()
    if not_before is None and not message.urgent and case is not None and case.policy_snapshot:
        cal = clock.calendar_of(case)
        not_before = now if cal.is_working(now) else cal.next_opening(now)
    requester = case.requester_email.lower() if case is not None and case.requester_email else None
    rows = [
        make(
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
            note=message.note,
        )
        for r in recipients
    ]
    if urgent_for_webhooks(case, message):
        rows += [
            make(
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
    """One flush per transaction: a batch that queues many urgent notices in one
    transaction (the sweep, the demo builder) asks for delivery once."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(hook[1] is _enqueue_flush for hook in conn.run_on_commit):
        return
    transaction.on_commit(_enqueue_flush)


def _enqueue_flush() -> None:
    from django_q.tasks import async_task

    async_task("escalations.automation.tasks.flush_outbox", task_name="flush_outbox", q_options={"group": "outbox"})


def case_token(case_id: int) -> str:
    """The token in every subject to the requester; a reply carrying it finds its case."""
    return f"[case #{case_id}]"

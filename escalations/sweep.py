"""The scheduled sweep: find due cases, fire their rules, write the results in bulk.

Only due rows are read (a partial index on ``next_check_at``). Rows are claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` in batches, so any number of workers may sweep at
once and each due action happens once. Each batch is one transaction: a crash rolls the
whole batch back and the next sweep does it again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import clock, notifications, triggers
from .bulk import bulk_history, bulk_insert, bulk_update_rows
from .models import Case, Level, Notification, SweepHeartbeat, Team

CASE_FIELDS = [
    "status", "level", "team", "assignee", "priority", "escalation_count", "highest_level",
    "level_entered_at", "responded_at", "reassignment_count", "response_due_at", "resolution_due_at",
    "response_breached_at", "resolution_breached_at", "routing_note", "next_check_at", "version",
]
TRACKED = [f for f in CASE_FIELDS if f != "next_check_at"]
RECHECK = timedelta(minutes=1)


@dataclass
class SweepResult:
    examined: int = 0
    changed: int = 0
    actions: int = 0
    escalations: int = 0
    notifications: int = 0
    duration_ms: float = 0.0


def _state(case: Case) -> tuple:
    return tuple(getattr(case, f + "_id" if f in ("level", "team", "assignee", "highest_level") else f)
                 for f in TRACKED)


def _load(ids: list[int]) -> list[Case]:
    """The claimed cases, sharing one object per level and team instead of a copy per row."""
    cases = list(Case.objects.filter(pk__in=ids).select_related("assignee"))
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams = Team.objects.in_bulk({c.team_id for c in cases if c.team_id})
    for case in cases:
        case.level, case.highest_level = levels[case.level_id], levels[case.highest_level_id]
        case.team = teams.get(case.team_id)
    return cases


def sweep_batch(now: datetime, batch_size: int, rules: list) -> SweepResult | None:
    """Claim up to ``batch_size`` due cases and process them in one transaction."""
    out = SweepResult()
    with transaction.atomic():
        ids = list(
            Case.objects.due(now).select_for_update(skip_locked=True)
            .order_by("next_check_at").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return None
        cases = _load(ids)
        firings = triggers.firings_at_level(cases)
        fx = triggers.Effects(now=now)
        changed: list[Case] = []
        for case in cases:
            before, level_before, priority_before = _state(case), case.level_id, case.priority
            breaches = clock.mark_breaches(case, now)
            done = triggers.evaluate(case, rules, firings.setdefault(case.pk, {}), fx)
            if (case.level_id, case.priority) != (level_before, priority_before):
                clock.recompute_due(case)
            level_firings = firings[case.pk] if case.level_id == level_before else {}
            case.next_check_at = triggers.next_check_at(case, now, rules, level_firings)
            if case.next_check_at is not None and case.next_check_at <= now:
                # Progress guard: something claims to be due but did not fire (e.g. an
                # "and" condition that does not hold); look again in a minute, not now.
                case.next_check_at = now + RECHECK
            if _state(case) != before:
                case.version += 1
                case._change_reason = "; ".join(
                    done + [f"{b} target breached" for b in breaches]) or "Clock updated"
                case._history_user = None
                changed.append(case)
            out.actions += len(done)
        bulk_update_rows(cases, CASE_FIELDS)
        bulk_history(changed, "~", now)
        bulk_insert(fx.escalations)
        for esc in fx.escalations:
            esc._change_reason = f"Handoff {esc.from_level.code} -> {esc.to_level.code} by {esc.reason}"
        bulk_history(fx.escalations, "+", now)
        bulk_insert(fx.new_firings)
        bulk_update_rows(fx.repeat_firings, ["fired_at", "times", "reason"])
        if fx.notifications:
            Notification.objects.bulk_create(fx.notifications, batch_size=1000, ignore_conflicts=True)
            notifications.request_delivery()
        out.examined, out.changed = len(cases), len(changed)
        out.escalations, out.notifications = len(fx.escalations), len(fx.notifications)
    return out


def run_sweep(now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None,
              heartbeat: str = "sweep") -> SweepResult:
    """Sweep until nothing is due at ``now`` (or ``max_batches`` ran); record a heartbeat."""
    started = time.perf_counter()
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCALATIONS["SWEEP_BATCH_SIZE"]
    rules = triggers.active_rules()
    total = SweepResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        result = sweep_batch(now, batch_size, rules)
        if result is None:
            break
        batches += 1
        for f in ("examined", "changed", "actions", "escalations", "notifications"):
            setattr(total, f, getattr(total, f) + getattr(result, f))
    total.duration_ms = (time.perf_counter() - started) * 1000
    if heartbeat:
        SweepHeartbeat.objects.update_or_create(
            name=heartbeat,
            defaults={"last_run_at": timezone.now(), "examined": total.examined, "actions": total.actions,
                      "duration_ms": total.duration_ms},
        )
    return total


def sweep_lag(now: datetime | None = None) -> tuple[SweepHeartbeat | None, float | None]:
    """The last heartbeat and how many minutes ago it was."""
    beat = SweepHeartbeat.objects.order_by("-last_run_at").first()
    if beat is None:
        return None, None
    return beat, ((now or timezone.now()) - beat.last_run_at).total_seconds() / 60

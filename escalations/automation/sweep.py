"""The scheduled sweep: claim due cases in batches, hand each batch to the workflow.

Only due rows are read (a partial index on ``next_check_at``). Rows are claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` in batches, so any number of workers may sweep at
once and each due action happens once; ``SWEEPERS`` of them start together
(``run_sweepers``, or the scheduled task starting that many tasks). Each batch is one
transaction: a crash rolls the whole batch back and the next sweep does it again. What
the rules do to a batch is ``workflow.automation.apply_loaded`` (after the fast path's
one-statement claim and load, ``workflow.sweep_fast``); this module only claims, loops
and records a heartbeat.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from escalations.domain import rules
from escalations.models import Case, SweepHeartbeat
from escalations.workflow import automation, sweep_fast

COUNTS = ("examined", "changed", "actions", "escalations", "notifications")


@dataclass
class SweepResult:
    examined: int = 0
    changed: int = 0
    actions: int = 0
    escalations: int = 0
    notifications: int = 0
    duration_ms: float = 0.0


def sweep_batch(now: datetime, batch_size: int, active: list) -> automation.BatchResult | None:
    """Claim up to ``batch_size`` due cases and process them in one transaction: the fast
    path (``workflow.sweep_fast``) on PostgreSQL unless ``SWEEP_FAST`` is off."""
    with transaction.atomic():
        if connection.vendor == "postgresql" and settings.ESCALATIONS.get("SWEEP_FAST", True):
            rows = sweep_fast.claim(now, batch_size)
            return sweep_fast.sweep_rows(rows, now, active) if rows else None
        ids = list(
            Case.objects.due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_check_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return None
        return automation.apply_rules(ids, now, active)


def run_sweep(
    now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None, heartbeat: str = "sweep"
) -> SweepResult:
    """Sweep until nothing is due at ``now`` (or ``max_batches`` ran); record a heartbeat."""
    started = time.perf_counter()
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCALATIONS["SWEEP_BATCH_SIZE"]
    active = rules.active_rules()
    total = SweepResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        result = sweep_batch(now, batch_size, active)
        if result is None:
            break
        batches += 1
        for f in COUNTS:
            setattr(total, f, getattr(total, f) + getattr(result, f))
    skipped = rules.take_skipped()  # from intake since the last run, and from this run
    if skipped:
        automation.record_rule_problems(skipped, now)
    total.duration_ms = (time.perf_counter() - started) * 1000
    if heartbeat:
        _beat(heartbeat, total)
    return total


def _beat(name: str, total: SweepResult) -> None:
    SweepHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "last_run_at": timezone.now(),
            "examined": total.examined,
            "actions": total.actions,
            "duration_ms": total.duration_ms,
        },
    )


def run_sweepers(
    sweepers: int | None = None,
    now: datetime | None = None,
    batch_size: int | None = None,
    heartbeat: str = "sweep",
) -> SweepResult:
    """``sweepers`` sweeps at once (default ``SWEEPERS``), each on its own connection,
    claiming batches with SKIP LOCKED until nothing is due; one heartbeat for them all.
    The scheduled sweep starts them as task-queue tasks instead (``tasks.sweep``)."""
    sweepers = sweepers or settings.ESCALATIONS["SWEEPERS"]
    now = now or timezone.now()
    if sweepers <= 1 or connection.vendor != "postgresql":
        return run_sweep(now, batch_size, heartbeat=heartbeat)
    started = time.perf_counter()
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(run_sweep(now, batch_size, heartbeat=""))
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one, name=f"sweeper-{i}") for i in range(sweepers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    total = SweepResult()
    for r in results:
        for f in COUNTS:
            setattr(total, f, getattr(total, f) + getattr(r, f))
    total.duration_ms = (time.perf_counter() - started) * 1000
    if heartbeat:
        _beat(heartbeat, total)
    return total


def sweep_lag(now: datetime | None = None) -> tuple[SweepHeartbeat | None, float | None]:
    """The last heartbeat and how many minutes ago it was."""
    beat = SweepHeartbeat.objects.order_by("-last_run_at").first()
    if beat is None:
        return None, None
    return beat, ((now or timezone.now()) - beat.last_run_at).total_seconds() / 60

"""When a wait counts as "near a breach" (pure: no database).

A wait started with at most a quarter of the resolution target left (wall-clock, from the
SLA start to its due time), or after the target was already breached, is a wait near a
breach: what the "Waiting" report counts to show pauses used to stop a clock about to run
out. The desk's own waits and the imported ones use this same rule.
"""

from __future__ import annotations

from datetime import datetime

NEAR = 0.25  # at most this share of the resolution target left


def near_breach(case, at: datetime) -> bool:
    due = case.resolution_due_at
    if due is None:
        return False
    if case.resolution_breached_at is not None or due <= at:
        return True
    start = case.sla_started_at or case.opened_at
    whole = (due - start).total_seconds()
    return whole > 0 and (due - at).total_seconds() <= NEAR * whole

"""What maintaining the report rollups costs the writers, and what rebuilding them costs.

Intake (``workflow.case_open``, one transaction per case) and the sweep (``bench_sweep``'s
due cases escalated L1 -> L2 in batches) run twice in one process: with the rollup
triggers, then with them disabled (``ALTER TABLE ... DISABLE TRIGGER``, nothing else
changed). The rows written without the triggers leave the rollups behind the facts, so the
run ends with a rebuild, which is the rebuild figure too."""

from __future__ import annotations

import time

from django.db import connection

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.devtools.benchmarks import pages_bench
from escalations.devtools.benchmarks.sweep_bench import Bench, with_bench_rule
from escalations.rollups import build
from escalations.rollups.schema import OPS, TABLES, TRIGGERS


def set_triggers(enabled: bool) -> None:
    with connection.cursor() as cur:
        for fact in TRIGGERS:
            for op in OPS:
                cur.execute(f"ALTER TABLE {fact} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {fact}_rollup_{op}")


def intake_per_s(count: int, tag: str) -> float:
    user, categories = pages_bench.ensure_people()  # an L1 agent on a bench team
    started = time.perf_counter()
    for n in range(count):
        workflow.case_open(
            actor=user,
            title=f"Rollup bench intake {tag} {n}",
            requester_name="Bench",
            requester_email="rollups@bench.example",
            category=categories[n % len(categories)],
            impact=1 + n % 3,
            urgency=1 + n % 2,
        )
    return count / (time.perf_counter() - started)


def sweep_per_s(open_cases: int, due: int, out) -> tuple[float, int]:
    """Escalations per second of one sweep over ``due`` due cases (and any other case due in
    this database: it is swept too, and counted)."""
    bench = Bench(open_cases, due, out)
    bench.build()
    started = time.perf_counter()
    result = with_bench_rule(lambda: run_sweep(now=bench.now, heartbeat="bench"))
    elapsed = time.perf_counter() - started
    return result.escalations / elapsed, result.escalations


def rollup_rows() -> dict[str, int]:
    out = {}
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            out[table.removeprefix("escalations_")] = max(cur.fetchone()[0], 0)
    return out


def write_path(intake: int, open_cases: int, due: int, out) -> dict:
    figures: dict = {}
    try:
        for label, enabled in (("with_rollups", True), ("without_rollups", False)):
            set_triggers(enabled)
            rate, swept = sweep_per_s(open_cases, due, out)
            figures[label] = {
                "intake_per_s": round(intake_per_s(intake, label), 1),
                "sweep_per_s": round(rate, 1),
                "swept": swept,
            }
    finally:
        set_triggers(True)
    started = time.perf_counter()
    build.rebuild()
    figures["rebuild_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"ANALYZE {table}")
    figures["rollup_rows"] = rollup_rows()
    return figures

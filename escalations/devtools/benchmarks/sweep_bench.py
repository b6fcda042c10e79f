"""bench_sweep: the sweep against a naive per-case ORM loop and the same writes in raw SQL.

Every due case is on a path (L1 team -> L2 team), so each escalation writes what a real
one does: the case update, a case history row, a handoff and its history row, a rule
firing and the outbox notice to the receiving team. The sweep runs with the configured
number of sweepers (``ESCALATIONS["SWEEPERS"]``, else one). The naive loop does the same
per case through the ORM, one transaction each. The raw-SQL comparison
(``benchmarks.sweep_sql``) writes the very rows the sweep wrote, batch by batch, once on
today's schema and once on a copy of the tables with only primary keys, the due index and
unique constraints (the lean floor). The data is built with one INSERT ... SELECT over a
number series, so a million cases take seconds, and the due cases are reset between runs
(their history rows removed through the audit trail's maintenance path) so each run sees
the same due cases and leaves no rows behind.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from escalations.audit import maintenance
from escalations.audit.chain import history_models
from escalations.automation.sweep import run_sweep
from escalations.core import config_cache
from escalations.devtools.benchmarks import sweep_sql
from escalations.domain import clock, sla
from escalations.models import (
    Case,
    Category,
    Escalation,
    EscalationKind,
    EscalationPath,
    Level,
    Notification,
    PathStep,
    PolicySnapshot,
    RuleFiring,
    SlaPolicy,
    Team,
    TriggerRule,
)

SOURCE = "bench"
RULE_NAME = "bench: escalate at 100% of the response target"
PATH_NAME = "Bench path"
# What a run writes about the due cases, table by table (the raw path must match the sweep).
WRITTEN = {
    "case_history": (Case.history.model, "id"),
    "handoffs": (Escalation, "case_id"),
    "handoff_history": (Escalation.history.model, "case_id"),
    "firings": (RuleFiring, "case_id"),
    "outbox": (Notification, "case_id"),
}


def _series(n: int) -> str:
    if connection.vendor == "postgresql":
        return f"generate_series(1, {int(n)}) AS s(i)"
    return f"(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {int(n)}) SELECT i FROM r) AS s"


def sweepers() -> int:
    """How many sweepers the desk runs (``ESCALATIONS["SWEEPERS"]``; one when not set)."""
    return max(1, int(settings.ESCALATIONS.get("SWEEPERS", 1) or 1))


def history_counts() -> dict[str, int]:
    """Rows in every chained history table (a reset must bring them back to this)."""
    return {m._meta.db_table: m.objects.count() for m in history_models()}


class Bench:
    def __init__(self, open_cases: int, due: int, out):
        self.n, self.m, self.out = open_cases, due, out
        self.now = timezone.now()
        self.l1, self.l2 = Level.objects.get(code="L1"), Level.objects.get(code="L2")
        self.history_marks: dict[str, int] = {}

    # -- data --------------------------------------------------------------------------
    def setup(self) -> None:
        """Category, the two teams (each with an address, so every escalation has a notice
        to queue) and the path L1 team -> L2 team the cases climb."""
        self.category, _ = Category.objects.get_or_create(code="bench", defaults={"name": "Benchmark"})
        self.t1, _ = Team.objects.get_or_create(
            name="Bench L1", defaults={"level": self.l1, "email": "l1@bench.example"}
        )
        self.t2, _ = Team.objects.get_or_create(
            name="Bench L2", defaults={"level": self.l2, "email": "l2@bench.example"}
        )
        self.path, _ = EscalationPath.objects.get_or_create(name=PATH_NAME, defaults={"category": self.category})
        for order, (level, team) in enumerate(((self.l1, self.t1), (self.l2, self.t2)), start=1):
            PathStep.objects.get_or_create(path=self.path, order=order, defaults={"level": level, "team": team})

    def build(self, reuse: bool = False) -> float:
        """Create the cases; with ``reuse``, keep an earlier run's cases of the same size."""
        started = time.perf_counter()
        self.setup()
        existing = Case.objects.filter(source=SOURCE)
        if reuse and existing.count() == self.n:
            self.due_ids = list(existing.order_by("pk").values_list("pk", flat=True)[: self.m])
            self.history_marks = {}  # the cases are built without history: all of theirs is an earlier run's
            self.reset_due()
            self.mark_history()
            return time.perf_counter() - started
        snapshot = clock.freeze_policy(SlaPolicy.objects.default())
        self.clean()
        due_at, opened_due = self.now - timedelta(minutes=45), self.now - timedelta(hours=1)
        later = self.now + timedelta(days=1)
        is_pg = connection.vendor == "postgresql"
        params = {
            "snap": PolicySnapshot.objects.keep(snapshot),
            "m": self.m,
            "l1": self.l1.pk,
            "t1": self.t1.pk,
            "path": self.path.pk,
            "cat": self.category.pk,
            "opened_due": opened_due,
            "opened": self.now,
            "due_at": due_at,
            "later": later,
            "resp_due": self.now + timedelta(minutes=15),
            "resol_due": self.now + timedelta(hours=4),
        }
        if not is_pg:
            params = {k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in params.items()}
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO escalations_case (
                    title, description, requester_name, requester_email, category_id, impact, urgency, priority,
                    complexity, customer_tier, status, level_id, team_id, path_id, reassignment_count, reopen_count,
                    escalation_count, highest_level_id, entry_level_id, policy_id, opened_at, level_entered_at,
                    response_due_at, resolution_due_at, pauses, next_check_at, resolution_summary, version,
                    updated_at, source, external_id)
                SELECT 'Benchmark case', '', 'Bench Requester', 'requester@bench.example', %(cat)s, 1, 1, 1,
                    'medium', 'standard', 'in_progress', %(l1)s, %(t1)s, %(path)s, 0, 0, 0, %(l1)s, %(l1)s, %(snap)s,
                    CASE WHEN i <= %(m)s THEN %(opened_due)s ELSE %(opened)s END,
                    CASE WHEN i <= %(m)s THEN %(opened_due)s ELSE %(opened)s END,
                    CASE WHEN i <= %(m)s THEN %(due_at)s ELSE %(resp_due)s END,
                    %(resol_due)s, {"'[]'::jsonb" if is_pg else "'[]'"},
                    CASE WHEN i <= %(m)s THEN %(due_at)s ELSE %(later)s END,
                    '', 1, %(opened)s, 'bench', 'b' || i
                FROM {_series(self.n)}""",
                params,
            )
        if is_pg:
            with connection.cursor() as cur:
                cur.execute("ANALYZE escalations_case")
        self.due_ids = list(
            Case.objects.filter(source=SOURCE, next_check_at__lte=self.now).values_list("pk", flat=True)
        )
        self.mark_history()
        return time.perf_counter() - started

    def mark_history(self) -> None:
        """Where each history table ends before the runs: a reset removes what comes after."""
        self.history_marks = {
            m._meta.db_table: (m.objects.order_by("-history_id").values_list("history_id", flat=True).first() or 0)
            for m in (Case.history.model, Escalation.history.model)
        }

    def clean(self) -> None:
        """Remove earlier benchmark rows (cases and everything written about them); history
        rows go through the audit trail's documented maintenance path."""
        with _maintenance("remove benchmark cases"), connection.cursor() as cur:
            sub = "SELECT id FROM escalations_case WHERE source = 'bench'"
            for table, col in (
                ("escalations_historicalcase", "id"),
                ("escalations_historicalescalation", "case_id"),
                ("escalations_escalation", "case_id"),
                ("escalations_notification", "case_id"),
                ("escalations_rulefiring", "case_id"),
            ):
                cur.execute(f"DELETE FROM {table} WHERE {col} IN ({sub})")
            cur.execute("DELETE FROM escalations_case WHERE source = 'bench'")

    def written(self) -> dict[str, int]:
        """Rows a run wrote about the due cases, per kind (history after the marks only)."""
        counts = {}
        for name, (model, col) in WRITTEN.items():
            qs = model.objects.filter(**{f"{col}__in": self.due_ids})
            mark = self.history_marks.get(model._meta.db_table)
            if mark is not None:
                qs = qs.filter(history_id__gt=mark)
            counts[name] = qs.count()
        counts["cases_escalated"] = Case.objects.filter(pk__in=self.due_ids, level=self.l2).count()
        return counts

    def reset_due(self) -> None:
        """Put the due cases back as they were before a run, and drop what the run wrote:
        handoffs, outbox rows, firings and the history rows after the marks."""
        ids = self.due_ids
        with _maintenance("reset benchmark cases between runs"), connection.cursor() as cur:
            # In SQL: an ORM delete of a handoff would write a deletion history row for it.
            for model in (Escalation, Notification, RuleFiring):
                cur.execute(f"DELETE FROM {model._meta.db_table} WHERE case_id = ANY(%s)", [ids])
            for model, col in ((Escalation.history.model, "case_id"), (Case.history.model, "id")):
                table = model._meta.db_table
                cur.execute(
                    f"DELETE FROM {table} WHERE {col} = ANY(%s) AND history_id > %s",
                    [ids, self.history_marks.get(table, 0)],
                )
            Case.objects.filter(pk__in=ids).update(
                status="in_progress",
                level=self.l1,
                team=self.t1,
                assignee=None,
                highest_level=self.l1,
                escalation_count=0,
                level_entered_at=self.now - timedelta(hours=1),
                response_due_at=self.now - timedelta(minutes=45),
                response_breached_at=None,
                responded_at=None,
                ola_response_due_at=None,
                ola_work_due_at=None,
                ola_response_breached_at=None,
                ola_work_breached_at=None,
                routing_note="",
                sla_changes=None,
                next_check_at=self.now - timedelta(minutes=45),
                version=1,
            )

    # -- the ways ----------------------------------------------------------------------
    def run_sweep(self, workers: int = 1) -> float:
        """The sweep, by ``workers`` sweepers at once (processes of their own, as deployed)."""
        started = time.perf_counter()
        if workers <= 1:
            escalated = run_sweep(now=self.now, heartbeat="bench").escalations
        else:
            if connection.in_atomic_block:
                raise RuntimeError("sweepers of their own cannot see an open transaction's rows")
            connections.close_all()  # each process opens its own connection
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                escalated = sum(pool.map(_sweep_in_process, [self.now] * workers))
        elapsed = time.perf_counter() - started
        if escalated != len(self.due_ids):
            raise RuntimeError(
                f"the sweep escalated {escalated:,} cases, not the benchmark's "
                f"{len(self.due_ids):,}: other cases are due in this database; run bench_sweep "
                "on a scratch database of its own"
            )
        return elapsed

    def run_naive(self, limit: int) -> tuple[float, int]:
        """How ticket systems commonly do it: per case, load, decide, save with history."""
        rule = TriggerRule.objects.get(name=RULE_NAME)
        ids = self.due_ids[:limit]
        started = time.perf_counter()
        for pk in ids:
            with transaction.atomic():
                case = Case.objects.select_for_update().get(pk=pk)
                c = clock.clocks(case)[0]
                if clock.percent_used(case, c, self.now) < 100:
                    continue
                esc = Escalation(
                    case=case,
                    kind=EscalationKind.ESCALATE,
                    from_level=case.level,
                    to_level=self.l2,
                    from_team=case.team,
                    to_team=self.t2,
                    rule=rule,
                    reason=f"Rule '{rule.name}'",
                    summary="Automatic escalation",
                    steps_tried="-",
                    customer_impact="-",
                    created_at=self.now,
                    **Escalation.case_copies(case),
                )
                case.escalate(self.l2, self.t2, self.now)
                clock.recompute_due(case)
                case.next_check_at = case.response_due_at
                case.version += 1
                case.save()
                esc.save()
                Notification.objects.create(
                    case=case,
                    event="escalated",
                    recipient=self.t2.email,
                    subject="Escalated",
                    body="-",
                    dedupe_key=f"naive:{case.pk}",
                )
                RuleFiring.objects.create(case=case, rule=rule, level=self.l1, fired_at=self.now)
        return time.perf_counter() - started, len(ids)

    def keep_templates(self) -> dict[str, int]:
        """After a sweep: what it wrote for the first due case, for the raw statement to copy."""
        return sweep_sql.capture_templates(self.due_ids[0])

    def run_raw_sql(self, schema: str | None = None) -> float:
        """The sweep's writes in one set-based statement per batch (``sweep_sql``)."""
        elapsed, escalated = sweep_sql.run(self.now, settings.ESCALATIONS["SWEEP_BATCH_SIZE"], schema)
        if escalated != len(self.due_ids):
            raise RuntimeError(f"the raw statement escalated {escalated:,} cases, not {len(self.due_ids):,}")
        return elapsed

    def empty_sweep_ms(self, repeats: int = 20) -> float:
        run_sweep(now=self.now, heartbeat="bench")  # warm
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            run_sweep(now=self.now, heartbeat="bench")
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)


def _sweep_in_process(now: datetime) -> int:
    connections.close_all()
    try:
        return run_sweep(now=now, heartbeat="bench").escalations
    finally:
        connections.close_all()


def _maintenance(reason: str):
    tables = [Case.history.model._meta.db_table, Escalation.history.model._meta.db_table]
    return maintenance.maintenance(actor="bench_sweep", reason=reason, tables=tables)


def deadlines_per_second(count: int = 200_000) -> float:
    """``add`` on a Mon-Fri 08:00-18:00 calendar with German public holidays."""
    import holidays as holidays_lib

    days = sorted(holidays_lib.country_holidays("DE", subdiv="BY", years=range(2024, 2029)))
    cal = sla.BusinessCalendar(
        timezone="Europe/Berlin", weekly_hours={d: [("08:00", "18:00")] for d in range(5)}, holidays=days
    )
    rnd = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    starts = [datetime.fromtimestamp(base + rnd.random() * 3 * 365 * 86400, UTC) for _ in range(count)]
    durations = [timedelta(minutes=rnd.choice((15, 60, 240, 480, 1440, 4320))) for _ in range(count)]
    cal.add(starts[0], durations[0])  # build the year tables once, as a running process would have
    for year_start in (date(2025, 1, 2), date(2026, 1, 2), date(2027, 1, 2), date(2028, 1, 2)):
        cal.add(datetime(year_start.year, 1, 2, tzinfo=UTC), timedelta(minutes=1))
    started = time.perf_counter()
    for s, d in zip(starts, durations):
        cal.add(s, d)
    return count / (time.perf_counter() - started)


def with_bench_rule(fn):
    """Run ``fn`` with only the benchmark's rule active; the configured rules come back after."""
    active = list(TriggerRule.objects.filter(is_active=True).values_list("pk", flat=True))
    TriggerRule.objects.filter(pk__in=active).update(is_active=False)
    # Created once (with its history row); later runs only switch it on and off, as the
    # configured rules are, so a run leaves no history rows behind.
    rule, _ = TriggerRule.objects.get_or_create(
        name=RULE_NAME,
        defaults=dict(
            order=1,
            condition="sla_percent",
            params={"target": "response", "percent": 100},
            action="escalate_next",
            is_active=True,
        ),
    )
    TriggerRule.objects.filter(pk=rule.pk).update(is_active=True)
    config_cache.clear()  # ``update`` sends no signal: this process must not keep the old rules
    try:
        return fn()
    finally:
        TriggerRule.objects.filter(pk=rule.pk).update(is_active=False)
        TriggerRule.objects.filter(pk__in=active).update(is_active=True)
        config_cache.clear()

"""bench_sweep: the sweep against a naive per-case ORM loop and one raw SQL statement.

All three do the same work per due case: move it L1 -> L2 (status, level, team, clock),
write a case history row, a handoff (escalation) row, an outbox row and a rule firing.
The data is built with one INSERT ... SELECT over a number series, so a million cases
take seconds, and reset between the three runs so each sees the same due cases.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from escalations.audit import maintenance
from escalations.automation.sweep import run_sweep
from escalations.domain import clock, sla
from escalations.models import (
    Case,
    Category,
    Escalation,
    EscalationKind,
    Level,
    Notification,
    RuleFiring,
    SlaPolicy,
    Team,
    TriggerRule,
)

SOURCE = "bench"
RULE_NAME = "bench: escalate at 100% of the response target"


def _series(n: int) -> str:
    if connection.vendor == "postgresql":
        return f"generate_series(1, {int(n)}) AS s(i)"
    return f"(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {int(n)}) SELECT i FROM r) AS s"


class Bench:
    def __init__(self, open_cases: int, due: int, out):
        self.n, self.m, self.out = open_cases, due, out
        self.now = timezone.now()
        self.l1, self.l2 = Level.objects.get(code="L1"), Level.objects.get(code="L2")

    # -- data --------------------------------------------------------------------------
    def build(self, reuse: bool = False) -> float:
        """Create the cases; with ``reuse``, keep an earlier run's cases of the same size."""
        started = time.perf_counter()
        self.category, _ = Category.objects.get_or_create(code="bench", defaults={"name": "Benchmark"})
        self.t1, _ = Team.objects.get_or_create(
            name="Bench L1", defaults={"level": self.l1, "email": "l1@bench.example"}
        )
        self.t2, _ = Team.objects.get_or_create(
            name="Bench L2", defaults={"level": self.l2, "email": "l2@bench.example"}
        )
        existing = Case.objects.filter(source=SOURCE)
        if reuse and existing.count() == self.n:
            self.due_ids = list(existing.order_by("pk").values_list("pk", flat=True)[: self.m])
            self.reset_due()
            return time.perf_counter() - started
        snapshot = clock.freeze_policy(SlaPolicy.objects.default())
        self.clean()
        due_at, opened_due = self.now - timedelta(minutes=45), self.now - timedelta(hours=1)
        later = self.now + timedelta(days=1)
        is_pg = connection.vendor == "postgresql"
        params = {
            "snap": json.dumps(snapshot),
            "m": self.m,
            "l1": self.l1.pk,
            "t1": self.t1.pk,
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
        snap = "CAST(%(snap)s AS jsonb)" if is_pg else "%(snap)s"
        concat = "'b' || i" if is_pg else "'b' || i"
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO escalations_case (
                    title, description, requester_name, requester_email, category_id, impact, urgency, priority,
                    complexity, customer_tier, status, level_id, team_id, reassignment_count, reopen_count,
                    escalation_count, highest_level_id, policy_snapshot, opened_at, level_entered_at,
                    response_due_at, resolution_due_at, pauses, next_check_at, resolution_summary, version,
                    updated_at, source, external_id)
                SELECT 'Benchmark case', '', 'Bench Requester', 'requester@bench.example', %(cat)s, 1, 1, 1,
                    'medium', 'standard', 'in_progress', %(l1)s, %(t1)s, 0, 0, 0, %(l1)s, {snap},
                    CASE WHEN i <= %(m)s THEN %(opened_due)s ELSE %(opened)s END,
                    CASE WHEN i <= %(m)s THEN %(opened_due)s ELSE %(opened)s END,
                    CASE WHEN i <= %(m)s THEN %(due_at)s ELSE %(resp_due)s END,
                    %(resol_due)s, {"'[]'::jsonb" if is_pg else "'[]'"},
                    CASE WHEN i <= %(m)s THEN %(due_at)s ELSE %(later)s END,
                    '', 1, %(opened)s, 'bench', {concat}
                FROM {_series(self.n)}""",
                params,
            )
        if is_pg:
            with connection.cursor() as cur:
                cur.execute("ANALYZE escalations_case")
        self.due_ids = list(
            Case.objects.filter(source=SOURCE, next_check_at__lte=self.now).values_list("pk", flat=True)
        )
        return time.perf_counter() - started

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

    def reset_due(self) -> None:
        """Put the due cases back as they were before a run, and drop what the run wrote."""
        ids = self.due_ids
        with _maintenance("reset benchmark cases between runs"):
            for model, col in (
                (Escalation.history.model, "case_id"),
                (Escalation, "case_id"),
                (Notification, "case_id"),
                (RuleFiring, "case_id"),
            ):
                model.objects.filter(**{f"{col}__in": ids}).delete()
            Case.history.filter(id__in=ids).delete()
            Case.objects.filter(pk__in=ids).update(
                status="in_progress",
                level=self.l1,
                team=self.t1,
                highest_level=self.l1,
                escalation_count=0,
                level_entered_at=self.now - timedelta(hours=1),
                response_due_at=self.now - timedelta(minutes=45),
                response_breached_at=None,
                responded_at=None,
                next_check_at=self.now - timedelta(minutes=45),
                version=1,
            )

    # -- the three ways ----------------------------------------------------------------
    def run_sweep(self) -> float:
        started = time.perf_counter()
        result = run_sweep(now=self.now, heartbeat="bench")
        elapsed = time.perf_counter() - started
        if result.escalations != len(self.due_ids):
            raise RuntimeError(
                f"the sweep escalated {result.escalations:,} cases, not the benchmark's "
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
                    recipient="l2@bench.example",
                    subject="Escalated",
                    body="-",
                    dedupe_key=f"naive:{case.pk}",
                )
                RuleFiring.objects.create(case=case, rule=rule, level=self.l1, fired_at=self.now)
        return time.perf_counter() - started, len(ids)

    def run_raw_sql(self) -> float:
        """The floor: one statement claims, moves, and writes history, handoff, outbox, firing."""
        rule = TriggerRule.objects.get(name=RULE_NAME)
        hist_cols = [
            f.column
            for f in Case.history.model._meta.concrete_fields
            if f.column
            not in (
                "history_id",
                "history_date",
                "history_change_reason",
                "history_type",
                "history_user_id",
                "prev_hash",
                "row_hash",
            )
        ]
        select_cols = ", ".join(f"u.{c}" for c in hist_cols)
        sql = f"""
            WITH due AS (
                SELECT id FROM escalations_case WHERE next_check_at <= %(now)s
                ORDER BY next_check_at FOR UPDATE SKIP LOCKED
            ), u AS (
                UPDATE escalations_case c SET status = 'escalated', level_id = %(l2)s, team_id = %(t2)s,
                    assignee_id = NULL, escalation_count = c.escalation_count + 1, highest_level_id = %(l2)s,
                    level_entered_at = %(now)s, responded_at = NULL, response_breached_at = NULL,
                    response_due_at = %(due)s, next_check_at = %(due)s, version = c.version + 1
                FROM due WHERE c.id = due.id RETURNING c.*
            ), h AS (
                INSERT INTO escalations_historicalcase ({", ".join(hist_cols)}, history_date,
                    history_change_reason, history_type, history_user_id, prev_hash, row_hash)
                SELECT {select_cols}, %(now)s, 'Rule fired: escalated L1 -> L2', '~', NULL, '', '' FROM u
            ), e AS (
                INSERT INTO escalations_escalation (case_id, kind, status, from_level_id, to_level_id, from_team_id,
                    to_team_id, rule_id, reason, summary, steps_tried, knowledge_consulted, customer_impact,
                    justification, return_reason, response_breached, created_at)
                SELECT u.id, 'escalate', 'pending', %(l1)s, %(l2)s, %(t1)s, %(t2)s, %(rule)s, 'rule', 'auto', '-',
                    '', '-', '', '', true, %(now)s FROM u
            ), n AS (
                INSERT INTO escalations_notification (case_id, event, recipient, subject, body, urgent, status,
                    dedupe_key, attempts, last_error, not_before, created_at)
                SELECT u.id, 'escalated', 'l2@bench.example', 'Escalated', '-', true, 'pending',
                    'raw:' || u.id, 0, '', %(now)s, %(now)s FROM u
            )
            INSERT INTO escalations_rulefiring (case_id, rule_id, level_id, fired_at, times, reason)
            SELECT u.id, %(rule)s, %(l1)s, %(now)s, 1, 'raw' FROM u"""
        params = {
            "now": self.now,
            "l1": self.l1.pk,
            "l2": self.l2.pk,
            "t1": self.t1.pk,
            "t2": self.t2.pk,
            "rule": rule.pk,
            "due": self.now + timedelta(hours=1),
        }
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
        return time.perf_counter() - started

    def empty_sweep_ms(self, repeats: int = 20) -> float:
        run_sweep(now=self.now, heartbeat="bench")  # warm
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            run_sweep(now=self.now, heartbeat="bench")
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)


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
    base = datetime(2025, 1, 1, tzinfo=sla.timezone.utc).timestamp()
    starts = [datetime.fromtimestamp(base + rnd.random() * 3 * 365 * 86400, sla.timezone.utc) for _ in range(count)]
    durations = [timedelta(minutes=rnd.choice((15, 60, 240, 480, 1440, 4320))) for _ in range(count)]
    cal.add(starts[0], durations[0])  # build the year tables once, as a running process would have
    for year_start in (date(2025, 1, 2), date(2026, 1, 2), date(2027, 1, 2), date(2028, 1, 2)):
        cal.add(datetime(year_start.year, 1, 2, tzinfo=sla.timezone.utc), timedelta(minutes=1))
    started = time.perf_counter()
    for s, d in zip(starts, durations):
        cal.add(s, d)
    return count / (time.perf_counter() - started)


def with_bench_rule(fn):
    """Run ``fn`` with only the benchmark's rule active; the configured rules come back after."""
    active = list(TriggerRule.objects.filter(is_active=True).values_list("pk", flat=True))
    TriggerRule.objects.filter(pk__in=active).update(is_active=False)
    rule, _ = TriggerRule.objects.update_or_create(
        name=RULE_NAME,
        defaults=dict(
            order=1,
            condition="sla_percent",
            params={"target": "response", "percent": 100},
            action="escalate_next",
            is_active=True,
        ),
    )
    try:
        return fn()
    finally:
        TriggerRule.objects.filter(pk=rule.pk).update(is_active=False)
        TriggerRule.objects.filter(pk__in=active).update(is_active=True)

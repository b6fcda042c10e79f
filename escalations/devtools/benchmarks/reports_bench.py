"""bench_reports: build N cases with their escalations, reviews and history in a few
set-based statements (PostgreSQL), then time every report over the whole range.

The cases follow eight shapes in fixed shares (resolved at L1; escalated to L2 and
resolved there; returned; L1 -> L2 -> L3; a skip-level jump; de-escalated back; still
open at L1; waiting for acceptance at L2) with timings drawn from ``random()`` after
``setseed``, so two builds from an empty database to the same size hold the same data.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from escalations.audit import maintenance
from escalations.devtools.benchmarks.seeding import creation_history
from escalations.domain import clock
from escalations.models import Case, CaseAttribute, Category, Level, PolicySnapshot, SlaPolicy, Team
from escalations.reports.base import REGISTRY, SOURCES, FilterError, Filters
from escalations.rollups import build as rollups
from escalations.rollups.schema import TABLES as ROLLUP_TABLES

SOURCE = "bench-reports"
# The benchmark's cases have a source of their own, so "live" selects none of them: the filter
# set "own source" names theirs (a source filter selecting most cases, as "live" on a desk).
OWN_SOURCE = "bench"
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730
CHUNK = 1_000_000  # benchmark cases per transaction when building
TEAMS_PER_LEVEL = 4
CATEGORIES = 20
AGENTS = 20
# An imported log's attribute on every benchmark case, for the attribute filter and breakdown
# sets: a country out of 25 (BPIC 2013 has 23 countries), by case id.
ATTRIBUTE, ATTRIBUTE_VALUES = "country", 25
ROOT_CAUSES = [
    "Configuration error",
    "Known bug",
    "Missing knowledge article",
    "Vendor outage",
    "User error",
    "Capacity",
    "Network",
    "Data quality",
]

# pattern: (share, final level, highest level, escalation count, handoff count, moved-down count)
PATTERNS = {
    0: (0.60, "L1", "L1", 0, 0, 0),
    1: (0.18, "L2", "L2", 1, 1, 0),
    2: (0.05, "L1", "L2", 1, 1, 1),
    3: (0.05, "L3", "L3", 2, 2, 0),
    4: (0.03, "L3", "L3", 1, 1, 0),
    5: (0.04, "L1", "L2", 1, 2, 1),
    6: (0.03, "L1", "L1", 0, 0, 0),
    7: (0.02, "L2", "L2", 1, 1, 0),
}


def _pattern_case() -> str:
    """SQL choosing a pattern from ``p.r0`` by the cumulative shares above."""
    edges, total = [], 0.0
    for key, (share, *_rest) in PATTERNS.items():
        total += share
        edges.append(f"WHEN p.r0 < {total:.4f} THEN {key}")
    return "CASE " + " ".join(edges[:-1]) + f" ELSE {list(PATTERNS)[-1]} END"


def _by_pattern(index: int, ids: dict[str, int]) -> str:
    return (
        "CASE p.pattern "
        + " ".join(
            f"WHEN {k} THEN {ids[v[index]] if isinstance(v[index], str) else v[index]}" for k, v in PATTERNS.items()
        )
        + " END"
    )


def _targets_sql(column: str, level_sql: str, ids: dict[str, int], which: int) -> str:
    """The default (24x7) target in seconds for a level id expression and the priority."""
    snapshot = clock.freeze_policy(SlaPolicy.objects.default())
    parts = []
    for code in ("L1", "L2", "L3"):
        for prio in (1, 2, 3, 4):
            seconds = snapshot["targets"][code][str(prio)][which]
            parts.append(f"WHEN {level_sql} = {ids[code]} AND {column} = {prio} THEN {seconds}")
    return "CASE " + " ".join(parts) + " END"


# The indexes the reports are measured with (migrations 0012 and 0014; README "Reports"):
# index-only scans of the columns the reports read instead of the case rows (about 1.8 kB
# each until 0072 moved the frozen policy out) and the handoff rows with their texts.
REPORT_INDEXES = {
    "case_report_cover": "escalations_case",
    "case_report_narrow": "escalations_case",
    "case_open_cover": "escalations_case",
    "case_lifetime": "escalations_case",
    "escalation_report_cover": "escalations_escalation",
}


def missing_indexes() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [sorted(set(REPORT_INDEXES.values()))]
        )
        present = {row[0] for row in cur.fetchall()}
    return [name for name in REPORT_INDEXES if name not in present]


def _maintenance(reason: str):
    """History rows are append-only and hash-chained: bulk SQL on them goes through the
    audit trail's maintenance path, which reseals the chain afterwards."""
    return maintenance.maintenance(
        actor="bench_reports",
        reason=reason,
        tables=[Case.history.model._meta.db_table, "escalations_historicalescalation"],
    )


class ReportsBench:
    def __init__(self, n: int, out, attributed: int | None = None):
        """``attributed``: how many of the benchmark cases get the imported attribute (every
        k-th case by id, so they are spread over the whole range); all of them by default."""
        self.n, self.out, self.attributed = n, out, attributed
        self.now = START + timedelta(days=SPAN_DAYS + 1)

    def existing(self) -> int:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM escalations_case WHERE source = %s", [SOURCE])
            return cur.fetchone()[0]

    def clean(self) -> None:
        sub = "SELECT id FROM escalations_case WHERE source = %s"
        with _maintenance("remove report benchmark cases"), connection.cursor() as cur:
            for table, col in (
                ("escalations_historicalcase", "id"),
                ("escalations_historicalescalation", "case_id"),
                ("escalations_review", "case_id"),
                ("escalations_escalation", "case_id"),
            ):
                cur.execute(f"DELETE FROM {table} WHERE {col} IN ({sub})", [SOURCE])
            cur.execute("DELETE FROM escalations_case WHERE source = %s", [SOURCE])

    def _organisation(self) -> dict:
        levels = {lv.code: lv for lv in Level.objects.filter(code__in=["L1", "L2", "L3"])}
        teams = {}
        for code, level in levels.items():
            for k in range(TEAMS_PER_LEVEL):
                team, _ = Team.objects.get_or_create(
                    name=f"Bench {code} team {chr(65 + k)}", defaults={"level": level, "capacity": 2000}
                )
                teams[(code, k)] = team.pk
        cats = [
            Category.objects.get_or_create(code=f"bench-{i}", defaults={"name": f"Bench category {i}"})[0].pk
            for i in range(CATEGORIES)
        ]
        User = get_user_model()
        agents = [User.objects.get_or_create(username=f"bench-agent-{i}")[0].pk for i in range(AGENTS)]
        return {"levels": {c: lv.pk for c, lv in levels.items()}, "teams": teams, "cats": cats, "agents": agents}

    def build(self, chunk: int = CHUNK, history: bool = True) -> float:
        """Make sure ``n`` benchmark cases exist, adding the missing ones (never deleting:
        history rows are append-only, and removing them means resealing the whole chain).
        Cases are added ``chunk`` at a time, each chunk in its own transaction, spread over
        the two years as if added at once: one transaction for ten million cases rewrote
        its plan table eight times without a vacuum and filled the disk. ``history=False``
        leaves out the creation history rows (no report reads them; see ``seed_scale``)."""
        have = self.existing()
        if have >= self.n:
            return 0.0
        started = time.perf_counter()
        first_new_pk = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        org = self._organisation()
        for first in range(have + 1, self.n + 1, chunk):
            last = min(first + chunk - 1, self.n)
            self._build_chunk(first, last, org)
            if self.n - have > chunk:
                self.out.write(f"  ... {last:,} of {self.n:,} benchmark cases")
        if history:  # the reports never read it: real size
            creation_history(SOURCE, first_new_pk, "Benchmark case")
        self.ensure_attributes()
        # The rollup tables too: autovacuum had analysed none of them after a 10M seed, and
        # the planner, taking the case rollup for empty, walked its whole key (0.45 s a query).
        with connection.cursor() as cur:
            for table in (
                "escalations_case",
                "escalations_escalation",
                "escalations_review",
                "escalations_historicalcase",
                *(ROLLUP_TABLES if rollups.active() else ()),
            ):
                cur.execute(f"VACUUM ANALYZE {table}")
        return time.perf_counter() - started

    def ensure_attributes(self, chunk: int = CHUNK) -> int:
        """Give each benchmark case without one its ``ATTRIBUTE`` (one of ``ATTRIBUTE_VALUES``
        by case id), as an importer keeps a log's fields; databases built before the
        benchmark had attributes get theirs here. With ``attributed`` set, only every k-th
        case by id gets one (k = cases / attributed), so the attributed cases still span
        the whole range: the attribute triggers write an attributed case's rollup rows
        twice, and ten million attributed cases do not fit this machine's disk. Returns
        the rows added.

        ``chunk`` case ids per statement, each committed on its own (outside a transaction): the
        attribute triggers join each statement's rows to their cases, and one statement for
        nine million cases spilled that join to temporary files until the disk was full."""
        added = 0
        with connection.cursor() as cur:
            cur.execute("SELECT min(id), max(id), count(*) FROM escalations_case WHERE source = %s", [SOURCE])
            low, high, count = cur.fetchone()
            stride = max(1, -(-count // self.attributed)) if self.attributed else 1
            for first in range(low or 1, (high or 0) + 1, chunk):
                cur.execute(
                    f"""INSERT INTO {CaseAttribute._meta.db_table} (case_id, key, value)
                    SELECT c.id, %s, 'C' || lpad((c.id / %s %% %s)::text, 2, '0') FROM escalations_case c
                    WHERE c.source = %s AND c.id BETWEEN %s AND %s AND (c.id - %s) %% %s = 0 AND NOT EXISTS (
                        SELECT 1 FROM {CaseAttribute._meta.db_table} a WHERE a.case_id = c.id AND a.key = %s)""",
                    [ATTRIBUTE, stride, ATTRIBUTE_VALUES, SOURCE, first, first + chunk - 1, low, stride, ATTRIBUTE],
                )
                added += cur.rowcount
            if added:
                cur.execute(f"VACUUM ANALYZE {CaseAttribute._meta.db_table}")
        return added

    def _build_chunk(self, first: int, last: int, org: dict) -> None:
        """Benchmark cases ``first`` to ``last`` (of ``n``) with their handoffs and reviews,
        in one transaction."""
        ids = org["levels"]
        snapshot = PolicySnapshot.objects.keep(clock.freeze_policy(SlaPolicy.objects.default()))
        team = lambda code, col: (
            "CASE "
            + " ".join(  # noqa: E731
                f"WHEN {col} = {k} THEN {org['teams'][(code, k)]}" for k in range(TEAMS_PER_LEVEL)
            )
            + " END"
        )
        cats = "(ARRAY[" + ",".join(map(str, org["cats"])) + "])"
        agents = "(ARRAY[" + ",".join(map(str, org["agents"])) + "])"
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL work_mem = '256MB'")
            # The same numbers as ever for the first chunk; another stream for each later one.
            cur.execute("SELECT setseed(%s)", [0.42 if first == 1 else (first % 9973) / 9973])
            # One plan row per case: the shape and the durations (seconds) of each step.
            cur.execute(
                f"""
                CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
                SELECT i, r0, %(start)s::timestamptz + (i::float / %(n)s) * interval '{SPAN_DAYS} days'
                           + random() * interval '6 hours' AS opened,
                       CASE WHEN r1 < 0.05 THEN 1 WHEN r1 < 0.20 THEN 2 WHEN r1 < 0.80 THEN 3 ELSE 4 END AS prio,
                       (random() * {TEAMS_PER_LEVEL - 1})::int AS t1, (random() * {TEAMS_PER_LEVEL - 1})::int AS t2,
                       (random() * {TEAMS_PER_LEVEL - 1})::int AS t3, 1 + (random() * {CATEGORIES - 1})::int AS cat,
                       1 + (random() * {AGENTS - 1})::int AS agent,
                       60 + random() * 3000 AS d_resp, 1800 + random() * 28800 AS d_esc,
                       300 + random() * 10800 AS d_acc, 3600 + random() * 20000 AS d_esc2,
                       300 + random() * 7200 AS d_acc2, 1800 + random() * 86400 AS d_res,
                       random() < 0.03 AS reopened, random() < 0.9 AS closed, random() < 0.10 AS thin_handoff
                FROM (SELECT i, random() AS r0, random() AS r1 FROM generate_series(%(first)s, %(last)s) AS s(i)) AS g""",
                {"start": START, "n": self.n, "first": first, "last": last},
            )
            cur.execute("ALTER TABLE bench_plan ADD COLUMN pattern int")
            cur.execute(f"UPDATE bench_plan p SET pattern = {_pattern_case()}")
            # Moments relative to opening, in seconds: e1 first move, a1 its decision, e2 second move.
            cur.execute("""
                ALTER TABLE bench_plan ADD COLUMN e1 float, ADD COLUMN a1 float, ADD COLUMN e2 float,
                    ADD COLUMN a2 float, ADD COLUMN entered float, ADD COLUMN responded float, ADD COLUMN done float""")
            cur.execute("""
                UPDATE bench_plan SET e1 = d_resp + d_esc, a1 = d_resp + d_esc + d_acc,
                    e2 = d_resp + d_esc + d_acc + d_esc2, a2 = d_resp + d_esc + d_acc + d_esc2 + d_acc2""")
            cur.execute("""
                UPDATE bench_plan SET
                    entered = CASE pattern WHEN 0 THEN 0 WHEN 1 THEN e1 WHEN 2 THEN a1 WHEN 3 THEN e2
                                           WHEN 4 THEN e1 WHEN 5 THEN e2 WHEN 6 THEN 0 ELSE e1 END,
                    responded = CASE pattern WHEN 0 THEN d_resp WHEN 1 THEN a1 WHEN 2 THEN a1 WHEN 3 THEN a2
                                             WHEN 4 THEN a1 WHEN 5 THEN e2 + d_resp WHEN 6 THEN d_resp ELSE NULL END""")
            cur.execute("UPDATE bench_plan SET done = CASE WHEN pattern IN (6, 7) THEN NULL ELSE responded + d_res END")
            # Level, team and the SLA clocks (default 24x7 targets), still in the plan table.
            cur.execute(
                "ALTER TABLE bench_plan ADD COLUMN level_id bigint, ADD COLUMN team_id bigint, "
                "ADD COLUMN resp_due float, ADD COLUMN resol_due float, ADD COLUMN case_id bigint"
            )
            cur.execute(f"UPDATE bench_plan p SET level_id = {_by_pattern(1, ids)}")
            cur.execute(f"""UPDATE bench_plan p SET team_id = CASE p.level_id WHEN {ids["L1"]} THEN {team("L1", "p.t1")}
                            WHEN {ids["L2"]} THEN {team("L2", "p.t2")} ELSE {team("L3", "p.t3")} END,
                            resp_due = p.entered + {_targets_sql("p.prio", "p.level_id", ids, 0)},
                            resol_due = {_targets_sql("p.prio", "p.level_id", ids, 1)}""")
            sec = "* interval '1 second'"
            cur.execute(
                f"""
                INSERT INTO escalations_case (
                    title, description, requester_name, requester_email, category_id, impact, urgency, priority,
                    complexity, customer_tier, status, level_id, team_id, reassignment_count, reopen_count,
                    escalation_count, handoff_count, moved_down_count, highest_level_id, entry_level_id, policy_id,
                    opened_at,
                    level_entered_at, responded_at, first_response_at, response_due_at, resolution_due_at,
                    response_breached_at, resolution_breached_at, pauses, resolved_at, closed_at, resolution_summary,
                    version, updated_at, source, external_id)
                SELECT 'Benchmark case', '', 'Bench Requester', 'requester@bench.example', {cats}[p.cat],
                    LEAST(p.prio, 3), 2, p.prio, 'medium', 'standard',
                    CASE WHEN p.pattern = 6 THEN 'in_progress' WHEN p.pattern = 7 THEN 'escalated'
                         WHEN p.closed THEN 'closed' ELSE 'resolved' END,
                    p.level_id, p.team_id, 0, p.reopened::int, {_by_pattern(3, ids)}, {_by_pattern(4, ids)}, {_by_pattern(5, ids)},
                    {_by_pattern(2, ids)}, {ids["L1"]},
                    %(snap)s, p.opened, p.opened + p.entered {sec}, p.opened + p.responded {sec},
                    p.opened + p.d_resp {sec}, p.opened + p.resp_due {sec}, p.opened + p.resol_due {sec},
                    CASE WHEN COALESCE(p.opened + p.responded {sec}, %(now)s) > p.opened + p.resp_due {sec}
                         THEN p.opened + p.resp_due {sec} END,
                    CASE WHEN COALESCE(p.opened + p.done {sec}, %(now)s) > p.opened + p.resol_due {sec}
                         THEN p.opened + p.resol_due {sec} END,
                    '[]'::jsonb, p.opened + p.done {sec},
                    CASE WHEN p.closed AND p.done IS NOT NULL THEN p.opened + (p.done + 86400) {sec} END,
                    '', 1, p.opened, %(source)s, 'r' || p.i
                FROM bench_plan p ORDER BY p.i""",
                {"snap": snapshot, "source": SOURCE, "now": self.now},
            )
            cur.execute(
                """UPDATE bench_plan p SET case_id = c.id FROM escalations_case c
                           WHERE c.source = %s AND c.external_id = 'r' || p.i""",
                [SOURCE],
            )
            self._escalations(cur, ids, org, agents)
            self._reviews(cur)

    def _escalations(self, cur, ids: dict, org: dict, agents: str) -> None:
        team = lambda code, col: (
            "CASE "
            + " ".join(  # noqa: E731
                f"WHEN {col} = {k} THEN {org['teams'][(code, k)]}" for k in range(TEAMS_PER_LEVEL)
            )
            + " END"
        )
        t1, t2, t3 = team("L1", "p.t1"), team("L2", "p.t2"), team("L3", "p.t3")
        sec = "* interval '1 second'"
        # (pattern filter, kind, status, from level, to level, from team, to team, created, decided)
        moves = [
            ("p.pattern IN (1, 3, 5)", "escalate", "accepted", "L1", "L2", t1, t2, "p.e1", "p.a1"),
            ("p.pattern = 2", "escalate", "returned", "L1", "L2", t1, t2, "p.e1", "p.a1"),
            ("p.pattern = 7", "escalate", "pending", "L1", "L2", t1, t2, "p.e1", None),
            ("p.pattern = 4", "jump", "accepted", "L1", "L3", t1, t3, "p.e1", "p.a1"),
            ("p.pattern = 3", "escalate", "accepted", "L2", "L3", t2, t3, "p.e2", "p.a2"),
            ("p.pattern = 5", "de_escalate", "accepted", "L2", "L1", t2, t1, "p.e2", "p.e2"),
        ]
        for where, kind, status, lf, lt, tf, tt, created, decided in moves:
            cur.execute(f"""
                INSERT INTO escalations_escalation (case_id, kind, status, from_level_id, to_level_id, from_team_id,
                    to_team_id, raised_by_id, reason, summary, steps_tried, knowledge_consulted, customer_impact,
                    justification, decided_at, return_reason, response_breached, created_at, case_opened_at)
                SELECT p.case_id, '{kind}', '{status}', {ids[lf]}, {ids[lt]}, {tf}, {tt}, {agents}[p.agent],
                    'Manual escalation', 'Bench handoff', CASE WHEN p.thin_handoff THEN '' ELSE 'Tried things' END,
                    '', 'Customer blocked', '', {f"p.opened + {decided} {sec}" if decided else "NULL"},
                    {"'Not needed here'" if status == "returned" else "''"},
                    {"p.d_resp > 1800" if lf == "L1" else "false"}, p.opened + {created} {sec}, p.opened
                FROM bench_plan p WHERE {where}""")

    def _reviews(self, cur) -> None:
        causes = "(ARRAY[" + ",".join(f"'{c}'" for c in ROOT_CAUSES) + "])"
        cur.execute(f"""
            INSERT INTO escalations_review (case_id, status, root_cause, went_well, went_badly,
                escalation_warranted, prevention_actions, created_at, completed_at, case_level_id, case_team_id,
                case_category_id, case_priority, case_source)
            SELECT c.id, 'completed', {causes}[1 + (c.id % {len(ROOT_CAUSES)})], '', '',
                (c.id % 5) <> 0, 'Write a knowledge article', c.closed_at, c.closed_at, c.level_id, c.team_id,
                c.category_id, c.priority, c.source
            FROM bench_plan p JOIN escalations_case c ON c.id = p.case_id
            WHERE c.status = 'closed' AND c.escalation_count > 0 AND c.id % 10 = 0""")

    def sizes(self) -> dict[str, int]:
        """Row counts of the tables the reports read (estimates from the planner's statistics)."""
        out = {}
        with connection.cursor() as cur:
            for label, table in (
                ("cases", "escalations_case"),
                ("escalations", "escalations_escalation"),
                ("reviews", "escalations_review"),
                ("history_rows", "escalations_historicalcase"),
            ):
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
                out[label] = max(cur.fetchone()[0], 0)
        return out

    # -- timing ----------------------------------------------------------------------------
    def filter_sets(self) -> dict[str, dict]:
        """The filtered timings: the last 30 days, a range ended 60 days ago, each filter
        alone, pairs of them (a level or team with a case filter, two case filters), an
        imported attribute as a filter and as a breakdown, over the whole range."""
        team, category = "Bench L1 team A", "bench-0"
        return {
            "last 30 days": {"date_from": (START + timedelta(days=SPAN_DAYS - 29)).date()},
            # Days and weeks at both edges, and the backlog at a past moment (not "now").
            "ended 60 days ago": {
                "date_from": (START + timedelta(days=3)).date(),
                "date_to": (START + timedelta(days=SPAN_DAYS - 61)).date(),
            },
            "level L2": {"level": "L2"},
            "one team": {"team": team},
            "one category": {"category": category},
            "priority 2": {"priority": 2},
            "own source": {"source": OWN_SOURCE},
            "level + category": {"level": "L2", "category": category},
            "team + priority": {"team": team, "priority": 2},
            "category + priority": {"category": category, "priority": 2},
            # An imported attribute: the rollups' rows under it (a breakdown: the attribute rollup).
            "attribute": {"attr": f"{ATTRIBUTE}:C07"},
            "attribute + priority": {"attr": f"{ATTRIBUTE}:C07", "priority": 2},
            "by attribute": {"by": f"attr:{ATTRIBUTE}"},
        }

    def time_filtered(self, repeats: int = 1) -> dict[str, dict[str, float]]:
        """Per filter set, each report's median wall time (ms) after a warming run."""
        out = {}
        with own_source():
            for label, extra in self.filter_sets().items():
                extra = {"date_from": START.date(), "date_to": (START + timedelta(days=SPAN_DAYS)).date(), **extra}
                f = Filters(now=self.now, **extra)
                out[label] = {name: fig["ms"] for name, fig in self.time_reports(repeats, f).items()}
        return out

    def time_reports(self, repeats: int = 3, filters: Filters | None = None) -> dict[str, dict]:
        """Median wall time per report over the whole range (first call warms the cache)."""
        if filters is None:
            filters = Filters(date_from=START.date(), date_to=(START + timedelta(days=SPAN_DAYS)).date(), now=self.now)
        figures = {}
        for name, report in REGISTRY.items():
            try:
                report.run(filters)  # warm
            except FilterError:  # a report that refuses the filter (the forecast is per level, not team)
                continue
            samples, rows = [], 0
            for _ in range(repeats):
                started = time.perf_counter()
                result = report.run(filters)
                samples.append(time.perf_counter() - started)
                rows = sum(len(t.rows) for t in result.tables)
            figures[name] = {
                "ms": round(statistics.median(samples) * 1000, 1),
                "max_ms": round(max(samples) * 1000, 1),
                "rows": rows,
            }
        return figures


@contextmanager
def own_source():
    """The benchmark's source as a source filter's value, while the filtered reports are timed."""
    SOURCES[OWN_SOURCE] = SOURCE
    try:
        yield
    finally:
        SOURCES.pop(OWN_SOURCE, None)

"""SLA: response and resolution compliance per level and priority, breaches over time, time
to breach, and open cases close to breaching.

A clock is *met* when it stopped (responded / resolved) by its due time without a recorded
breach, *breached* when a breach was recorded or it stopped late or it is past due and
still running; clocks still running before their due time are not counted yet. Each level
restarts the response clock: the case row holds the clock of the level holding the case,
and each handoff records whether the clock of the level it left had been breached.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Count, F, Q, Sum

from escalations.models import OPEN_STATUSES
from escalations.reports.base import Chart, Column, Scope, Table, hours, pct, period_key, report, with_clock_note
from escalations.reports.sql import Seconds

RISK_HOURS = (1, 4, 24)


def _clock(scope: Scope, stop: str, due: str, breached: str) -> tuple[Q, Q]:
    met = Q(**{f"{stop}__isnull": False, f"{breached}__isnull": True, f"{stop}__lte": F(due)})
    late = (
        Q(**{f"{breached}__isnull": False})
        | Q(**{f"{stop}__gt": F(due)})
        | Q(
            **{f"{stop}__isnull": True, f"{due}__lt": scope.now, "paused_at__isnull": True, "status__in": OPEN_STATUSES}
        )
    )
    return met, late


def _groups(scope: Scope) -> list[dict]:
    """One pass over the cases: every figure of the report, per (period, level, priority)."""
    r_met, r_late = _clock(scope, "responded_at", "response_due_at", "response_breached_at")
    s_met, s_late = _clock(scope, "resolved_at", "resolution_due_at", "resolution_breached_at")
    running = Q(status__in=OPEN_STATUSES, resolution_breached_at__isnull=True, resolution_due_at__gt=scope.now)
    return list(
        scope.cases()
        .annotate(period=scope.trunc("opened_at"))
        .values("period", "level_id", "priority")
        .annotate(
            cases=Count("pk"),
            r_met=Count("pk", filter=r_met),
            r_late=Count("pk", filter=r_late),
            s_met=Count("pk", filter=s_met),
            s_late=Count("pk", filter=s_late),
            made=Count("pk", filter=Q(source_made_sla=True)),
            verdicts=Count("pk", filter=Q(source_made_sla__isnull=False)),
            r_n=Count("response_breached_at"),
            r_sum=Sum(Seconds("response_breached_at", "level_entered_at")),
            s_n=Count("resolution_breached_at"),
            s_sum=Sum(Seconds("resolution_breached_at", "opened_at")),
            **{
                f"risk_{h}h": Count("pk", filter=running & Q(resolution_due_at__lte=scope.now + timedelta(hours=h)))
                for h in RISK_HOURS
            },
        )
    )


def _compliance(scope: Scope, groups: list[dict]) -> list[Table]:
    cells: dict = defaultdict(Counter)
    periods: dict = defaultdict(Counter)
    for g in groups:
        cell = cells[(g["level_id"], g["priority"])]
        for k in ("cases", "r_met", "r_late", "s_met", "s_late", "made", "verdicts"):
            cell[k] += g[k]
        p = periods[period_key(g["period"])]
        p["cases"] += g["cases"]
        p["r_late"] += g["r_late"]
        p["s_late"] += g["s_late"]
    rows = []
    for lv in scope.ladder():
        for prio in (1, 2, 3, 4):
            c = cells.get((lv.pk, prio))
            if not c:
                continue
            rows.append(
                [
                    f"{lv.code} P{prio}",
                    lv.code,
                    prio,
                    c["cases"],
                    c["r_met"],
                    c["r_late"],
                    pct(c["r_met"], c["r_met"] + c["r_late"]),
                    c["s_met"],
                    c["s_late"],
                    pct(c["s_met"], c["s_met"] + c["s_late"]),
                    c["verdicts"],
                    pct(c["made"], c["verdicts"]),
                ]
            )
    by_cell = Table(
        "compliance",
        "Compliance by level and priority",
        [
            Column("cell", "Level / priority", "text"),
            Column("level", "Level", "text"),
            Column("priority", "Priority"),
            Column("cases", "Cases"),
            Column("response_met", "Response met"),
            Column("response_breached", "Response breached"),
            Column("response_pct", "Response %", "pct"),
            Column("resolution_met", "Resolution met"),
            Column("resolution_breached", "Resolution breached"),
            Column("resolution_pct", "Resolution %", "pct"),
            Column("source_verdicts", "Source verdicts"),
            Column("source_pct", "Source made SLA %", "pct"),
        ],
        rows,
        Chart("bar", "cell", ["response_pct", "resolution_pct"]),
        note="Level = the level holding the case now (or when it was resolved). 'Source made SLA' is the "
        "imported log's own verdict (UCI made_sla), where there is one.",
    )
    over_time = Table(
        "breaches",
        "Breaches among cases opened per period",
        [
            Column("period", "Period", "date"),
            Column("cases", "Cases"),
            Column("response_breached", "Response breached"),
            Column("resolution_breached", "Resolution breached"),
        ],
        [[day, periods[day]["cases"], periods[day]["r_late"], periods[day]["s_late"]] for day in scope.periods()],
        Chart("line", "period", ["response_breached", "resolution_breached"]),
    )
    return [by_cell, over_time]


def _time_to_breach(groups: list[dict]) -> Table:
    keys = ("r_n", "r_sum", "s_n", "s_sum", *(f"risk_{h}h" for h in RISK_HOURS))
    by_prio: dict = defaultdict(Counter)
    for g in groups:
        for k in keys:
            by_prio[g["priority"]][k] += g[k] or 0
    rows = []
    for prio in sorted(by_prio):
        c = by_prio[prio]
        rows.append(
            [
                f"P{prio}",
                c["r_n"],
                hours(c["r_sum"] / c["r_n"]) if c["r_n"] else None,
                c["s_n"],
                hours(c["s_sum"] / c["s_n"]) if c["s_n"] else None,
                *(c[f"risk_{h}h"] for h in RISK_HOURS),
            ]
        )
    return Table(
        "time_to_breach",
        "Time to breach",
        [
            Column("priority", "Priority", "text"),
            Column("response_breaches", "Response breaches"),
            Column("response_mean_h", "Mean h to response breach", "hours"),
            Column("resolution_breaches", "Resolution breaches"),
            Column("resolution_mean_h", "Mean h to resolution breach", "hours"),
            *(Column(f"at_risk_{h}h", f"Open, breaching within {h} h") for h in RISK_HOURS),
        ],
        rows,
        Chart("bar", "priority", ["resolution_mean_h", "response_mean_h"]),
        note="Hours from the clock's start (level entry for response, opening for resolution) to the "
        "recorded breach, wall-clock time. At risk: open cases whose resolution falls due that soon "
        "(each column includes the shorter ones).",
    )


def _every_visit(scope: Scope, groups: list[dict]) -> Table:
    """Response compliance per level over every visit: visits ended by a handoff raised in the
    range (its ``response_breached``), and the visits of the levels holding the cases opened
    in the range (from the pass above)."""
    left = {
        g["from_level_id"]: g
        for g in scope.escalations()
        .values("from_level_id")
        .annotate(n=Count("pk"), breached=Count("pk", filter=Q(response_breached=True)))
    }
    final: dict = defaultdict(Counter)
    for g in groups:
        final[g["level_id"]]["met"] += g["r_met"]
        final[g["level_id"]]["late"] += g["r_late"]
    rows = []
    for lv in scope.ladder():
        h, f = left.get(lv.pk, {"n": 0, "breached": 0}), final.get(lv.pk, Counter())
        met, late = h["n"] - h["breached"] + f["met"], h["breached"] + f["late"]
        if met or late:
            rows.append([lv.code, h["n"], h["breached"], f["met"], f["late"], met, late, pct(met, met + late)])
    return Table(
        "response_by_level",
        "Response compliance per level, every visit",
        [
            Column("level", "Level", "text"),
            Column("left_by_handoff", "Visits ended by a handoff"),
            Column("left_breached", "of which breached"),
            Column("holding_met", "Holding level: met"),
            Column("holding_breached", "Holding level: breached"),
            Column("met", "Met"),
            Column("breached", "Breached"),
            Column("pct", "Response %", "pct"),
        ],
        rows,
        Chart("bar", "level", ["pct"]),
        note="A level's response clock restarts at each visit. Visits ended by a handoff raised in the "
        "range count as met unless the handoff recorded a breach; the holding level's clock counts "
        "as in the table above.",
    )


@report(
    "sla",
    "SLA compliance",
    "Cases opened in the range: response and resolution compliance per level and priority, response "
    "compliance at every level visited, breaches per period, time to breach, open cases about to breach.",
)
def sla(scope: Scope) -> list[Table]:
    groups = _groups(scope)
    tables = [*_compliance(scope, groups), _every_visit(scope, groups), _time_to_breach(groups)]
    return with_clock_note(scope, tables)

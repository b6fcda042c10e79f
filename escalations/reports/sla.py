"""SLA and OLA (docs/counting-time.md): what the customer saw per priority, each level's own
targets per level, compliance per level and priority, breaches over time, time to breach,
and open cases close to breaching.

A clock is *met* when it stopped by its due time without a recorded breach, *breached* when
a breach was recorded or it stopped late or it is past due and still running; clocks still
running before their due time are not counted yet. The SLA (the customer's) runs from
intake: its response stops at the first contact with the customer, its resolution at the
resolution; escalation never moves it. The OLA restarts at each level: the case row holds
the OLA of the level holding the case, and each handoff records whether the OLA response
and work targets of the level it left had been breached.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Count, F, Q, Sum

from escalations.models import OPEN_STATUSES
from escalations.reports.base import (
    Chart,
    Column,
    Scope,
    Table,
    count_cases,
    hours,
    pct,
    period_key,
    report,
    with_clock_note,
)
from escalations.reports.sql import Seconds
from escalations.rollups import read as rollups

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


def _running(scope: Scope) -> list[dict]:
    """What depends on the moment of the report, per (period, level, priority): clocks still
    running past their due time and open cases about to breach. Only open cases have them,
    so this reads the open cases' clocks (their own index), not every case."""
    late = {}
    for k, stop, due, breached in (
        ("r", "first_response_at", "response_due_at", "response_breached_at"),
        ("s", "resolved_at", "resolution_due_at", "resolution_breached_at"),
        ("o", "responded_at", "ola_response_due_at", "ola_response_breached_at"),
        ("w", "resolved_at", "ola_work_due_at", "ola_work_breached_at"),
    ):
        q = Q(
            **{f"{stop}__isnull": True, f"{breached}__isnull": True, f"{due}__lt": scope.now, "paused_at__isnull": True}
        )
        late[f"{k}_late"] = count_cases(q)  # opened_at, not pk: the clocks' index has no id
    running = Q(resolution_breached_at__isnull=True, resolution_due_at__gt=scope.now)
    return list(
        scope.cases()
        .filter(status__in=OPEN_STATUSES)
        .annotate(period=scope.trunc("opened_at"))
        .values("period", "level_id", "priority")
        .annotate(
            **late,
            **{
                f"risk_{h}h": count_cases(running & Q(resolution_due_at__lte=scope.now + timedelta(hours=h)))
                for h in RISK_HOURS
            },
        )
    )


def _groups(scope: Scope) -> list[dict]:
    """Every figure of the report, per (period, level, priority): from the rollups (what the
    cases' columns decide) and the open cases (what depends on now), or in one pass over the
    cases when the rollups cannot answer the filters."""
    if rollups.usable(scope):
        groups = {(g["period"], g["level_id"], g["priority"]): g for g in rollups.sla_groups(scope)}
        risks = {f"risk_{h}h": 0 for h in RISK_HOURS}
        for g in groups.values():
            g.update(risks)
        for r in _running(scope):
            g = groups[(period_key(r["period"]), r["level_id"], r["priority"])]
            for k, v in r.items():
                if k not in ("period", "level_id", "priority"):
                    g[k] += v
        return list(groups.values())
    r_met, r_late = _clock(scope, "first_response_at", "response_due_at", "response_breached_at")
    s_met, s_late = _clock(scope, "resolved_at", "resolution_due_at", "resolution_breached_at")
    o_met, o_late = _clock(scope, "responded_at", "ola_response_due_at", "ola_response_breached_at")
    w_met, w_late = _clock(scope, "resolved_at", "ola_work_due_at", "ola_work_breached_at")
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
            o_met=Count("pk", filter=o_met),
            o_late=Count("pk", filter=o_late),
            w_met=Count("pk", filter=w_met),
            w_late=Count("pk", filter=w_late),
            fr_n=Count("first_response_at"),
            fr_sum=Sum(Seconds("first_response_at", "opened_at")),
            made=Count("pk", filter=Q(source_made_sla=True)),
            verdicts=Count("pk", filter=Q(source_made_sla__isnull=False)),
            r_n=Count("response_breached_at"),
            r_sum=Sum(Seconds("response_breached_at", "opened_at")),
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
        note="The customer's SLA; level = the level holding the case now (or when it was resolved). "
        "'Source made SLA' is the "
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
        note="SLA clocks: hours from opening to the recorded breach, wall-clock time. At risk: open cases whose resolution falls due that soon "
        "(each column includes the shorter ones).",
    )


def _by_priority(groups: list[dict]) -> Table:
    """The SLA as the customer saw it: one row per priority, whatever level held the case."""
    by_prio: dict = defaultdict(Counter)
    for g in groups:
        for k in ("cases", "r_met", "r_late", "s_met", "s_late", "fr_n", "fr_sum"):
            by_prio[g["priority"]][k] += g[k] or 0
    rows = []
    for prio in sorted(by_prio):
        c = by_prio[prio]
        rows.append(
            [
                f"P{prio}",
                c["cases"],
                c["r_met"],
                c["r_late"],
                pct(c["r_met"], c["r_met"] + c["r_late"]),
                hours(c["fr_sum"] / c["fr_n"]) if c["fr_n"] else None,
                c["s_met"],
                c["s_late"],
                pct(c["s_met"], c["s_met"] + c["s_late"]),
            ]
        )
    return Table(
        "sla_by_priority",
        "SLA compliance per priority (what the customer saw)",
        [
            Column("priority", "Priority", "text"),
            Column("cases", "Cases"),
            Column("response_met", "First response met"),
            Column("response_breached", "First response breached"),
            Column("response_pct", "First response %", "pct"),
            Column("first_response_mean_h", "Mean h to first response", "hours"),
            Column("resolution_met", "Resolution met"),
            Column("resolution_breached", "Resolution breached"),
            Column("resolution_pct", "Resolution %", "pct"),
        ],
        rows,
        Chart("bar", "priority", ["response_pct", "resolution_pct"]),
        note="The customer's SLA, set at intake from policy x priority and never moved by escalation. First "
        "response = first contact with the customer (a public update, the resolution e-mail or a recorded "
        "call); taking or accepting the case does not count. Imported logs use their own mapping (README).",
    )


def _ola_by_level(scope: Scope, groups: list[dict]) -> Table:
    """Each level's OLA over every visit: visits ended by a handoff raised in the range (its
    ``response_breached`` / ``work_breached``), and the visits of the levels holding the cases
    opened in the range (from the pass above)."""
    if rollups.usable(scope):
        left_groups = rollups.handoffs_left(scope)
    else:
        left_groups = (
            scope.escalations()
            .values("from_level_id")
            .annotate(
                n=Count("pk"),
                breached=Count("pk", filter=Q(response_breached=True)),
                work_breached=Count("pk", filter=Q(work_breached=True)),
            )
        )
    left = {g["from_level_id"]: g for g in left_groups}
    final: dict = defaultdict(Counter)
    for g in groups:
        for k in ("o_met", "o_late", "w_met", "w_late"):
            final[g["level_id"]][k] += g[k]
    rows = []
    for lv in scope.ladder():
        h = left.get(lv.pk, {"n": 0, "breached": 0, "work_breached": 0})
        f = final.get(lv.pk, Counter())
        r_met, r_late = h["n"] - h["breached"] + f["o_met"], h["breached"] + f["o_late"]
        w_met, w_late = h["n"] - h["work_breached"] + f["w_met"], h["work_breached"] + f["w_late"]
        if r_met or r_late or w_met or w_late:
            rows.append(
                [lv.code, h["n"], r_met, r_late, pct(r_met, r_met + r_late), w_met, w_late, pct(w_met, w_met + w_late)]
            )
    return Table(
        "ola_by_level",
        "OLA compliance per level, every visit (how each tier performed)",
        [
            Column("level", "Level", "text"),
            Column("left_by_handoff", "Visits ended by a handoff"),
            Column("response_met", "Accept/response met"),
            Column("response_breached", "Accept/response breached"),
            Column("response_pct", "Accept/response %", "pct"),
            Column("work_met", "Work met"),
            Column("work_breached", "Work breached"),
            Column("work_pct", "Work %", "pct"),
        ],
        rows,
        Chart("bar", "level", ["response_pct", "work_pct"]),
        note="Each level's own targets (the level table), restarted at each visit: accept/response = the "
        "level took the case on; work = it resolved it or handed it on. Visits ended by a handoff raised in "
        "the range count as met unless the handoff recorded a breach; the holding level's clocks count as "
        "in the SLA tables.",
    )


@report(
    "sla",
    "SLA compliance",
    "Cases opened in the range: the customer's SLA per priority and per level and priority, each "
    "level's OLA at every visit, breaches per period, time to breach, open cases about to breach.",
    compare=("cases", "response_met", "resolution_met", "made_sla"),
)
def sla(scope: Scope) -> list[Table]:
    groups = _groups(scope)
    tables = [_by_priority(groups), *_compliance(scope, groups), _ola_by_level(scope, groups), _time_to_breach(groups)]
    return with_clock_note(scope, tables)

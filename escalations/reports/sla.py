"""SLA: response and resolution compliance per level and priority, breaches over time, time
to breach, and open cases close to breaching.

A clock is *met* when it stopped (responded / resolved) by its due time without a recorded
breach, *breached* when a breach was recorded or it stopped late or it is past due and
still running; clocks still running before their due time are not counted yet. The
response clock is the one of the level holding the case (each level restarts it; see
README "Reports" for what earlier levels' clocks would need).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Avg, Count, F, Q

from ..models import OPEN_STATUSES
from .base import Chart, Column, Scope, Table, hours, pct, period_key, report
from .sql import Median, Seconds


def _clock(scope: Scope, stop: str, due: str, breached: str) -> tuple[Q, Q]:
    met = Q(**{f"{stop}__isnull": False, f"{breached}__isnull": True, f"{stop}__lte": F(due)})
    late = (Q(**{f"{breached}__isnull": False}) | Q(**{f"{stop}__gt": F(due)})
            | Q(**{f"{stop}__isnull": True, f"{due}__lt": scope.now, "paused_at__isnull": True,
                   "status__in": OPEN_STATUSES}))
    return met, late


def _compliance(scope: Scope) -> list[Table]:
    r_met, r_late = _clock(scope, "responded_at", "response_due_at", "response_breached_at")
    s_met, s_late = _clock(scope, "resolved_at", "resolution_due_at", "resolution_breached_at")
    groups = (scope.cases().annotate(period=scope.trunc("opened_at"))
              .values("period", "level_id", "priority")
              .annotate(cases=Count("pk"), r_met=Count("pk", filter=r_met), r_late=Count("pk", filter=r_late),
                        s_met=Count("pk", filter=s_met), s_late=Count("pk", filter=s_late),
                        made=Count("pk", filter=Q(source_made_sla=True)),
                        verdicts=Count("pk", filter=Q(source_made_sla__isnull=False))))
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
            rows.append([f"{lv.code} P{prio}", lv.code, prio, c["cases"], c["r_met"], c["r_late"],
                         pct(c["r_met"], c["r_met"] + c["r_late"]), c["s_met"], c["s_late"],
                         pct(c["s_met"], c["s_met"] + c["s_late"]), c["verdicts"], pct(c["made"], c["verdicts"])])
    by_cell = Table(
        "compliance", "Compliance by level and priority",
        [Column("cell", "Level / priority", "text"), Column("level", "Level", "text"),
         Column("priority", "Priority"), Column("cases", "Cases"),
         Column("response_met", "Response met"), Column("response_breached", "Response breached"),
         Column("response_pct", "Response %", "pct"), Column("resolution_met", "Resolution met"),
         Column("resolution_breached", "Resolution breached"), Column("resolution_pct", "Resolution %", "pct"),
         Column("source_verdicts", "Source verdicts"), Column("source_pct", "Source made SLA %", "pct")],
        rows, Chart("bar", "cell", ["response_pct", "resolution_pct"]),
        note="Level = the level holding the case now (or when it was resolved). 'Source made SLA' is the "
             "imported log's own verdict (UCI made_sla), where there is one.",
    )
    over_time = Table(
        "breaches", "Breaches among cases opened per period",
        [Column("period", "Period", "date"), Column("cases", "Cases"),
         Column("response_breached", "Response breached"), Column("resolution_breached", "Resolution breached")],
        [[day, periods[day]["cases"], periods[day]["r_late"], periods[day]["s_late"]] for day in scope.periods()],
        Chart("line", "period", ["response_breached", "resolution_breached"]),
    )
    return [by_cell, over_time]


def _time_to_breach(scope: Scope) -> Table:
    to_resp = Seconds("response_breached_at", "level_entered_at")
    to_resol = Seconds("resolution_breached_at", "opened_at")
    open_q = Q(status__in=OPEN_STATUSES, resolution_breached_at__isnull=True, resolution_due_at__gt=scope.now)
    groups = {g["priority"]: g for g in scope.cases().values("priority").annotate(
        r_n=Count("pk", filter=Q(response_breached_at__isnull=False)),
        r_avg=Avg(to_resp), r_med=Median(to_resp),
        s_n=Count("pk", filter=Q(resolution_breached_at__isnull=False)),
        s_avg=Avg(to_resol), s_med=Median(to_resol),
        risk_1h=Count("pk", filter=open_q & Q(resolution_due_at__lte=scope.now + timedelta(hours=1))),
        risk_4h=Count("pk", filter=open_q & Q(resolution_due_at__lte=scope.now + timedelta(hours=4))),
        risk_24h=Count("pk", filter=open_q & Q(resolution_due_at__lte=scope.now + timedelta(hours=24))),
    )}
    rows = []
    for prio in (1, 2, 3, 4):
        g = groups.get(prio)
        if g is None:
            continue
        rows.append([f"P{prio}", g["r_n"], hours(g["r_avg"]), hours(g["r_med"]), g["s_n"], hours(g["s_avg"]),
                     hours(g["s_med"]), g["risk_1h"], g["risk_4h"], g["risk_24h"]])
    return Table(
        "time_to_breach", "Time to breach",
        [Column("priority", "Priority", "text"), Column("response_breaches", "Response breaches"),
         Column("response_mean_h", "Mean h to response breach", "hours"),
         Column("response_median_h", "Median h to response breach", "hours"),
         Column("resolution_breaches", "Resolution breaches"),
         Column("resolution_mean_h", "Mean h to resolution breach", "hours"),
         Column("resolution_median_h", "Median h to resolution breach", "hours"),
         Column("at_risk_1h", "Open, breaching within 1 h"), Column("at_risk_4h", "within 4 h"),
         Column("at_risk_24h", "within 24 h")],
        rows, Chart("bar", "priority", ["resolution_median_h", "response_median_h"]),
        note="Hours from the clock's start (level entry for response, opening for resolution) to the "
             "recorded breach, in wall-clock time. At risk: open cases whose resolution is due soon.",
    )


@report("sla", "SLA compliance",
        "Cases opened in the range: response and resolution compliance per level and priority, breaches "
        "per period, time to breach, and open cases about to breach.")
def sla(scope: Scope) -> list[Table]:
    return [*_compliance(scope), _time_to_breach(scope)]

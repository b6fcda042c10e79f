"""Speed: time to first response and to resolve, time to accept an escalation, and the time
spent at each level, for the cases opened in the range. Two passes: one over the cases (a
histogram per median, both filled in the same pass), one over their handoffs (which carry
their case's opening moment, so they need no join to the cases).

Time at a level needs no per-case timeline. Measured from each case's opening, a level's
total time is the sum of the moments cases left it minus the sum of the moments they
entered it; opening is moment 0, so the first level's entry adds nothing. Entries and
exits are the handoff rows (an escalation leaves ``from`` and enters ``to`` when raised;
a returned one leaves ``to`` and re-enters ``from`` when decided) plus the case itself,
which leaves its last level when resolved (or is still there now). So grouped sums give
every level's total, and the number of exits is the number of visits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

from django.db.models import Case as DjCase
from django.db.models import When
from django.utils import timezone

from escalations.models import EscalationKind, EscalationStatus
from escalations.reports.base import Chart, Column, Scope, Table, hours, pct, report
from escalations.reports.sql import Figures, Seconds, histograms, joined_row_by_row
from escalations.rollups import read as rollups

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)


def _case_figures(scope: Scope) -> dict:
    if rollups.durations_usable(scope):
        return _case_figures_rolled(scope)
    return _case_figures_from_cases(scope)


def _case_figures_rolled(scope: Scope) -> dict:
    """As ``_case_figures_from_cases``, from the rollups: counts and open time per level,
    histograms of the whole weeks and months, and of the days at the edges from the cases
    (merged bucket by bucket, so the medians are the same)."""
    out: dict = defaultdict(lambda: {"first": Figures(), "resolve": Figures(), "cases": 0, "leave": 0.0})
    for level_id, f in rollups.case_levels(scope).items():
        out[level_id]["cases"] += f["cases"]
        out[level_id]["leave"] += f["open_s"]
    buckets: dict = defaultdict(lambda: [0, 0.0])
    pieces = rollups.cover(scope.f.date_from, scope.f.date_to, ("m", "w"))
    for r in rollups.duration_histograms(scope, pieces):
        b = buckets[(r["level_id"], r["measure"], r["bucket"])]
        b[0] += r["n"]
        b[1] += r["s"]
    first, resolve = Seconds("first_response_at", "opened_at"), Seconds("resolved_at", "opened_at")
    for grain, a, z in pieces:
        if grain != "facts":
            continue
        start = timezone.make_aware(datetime.combine(a, time.min))
        end = timezone.make_aware(datetime.combine(z + timedelta(days=1), time.min))
        edge = scope.cases(None).filter(opened_at__gte=start, opened_at__lt=end)
        for measure, groups in enumerate(histograms(edge, ["level_id"], [first, resolve]), start=1):
            for g in groups:
                if g["b"] is not None:
                    b = buckets[(g["key"][0], measure, int(g["b"]))]
                    b[0] += g["n"]
                    b[1] += g["s"]
    for (level_id, measure, bucket), (n, total) in buckets.items():
        if n:
            f = out[level_id]
            f["first" if measure == 1 else "resolve"].add(bucket, n, total)
            if measure == 2:
                f["leave"] += total
    return out


def _case_figures_from_cases(scope: Scope) -> dict:
    """Per level holding the case: first response, resolution and leaving (resolution, or
    the scope's horizon for a case still open), each from opening. One pass, a histogram
    per median."""
    first, resolve = Seconds("first_response_at", "opened_at"), Seconds("resolved_at", "opened_at")
    still_open = DjCase(When(resolved_at__isnull=True, then=Seconds(scope.open_until(), "opened_at")))
    out: dict = defaultdict(lambda: {"first": Figures(), "resolve": Figures(), "cases": 0, "leave": 0.0})
    by_first, by_resolve = histograms(scope.cases(), ["level_id"], [first, resolve], [still_open])
    for g in by_first:
        f = out[g["key"][0]]
        f["first"].add(g["b"], g["n"], g["s"])
        f["cases"] += g["rows"]
        f["leave"] += g["totals"][0] or 0.0
    for g in by_resolve:
        f = out[g["key"][0]]
        f["resolve"].add(g["b"], g["n"], g["s"])
        f["leave"] += g["s"] or 0.0  # a resolved case leaves its level when resolved
    return out


def _handoff_figures(scope: Scope) -> dict:
    if not rollups.usable(scope):
        return _handoff_figures_from_handoffs(scope.handoffs_of_cases())
    out: dict = defaultdict(lambda: {"n": 0, "raised": 0.0, "decided": 0.0, "wait": Figures()})
    for r in rollups.handoff_figures(scope):
        f = out[(r["kind"], r["status"], r["from_level_id"], r["to_level_id"])]
        f["n"] += r["n"]
        f["raised"] += r["raised"] or 0.0
        f["decided"] += r["decided"] or 0.0
        if r["bucket"] != -1:
            f["wait"].add(r["bucket"], r["n"], r["wait"])
    return out


def _handoff_figures_from_handoffs(handoffs) -> dict:
    """``handoffs`` by kind, outcome and ends: how many, when raised and decided (from the
    case's opening, which each handoff carries), and the wait to acceptance as a histogram.
    One pass."""
    out: dict = defaultdict(lambda: {"n": 0, "raised": 0.0, "decided": 0.0, "wait": Figures()})
    (groups,) = histograms(
        handoffs,
        ["kind", "status", "from_level_id", "to_level_id"],
        [Seconds("decided_at", "created_at")],
        [Seconds("created_at", "case_opened_at"), Seconds("decided_at", "case_opened_at")],
    )
    for g in groups:
        f = out[g["key"]]
        f["n"] += g["rows"]
        f["raised"] += g["totals"][0] or 0.0
        f["decided"] += g["totals"][1] or 0.0
        f["wait"].add(g["b"], g["n"], g["s"])
    return out


def _case_speed(scope: Scope, cases: dict) -> Table:
    rows = []
    for lv in scope.ladder():
        f = cases.get(lv.pk)
        if f is None:
            continue
        first, resolve = f["first"], f["resolve"]
        rows.append(
            [
                lv.code,
                f["cases"],
                first.n,
                hours(first.mean),
                hours(first.median),
                resolve.n,
                hours(resolve.mean),
                hours(resolve.median),
            ]
        )
    return Table(
        "response_resolution",
        "Time to first response and to resolve",
        [
            Column("level", "Level", "text"),
            Column("cases", "Cases"),
            Column("responded", "Responded"),
            Column("first_response_mean_h", "First response mean h", "hours"),
            Column("first_response_median_h", "First response median h", "hours"),
            Column("resolved", "Resolved"),
            Column("resolve_mean_h", "Resolve mean h", "hours"),
            Column("resolve_median_h", "Resolve median h", "hours"),
        ],
        rows,
        Chart("bar", "level", ["first_response_median_h", "resolve_median_h"]),
        note="By the level holding the case now (or when resolved); hours from opening. Medians are "
        "exact to the minute below a day (coarser above; see README, Reports).",
    )


def _accept_speed(scope: Scope, handoffs: dict) -> Table:
    per_level: dict = defaultdict(Counter)
    waits: dict = defaultdict(Figures)
    for (kind, status, _from_id, to_id), f in handoffs.items():
        if kind not in UP:
            continue
        per_level[to_id][status] += f["n"]
        if status == EscalationStatus.ACCEPTED:
            for b in f["wait"].buckets:
                waits[to_id].add(*b)
    rows = []
    for lv in scope.ladder():
        c = per_level.get(lv.pk)
        if not c:
            continue
        w = waits[lv.pk]
        rows.append(
            [
                lv.code,
                sum(c.values()),
                c[EscalationStatus.ACCEPTED],
                c[EscalationStatus.RETURNED],
                c[EscalationStatus.PENDING],
                hours(w.mean),
                hours(w.median),
            ]
        )
    return Table(
        "accept",
        "Time to accept an escalation",
        [
            Column("level", "Receiving level", "text"),
            Column("handoffs", "Escalations"),
            Column("accepted", "Accepted"),
            Column("returned", "Returned"),
            Column("pending", "Pending"),
            Column("accept_mean_h", "Accept mean h", "hours"),
            Column("accept_median_h", "Accept median h", "hours"),
        ],
        rows,
        Chart("bar", "level", ["accept_mean_h", "accept_median_h"]),
        note="Escalations of the cases opened in the range (with a level or team filter, those "
        "to or from it, like every handoff figure); hours from the handoff to its acceptance.",
    )


def _time_at_levels(scope: Scope, cases: dict, handoffs: dict) -> Table:
    total, exits = Counter(), Counter()
    for level_id, f in cases.items():
        total[level_id] += f["leave"]
        exits[level_id] += f["cases"]
    for (_kind, status, from_id, to_id), f in handoffs.items():
        total[from_id] += f["raised"]
        total[to_id] -= f["raised"]
        exits[from_id] += f["n"]
        if status == EscalationStatus.RETURNED:
            total[to_id] += f["decided"]
            total[from_id] -= f["decided"]
            exits[to_id] += f["n"]
    # Under a level filter alone, the level's own row: its visits begin and end at the
    # handoffs to and from it (the ones the filter selects) and at its cases' resolutions;
    # the other levels' rows would miss their handoffs elsewhere.
    ladder = [lv for lv in scope.ladder() if _level_only(scope) is None or lv.pk == scope.level.pk]
    grand = sum(total[lv.pk] for lv in ladder)
    rows = [
        [lv.code, exits[lv.pk], hours(total[lv.pk]), hours(total[lv.pk] / exits[lv.pk]), pct(total[lv.pk], grand)]
        for lv in ladder
        if exits[lv.pk]
    ]
    return Table(
        "time_at_level",
        "Time spent at each level",
        [
            Column("level", "Level", "text"),
            Column("visits", "Visits"),
            Column("total_h", "Total h", "hours"),
            Column("mean_h", "Mean h per visit", "hours"),
            Column("share", "Share of time %", "pct"),
        ],
        rows,
        Chart("bar", "level", ["mean_h"]),
        note="From opening to resolution, wall-clock time; a case still open is measured to the end of "
        "the range (not past today, nor past the end of an imported log's data). A visit starts when "
        "the case arrives at the level (opening, escalation, return, de-escalation). Under a level "
        "filter, that level's visits; under a team filter, every level the team's cases passed.",
    )


@report(
    "speed",
    "Speed",
    "Cases opened in the range: mean and median time to first response, to accept an escalation and "
    "to resolve, per level; time spent at each level.",
    compare=("cases", "hours_to_first_response", "hours_to_resolve"),
)
def speed(scope: Scope) -> list[Table]:
    cases, handoffs = _case_figures(scope), _handoff_figures(scope)
    # Time at each level adds each case's handoffs to its own figures. Under a level filter
    # alone the handoffs to or from the level are its visits' ends. Under a team filter it
    # takes every handoff of the cases the team holds, from the facts: a team also changes
    # by reassignment, which no handoff records, so its visits cannot be told from handoffs.
    held = handoffs
    if scope.team is not None:
        with joined_row_by_row():  # the team's cases with a handoff, each probed for them
            held = _handoff_figures_from_handoffs(scope.handoffs_of_held_cases())
    return [_case_speed(scope, cases), _accept_speed(scope, handoffs), _time_at_levels(scope, cases, held)]


def _level_only(scope: Scope):
    return scope.level if scope.level is not None and scope.team is None else None

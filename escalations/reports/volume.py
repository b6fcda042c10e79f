"""Volume: cases opened, and handoffs by transition, per period."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Count, F, Q

from escalations.models import EscalationKind, EscalationStatus
from escalations.reports.base import Chart, Column, Scope, Table, count_cases, pct, period_key, report
from escalations.rollups import read as rollups

K, S = EscalationKind, EscalationStatus
UP = (K.ESCALATE, K.JUMP)


def transition_label(scope: Scope, kind: str, from_id: int, to_id: int) -> str:
    """ "L1->L2" for a move to the next level; skip-level for a jump or any wider move up."""
    ladder = [lv.pk for lv in scope.ladder()]
    if kind == K.JUMP or ladder.index(to_id) - ladder.index(from_id) > 1:
        return "skip-level"
    return f"{scope.level_code(from_id)}->{scope.level_code(to_id)}"


def _opened(scope: Scope) -> list[Table]:
    """Cases opened per period by priority, and how far they climbed: one pass."""
    ladder = scope.ladder()
    first = ladder[0].pk if ladder else None
    if rollups.usable(scope):
        by_period = rollups.opened_by_period(scope, first)
    else:
        by_period = _opened_from_cases(scope, first)
    out = []
    for day in scope.periods():
        r = by_period.get(day, {})
        out.append([day, r.get("n", 0), *(r.get(f"p{p}", 0) for p in (1, 2, 3, 4))])
    opened = Table(
        "opened",
        "Cases opened",
        [
            Column("period", "Period", "date"),
            Column("opened", "Opened"),
            *(Column(f"p{p}", f"P{p}") for p in (1, 2, 3, 4)),
        ],
        out,
        Chart("bar", "period", ["p1", "p2", "p3", "p4"], stacked=True),
        note="Cases by the period they were opened in, split by priority.",
    )
    total = Counter()
    for r in by_period.values():
        total.update({k: r[k] for k in ("n", "escalated", "above_first", "came_down")})
    total["moved_down"] = moved_down(scope)
    moved = Table(
        "cases_moved",
        "How far the cases opened climbed",
        [Column("measure", "Measure", "text"), Column("cases", "Cases"), Column("share", "% of opened", "pct")],
        [
            [label, total[k], pct(total[k], total["n"])]
            for label, k in (
                ("Cases opened", "n"),
                ("Escalated at least once", "escalated"),
                (f"Reached a level above {ladder[0].code if ladder else '-'}", "above_first"),
                ("Moved down at least once (returned or de-escalated)", "moved_down"),
                ("Ended below the highest level they reached", "came_down"),
            )
        ],
        note="Moved down at least once: the case had a handoff returned by the receiving level or a "
        "de-escalation, whatever happened after. Ended below its highest level: where the case is now "
        "(or was when resolved) is lower than the highest level it reached; a case moved down and later "
        "escalated again to that height is in the first figure, not in the second.",
    )
    return [opened, moved]


def _opened_from_cases(scope: Scope, first) -> dict:
    rows = (
        scope.cases()
        .annotate(period=scope.trunc("opened_at"))
        .values("period")
        .annotate(
            n=count_cases(),
            **{f"p{p}": count_cases(Q(priority=p)) for p in (1, 2, 3, 4)},
            escalated=count_cases(Q(escalation_count__gt=0)),
            above_first=count_cases(~Q(highest_level_id=first)),
            came_down=count_cases(~Q(level_id=F("highest_level_id"))),
        )
    )
    return {period_key(r["period"]): r for r in rows}


def moved_down(scope: Scope) -> int:
    """Cases of the scope with at least one return or de-escalation (each case counts its
    own, ``Case.moved_down_count``)."""
    if rollups.usable(scope):
        return rollups.moved_down(scope)
    return scope.cases().aggregate(n=count_cases(Q(moved_down_count__gt=0)))["n"]


def _handoffs(scope: Scope) -> list[Table]:
    if rollups.usable(scope):
        groups = rollups.handoffs_by_period(scope)
    else:
        groups = (
            scope.escalations()
            .annotate(period=scope.trunc("created_at"))
            .values("period", "kind", "status", "from_level_id", "to_level_id")
            .annotate(n=Count("pk"))
        )
    per_period: dict = defaultdict(Counter)
    totals: dict = defaultdict(Counter)
    labels: list[str] = []
    for g in groups:
        if g["kind"] in UP:
            label = transition_label(scope, g["kind"], g["from_level_id"], g["to_level_id"])
            if label not in labels:
                labels.append(label)
            per_period[period_key(g["period"])][label] += g["n"]
            totals[label][g["status"]] += g["n"]
            if g["status"] == S.RETURNED:
                per_period[period_key(g["period"])]["returned"] += g["n"]
        else:
            per_period[period_key(g["period"])]["de-escalation"] += g["n"]
            totals["de-escalation"][S.ACCEPTED] += g["n"]
    labels.sort(key=lambda s: (s == "skip-level", s))
    series = labels + ["returned", "de-escalation"]
    over_time = Table(
        "escalations",
        "Escalations by level transition",
        [Column("period", "Period", "date"), *(Column(s, s) for s in series)],
        [[day, *(per_period[day][s] for s in series)] for day in scope.periods()],
        Chart("line", "period", series),
        note="Handoffs by the period they were raised in. 'returned' counts escalations the "
        "receiving level sent back (they are also in their transition's column).",
    )
    summary_rows = []
    for label in labels + ["de-escalation"]:
        c = totals[label]
        n = sum(c.values())
        summary_rows.append([label, n, c[S.ACCEPTED], c[S.RETURNED], c[S.PENDING], pct(c[S.RETURNED], n)])
    summary = Table(
        "transitions",
        "Handoffs in the range by transition",
        [
            Column("transition", "Transition", "text"),
            Column("handoffs", "Handoffs"),
            Column("accepted", "Accepted"),
            Column("returned", "Returned"),
            Column("pending", "Pending"),
            Column("return_rate", "Returned %", "pct"),
        ],
        summary_rows,
        Chart("bar", "transition", ["accepted", "returned", "pending"], stacked=True),
    )
    return [over_time, summary]


@report(
    "volume",
    "Volume",
    "Cases opened per period, and escalations per period by level transition (L1->L2, L2->L3, "
    "skip-level), with returns and de-escalations.",
    compare=("cases", "escalated", "above_first", "reopened"),
)
def volume(scope: Scope) -> list[Table]:
    opened, moved = _opened(scope)
    return [opened, *_handoffs(scope), moved]

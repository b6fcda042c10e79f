"""Resolution by level: where cases were resolved, the first-level resolution rate, and the
highest level each case reached. One grouped query (level x highest level) feeds all three."""

from __future__ import annotations

from collections import Counter

from django.db.models import Q

from escalations.reports.base import Chart, Column, Scope, Table, count_cases, pct, report
from escalations.rollups import read as rollups


@report(
    "resolution",
    "Resolution by level",
    "Cases opened in the range: the share resolved at each level, the first-level resolution rate "
    "(resolved at the lowest level without ever leaving it) and the highest level each case reached.",
    compare=("cases", "resolved", "first_level", "above_first"),
)
def resolution(scope: Scope) -> list[Table]:
    groups = (
        rollups.resolution_groups(scope)
        if rollups.usable(scope)
        else list(
            scope.cases()
            .values("level_id", "highest_level_id")
            .annotate(
                cases=count_cases(),
                resolved=count_cases(Q(resolved_at__isnull=False)),
                resolved_direct=count_cases(Q(resolved_at__isnull=False, escalation_count=0)),
            )
        )
    )
    resolved_at, direct_at, open_at, highest, highest_resolved = (Counter() for _ in range(5))
    for g in groups:
        resolved_at[g["level_id"]] += g["resolved"]
        direct_at[g["level_id"]] += g["resolved_direct"]
        open_at[g["level_id"]] += g["cases"] - g["resolved"]
        highest[g["highest_level_id"]] += g["cases"]
        highest_resolved[g["highest_level_id"]] += g["resolved"]
    total = sum(highest.values())
    total_resolved = sum(resolved_at.values())
    ladder = scope.ladder()
    first = ladder[0] if ladder else None
    first_level = sum(
        g["resolved"] for g in groups if first and g["level_id"] == first.pk and g["highest_level_id"] == first.pk
    )

    by_level = Table(
        "resolved_at",
        "Where cases were resolved",
        [
            Column("level", "Level", "text"),
            Column("resolved", "Resolved"),
            Column("share", "Share %", "pct"),
            Column("without_escalation", "Never escalated"),
            Column("open", "Not resolved yet"),
        ],
        [
            [lv.code, resolved_at[lv.pk], pct(resolved_at[lv.pk], total_resolved), direct_at[lv.pk], open_at[lv.pk]]
            for lv in ladder
        ],
        Chart("bar", "level", ["share"]),
        note="The level holding the case when it was resolved.",
    )
    reached = Table(
        "highest_level",
        "Highest level reached",
        [
            Column("level", "Level", "text"),
            Column("cases", "Cases"),
            Column("share", "Share %", "pct"),
            Column("resolved", "Resolved"),
        ],
        [[lv.code, highest[lv.pk], pct(highest[lv.pk], total), highest_resolved[lv.pk]] for lv in ladder],
        Chart("bar", "level", ["cases"]),
    )
    summary = Table(
        "summary",
        "First-level resolution",
        [Column("measure", "Measure", "text"), Column("value", "Value", "text")],
        [
            ["Cases opened", total],
            ["Resolved", total_resolved],
            [f"Resolved at {first.code if first else '-'} without leaving it", first_level],
            ["First-level resolution rate %", pct(first_level, total_resolved)],
        ],
    )
    return [summary, by_level, reached]

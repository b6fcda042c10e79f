"""Flow: where cases enter the ladder, how often they bounce between levels and teams
(ping-pong), and an imported log's own SLA verdict by team and over time.

Entry level and bounce counts are one figure per case from its handoffs (the first
handoff's origin, the number of handoffs); the case keeps both (``Case.entry_level``,
``Case.handoff_count``, written with the handoffs), so they are grouped like any other
case column, and the rollups count them (``EntryRollup``)."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Least

from escalations.models import EscalationStatus
from escalations.reports.base import Chart, Column, Scope, Table, count_cases, pct, period_key, report
from escalations.rollups import read as rollups

MOST = 4  # bounce counts from here on are shown together ("4+")


def _entries(scope: Scope) -> tuple[Counter, Counter]:
    """Cases by the level they entered the ladder at, and by their number of handoffs (0, 1,
    2, 3, 4 for four or more): both kept on the case (``entry_level``, ``handoff_count``)."""
    if rollups.usable(scope):
        return rollups.flow_entries(scope)
    cases = scope.cases()
    entries = Counter({g["entry_level_id"]: g["n"] for g in cases.values("entry_level_id").annotate(n=count_cases())})
    bucket = Least("handoff_count", Value(MOST))
    handoffs = Counter({g["b"]: g["n"] for g in cases.annotate(b=bucket).values("b").annotate(n=count_cases())})
    return entries, handoffs


def _handed_away(scope: Scope) -> dict:
    """Per team, decided handoffs of the cases opened in the range that left it for another team."""
    if rollups.usable(scope):
        return rollups.handed_away(scope)
    handed = (
        scope.handoffs_of_cases()
        .exclude(from_team_id=None)
        .exclude(to_team_id=None)
        .exclude(to_team_id=F("from_team_id"))
        .exclude(status=EscalationStatus.PENDING)
        .values("from_team_id")
        .annotate(away=Count("pk"))
    )
    return {g["from_team_id"]: g["away"] for g in handed}


def _entry_table(scope: Scope) -> Table:
    entries, bounces = _entries(scope)
    total = sum(entries.values())
    entry = Table(
        "entry_level",
        "Where cases enter the ladder",
        [Column("level", "First level", "text"), Column("cases", "Cases"), Column("share", "Share %", "pct")],
        [[lv.code, entries[lv.pk], pct(entries[lv.pk], total)] for lv in scope.ladder()],
        Chart("bar", "level", ["cases"]),
        note="The level a case was at when opened (the origin of its first handoff, or the level "
        "holding it now if it was never handed off). Imported logs start some cases above L1.",
    )
    labels = [str(n) for n in range(MOST)] + [f"{MOST}+"]
    cases = sum(bounces.values())
    bounce = Table(
        "bounces",
        "Handoffs per case",
        [Column("handoffs", "Handoffs", "text"), Column("cases", "Cases"), Column("share", "Share %", "pct")],
        [[label, bounces[n], pct(bounces[n], cases)] for n, label in enumerate(labels)],
        Chart("bar", "handoffs", ["cases"]),
        note="Every escalation, skip-level jump and de-escalation of the case counts as one handoff; "
        "a case with two or more is bouncing between levels.",
    )
    return entry, bounce


def _ping_pong(scope: Scope) -> list[Table]:
    """Reassignments (team changes within a level) and handoffs to another team, per team
    and over time."""
    if rollups.usable(scope):
        by_team = rollups.flow_teams(scope)
    else:
        by_team = (
            scope.cases()
            .values("team_id")
            .annotate(
                cases=count_cases(), moves=Sum("reassignment_count"), bounced=count_cases(Q(reassignment_count__gt=1))
            )
        )
    away = _handed_away(scope)
    rows, names = [], scope.team_names([g["team_id"] for g in by_team] + list(away))
    for g in sorted(by_team, key=lambda g: (-(g["moves"] or 0), names.get(g["team_id"], "(no team)"))):
        moves = g["moves"] or 0
        rows.append(
            [
                names.get(g["team_id"], "(no team)"),
                g["cases"],
                moves,
                round(moves / g["cases"], 2) if g["cases"] else None,
                g["bounced"],
                away.get(g["team_id"], 0),
            ]
        )
    teams = Table(
        "ping_pong_teams",
        "Ping-pong per team",
        [
            Column("team", "Team (holding the case)", "text"),
            Column("cases", "Cases"),
            Column("reassignments", "Reassignments"),
            Column("per_case", "Reassignments per case", "text"),
            Column("bounced", "Cases reassigned twice or more"),
            Column("handed_away", "Handed to another level's team"),
        ],
        rows,
        Chart("bar", "team", ["reassignments"]),
        note="A reassignment gives a case to another person or team at the same level; the count "
        "restarts when the case enters a level, so live figures are at the level holding the case "
        "(UCI: the log's own reassignment_count; BPIC: a change of support team within a line). "
        "Handed away: decided handoffs of the cases opened in the range that left this team for a "
        "team at another level (with a level or team filter, those to or from it).",
    )
    if rollups.usable(scope):
        by_period = rollups.flow_periods(scope)
    else:
        over_time = (
            scope.cases()
            .annotate(period=scope.trunc("opened_at"))
            .values("period")
            .annotate(cases=count_cases(), moves=Sum("reassignment_count"), handoffs=Sum("escalation_count"))
        )
        by_period = {period_key(g["period"]): g for g in over_time}
    series = []
    for day in scope.periods():
        g = by_period.get(day) or {"cases": 0, "moves": 0, "handoffs": 0}
        n = g["cases"]
        series.append(
            [day, n, round((g["moves"] or 0) / n, 2) if n else None, round((g["handoffs"] or 0) / n, 2) if n else None]
        )
    trend = Table(
        "ping_pong_over_time",
        "Ping-pong over time",
        [
            Column("period", "Period", "date"),
            Column("cases", "Cases opened"),
            Column("reassignments_per_case", "Reassignments per case", "text"),
            Column("escalations_per_case", "Escalations per case", "text"),
        ],
        series,
        Chart("line", "period", ["reassignments_per_case", "escalations_per_case"]),
        note="By the period the cases were opened in.",
    )
    return [teams, trend]


def _source_verdict(scope: Scope) -> list[Table]:
    """An imported log's own SLA verdict (UCI ``made_sla``) per team and per period."""
    if rollups.usable(scope):
        by_team = [{**g, "n": g["verdicts"]} for g in rollups.flow_teams(scope) if g["verdicts"]]
        per = {p: (g["verdicts"], g["made"]) for p, g in rollups.flow_periods(scope).items() if g["verdicts"]}
    else:
        judged = scope.cases().filter(source_made_sla__isnull=False)
        made = Count("pk", filter=Q(source_made_sla=True))
        by_team = list(judged.values("team_id").annotate(n=count_cases(), made=made))
        groups = judged.annotate(period=scope.trunc("opened_at")).values("period").annotate(n=count_cases(), made=made)
        per = {period_key(g["period"]): (g["n"], g["made"]) for g in groups}
    names = scope.team_names([g["team_id"] for g in by_team])
    teams = Table(
        "verdict_by_team",
        "Source's own SLA verdict by assignment group",
        [
            Column("team", "Team", "text"),
            Column("cases", "Cases"),
            Column("made", "Made SLA"),
            Column("pct", "%", "pct"),
        ],
        [
            [names.get(g["team_id"], "(no team)"), g["n"], g["made"], pct(g["made"], g["n"])]
            for g in sorted(by_team, key=lambda g: (-g["n"], names.get(g["team_id"], "(no team)")))
        ],
        note="Only cases whose log carries its own verdict (UCI made_sla); live cases have none.",
    )
    trend = Table(
        "verdict_over_time",
        "Source's own SLA verdict over time",
        [Column("period", "Period", "date"), Column("cases", "Cases"), Column("pct", "Made SLA %", "pct")],
        [[d, per.get(d, (0, 0))[0], pct(per.get(d, (0, 0))[1], per.get(d, (0, 0))[0])] for d in scope.periods()],
        Chart("line", "period", ["pct"]),
    )
    return [teams, trend]


@report(
    "flow",
    "Flow and ping-pong",
    "Cases opened in the range: the level they entered at, handoffs per case, reassignments and "
    "team-to-team bounces per team and over time, and an imported log's own SLA verdict by team "
    "and over time.",
    compare=("cases", "escalations_per_case", "reassignments_per_case", "made_sla"),
)
def flow(scope: Scope) -> list[Table]:
    return [*_entry_table(scope), *_ping_pong(scope), *_source_verdict(scope)]

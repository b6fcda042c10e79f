"""Bottlenecks: the backlog over time, backlog and ageing per team against its capacity at
the end of the range, and where cases wait longest for a level to take them on."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Avg, Count, Min, Q, Value

from ..models import EscalationKind, EscalationStatus, Team
from .base import Chart, Column, Scope, Table, hours, pct, period_key, report
from .sql import Median, Seconds

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)
AGES = (1, 3, 7)  # days


def _open_at(moment) -> Q:
    """Opened before ``moment`` and not resolved by then."""
    return Q(opened_at__lt=moment) & (Q(resolved_at__isnull=True, closed_at__isnull=True)
                                      | Q(resolved_at__gte=moment))


def _backlog_over_time(scope: Scope) -> Table:
    """Backlog at each period's end = open when the range starts + opened since - resolved since."""
    start_open = scope.cases(None).filter(_open_at(scope.f.start)).count()
    opened = {period_key(r["p"]): r["n"] for r in scope.cases("opened_at").annotate(p=scope.trunc("opened_at"))
              .values("p").annotate(n=Count("pk"))}
    resolved = {period_key(r["p"]): r["n"] for r in scope.cases("resolved_at")
                .annotate(p=scope.trunc("resolved_at")).values("p").annotate(n=Count("pk"))}
    rows, backlog = [], start_open
    for day in scope.periods():
        backlog += opened.get(day, 0) - resolved.get(day, 0)
        rows.append([day, opened.get(day, 0), resolved.get(day, 0), backlog])
    return Table(
        "backlog", "Backlog over time",
        [Column("period", "Period", "date"), Column("opened", "Opened"), Column("resolved", "Resolved"),
         Column("backlog", "Backlog at period end")],
        rows, Chart("line", "period", ["backlog", "opened", "resolved"]),
        note=f"{start_open} cases were open when the range started. A reopened case counts as resolved "
             "when it was last resolved.",
    )


def _teams(scope: Scope) -> Table:
    moment = min(scope.f.end, scope.now)
    at = Value(moment)
    groups = scope.cases(None).filter(_open_at(moment)).values("team_id").annotate(
        backlog=Count("pk"), age=Avg(Seconds(at, "opened_at")), oldest=Min("opened_at"),
        at_level=Avg(Seconds(at, "level_entered_at")),
        **{f"age_{d}d": Count("pk", filter=Q(opened_at__lt=moment - timedelta(days=d))) for d in AGES},
    )
    teams = Team.objects.in_bulk([g["team_id"] for g in groups if g["team_id"]])
    rows = []
    for g in groups:
        team = teams.get(g["team_id"])
        capacity = team.capacity if team else None
        rows.append([team.name if team else "(no team)", scope.level_code(team.level_id) if team else "-",
                     capacity, g["backlog"], pct(g["backlog"], capacity), hours(g["age"]), hours(g["at_level"]),
                     hours((moment - g["oldest"]).total_seconds()), *(g[f"age_{d}d"] for d in AGES)])
    rows.sort(key=lambda r: (-(r[4] or 0), -r[3]))
    return Table(
        "teams", "Backlog and ageing per team",
        [Column("team", "Team", "text"), Column("level", "Level", "text"), Column("capacity", "Capacity"),
         Column("backlog", "Backlog"), Column("load", "Load % of capacity", "pct"),
         Column("mean_age_h", "Mean age h", "hours"), Column("mean_at_level_h", "Mean h at current level", "hours"),
         Column("oldest_h", "Oldest h", "hours"), *(Column(f"older_{d}d", f"Older than {d} d") for d in AGES)],
        rows, Chart("bar", "team", ["load"]),
        note=f"Cases open at {moment:%Y-%m-%d %H:%M} (the end of the range, or now), whenever opened, "
             "by the team holding them.",
    )


def _waits(scope: Scope) -> Table:
    wait = Seconds("decided_at", "created_at")
    pending = Q(status=EscalationStatus.PENDING)
    groups = scope.escalations().filter(kind__in=UP).values("to_team_id", "to_level_id").annotate(
        handoffs=Count("pk"), decided=Count("decided_at"), avg=Avg(wait), med=Median(wait),
        pending=Count("pk", filter=pending), oldest=Min("created_at", filter=pending),
    )
    names = scope.team_names({g["to_team_id"] for g in groups})
    rows = [[names.get(g["to_team_id"], "(no team)"), scope.level_code(g["to_level_id"]), g["handoffs"],
             g["decided"], hours(g["avg"]), hours(g["med"]), g["pending"],
             hours((scope.now - g["oldest"]).total_seconds()) if g["oldest"] else None] for g in groups]
    rows.sort(key=lambda r: (-(r[4] or 0), r[0]))
    return Table(
        "waits", "Where escalated cases wait longest",
        [Column("team", "Receiving team", "text"), Column("level", "Level", "text"),
         Column("handoffs", "Escalations"), Column("decided", "Decided"),
         Column("wait_mean_h", "Wait mean h", "hours"), Column("wait_median_h", "Wait median h", "hours"),
         Column("pending", "Pending now"), Column("oldest_pending_h", "Oldest pending h", "hours")],
        rows, Chart("bar", "team", ["wait_mean_h"]),
        note="Escalations raised in the range: hours from the handoff to its acceptance or return.",
    )


@report("bottlenecks", "Bottlenecks",
        "Backlog over time; backlog and ageing per team against capacity; where escalated cases wait "
        "longest for the receiving level.")
def bottlenecks(scope: Scope) -> list[Table]:
    return [_backlog_over_time(scope), _teams(scope), _waits(scope)]

"""Bottlenecks: the backlog over time, backlog and ageing per team against its capacity at
the end of the range, and where cases wait longest for a level to take them on."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Case as DjCase
from django.db.models import Count, Min, Q, Sum, Value, When

from escalations.models import OPEN_STATUSES, EscalationKind, EscalationStatus, Team
from escalations.models.lifetime import BOUNDS, NOT_RESOLVED, LifetimeClass
from escalations.reports.base import Chart, Column, Scope, Table, count_cases, hours, pct, period_key, report
from escalations.reports.sql import Bucket, Figures, Seconds
from escalations.rollups import read as rollups

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)
AGES = (1, 3, 7)  # days
OPEN, BEFORE, IN_RANGE = 0, 1, 2  # where a case's resolution falls against the range


def _backlog_groups(scope: Scope) -> tuple[int, Counter, Counter]:
    """One pass over the cases grouped by (opening period, resolution period)."""
    start, end = scope.f.start, scope.f.end
    opened = DjCase(When(opened_at__lt=start, then=Value(None)), default=scope.trunc("opened_at"))
    state = DjCase(
        When(resolved_at__isnull=True, then=Value(OPEN)),
        When(resolved_at__lt=start, then=Value(BEFORE)),
        When(resolved_at__gte=end, then=Value(OPEN)),
        default=Value(IN_RANGE),
    )
    resolved = DjCase(
        When(resolved_at__gte=start, resolved_at__lt=end, then=scope.trunc("resolved_at")), default=Value(None)
    )
    groups = (
        scope.cases(None)
        .filter(opened_at__lt=end)
        .annotate(op=opened, state=state, rp=resolved)
        .values("op", "state", "rp")
        .annotate(n=count_cases())
    )
    start_open, opened_in, resolved_in = 0, Counter(), Counter()
    for g in groups:
        if g["op"] is None:
            start_open += g["n"] if g["state"] != BEFORE else 0
        else:
            opened_in[period_key(g["op"])] += g["n"]
        if g["state"] == IN_RANGE:
            resolved_in[period_key(g["rp"])] += g["n"]
    return start_open, opened_in, resolved_in


def _backlog_over_time(scope: Scope) -> Table:
    """Backlog at each period's end = open when the range starts + opened since - resolved since,
    from one pass grouped by (opening period, resolution period); a resolved case carries its
    ``resolved_at`` (a reopened one is open again until resolved anew). From the rollups
    (opened and resolved per day) when they can answer the filters."""
    if rollups.usable(scope):
        start_open, opened_in, resolved_in = rollups.backlog(scope)
    else:
        start_open, opened_in, resolved_in = _backlog_groups(scope)
    rows, backlog = [], start_open
    for day in scope.periods():
        backlog += opened_in[day] - resolved_in[day]
        rows.append([day, opened_in[day], resolved_in[day], backlog])
    return Table(
        "backlog",
        "Backlog over time",
        [
            Column("period", "Period", "date"),
            Column("opened", "Opened"),
            Column("resolved", "Resolved"),
            Column("backlog", "Backlog at period end"),
        ],
        rows,
        Chart("line", "period", ["backlog", "opened", "resolved"]),
        note=f"{start_open} cases were open when the range started.",
    )


def _open_at(scope: Scope, moment) -> list:
    """The cases open at ``moment`` as querysets that together hold each of them once: now,
    the open statuses (their index finds them); at a past moment, those opened before it
    and not resolved before it, one queryset per lifetime class (``models.lifetime``: each
    reads a short range of the ``case_lifetime`` index instead of every case before it)."""
    cases = scope.cases(None)
    if moment >= scope.now:
        return [cases.filter(status__in=OPEN_STATUSES)]
    by_class = cases.alias(lifetime=LifetimeClass()).filter(opened_at__lt=moment)
    parts = [by_class.filter(lifetime=NOT_RESOLVED)]
    for k in range(len(BOUNDS) + 1):
        part = by_class.filter(lifetime=k, resolved_at__gte=moment)
        if k < len(BOUNDS):  # open less than BOUNDS[k]: opened after moment - BOUNDS[k]
            # (a second more: SQLite's seconds are floats, so a lifetime on a bound may
            # fall in the class below; the resolution test above keeps the count exact)
            part = part.filter(opened_at__gte=moment - timedelta(seconds=BOUNDS[k] + 1))
        parts.append(part)
    return parts


def _team_groups(scope: Scope, moment) -> list[dict]:
    """Per team holding them, the cases open at ``moment``: how many, their summed ages and
    times at their level (seconds), the oldest opening, and how many are older than each of
    ``AGES`` days. One statement (the parts' groups in a UNION ALL), summed here."""
    at = Value(moment)
    parts = [
        qs.values("team_id").annotate(
            backlog=Count("pk"),
            age=Sum(Seconds(at, "opened_at")),
            oldest=Min("opened_at"),
            at_level=Sum(Seconds(at, "level_entered_at")),
            at_level_n=Count("level_entered_at"),
            **{f"age_{d}d": Count("pk", filter=Q(opened_at__lt=moment - timedelta(days=d))) for d in AGES},
        )
        for qs in _open_at(scope, moment)
    ]
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    out: dict = {}
    for r in rows:
        g = out.get(r["team_id"])
        if g is None:
            out[r["team_id"]] = dict(r)
            continue
        for k in ("backlog", "age", "at_level", "at_level_n", *(f"age_{d}d" for d in AGES)):
            g[k] = (g[k] or 0) + (r[k] or 0)
        g["oldest"] = min(g["oldest"], r["oldest"])
    for g in out.values():
        g["age"] = g["age"] / g["backlog"] if g["age"] is not None else None
        g["at_level"] = g["at_level"] / g["at_level_n"] if g["at_level_n"] else None
    return list(out.values())


def _teams(scope: Scope) -> Table:
    moment = min(scope.f.end, scope.now)
    groups = _team_groups(scope, moment)
    teams = Team.objects.in_bulk([g["team_id"] for g in groups if g["team_id"]])
    rows = []
    for g in groups:
        team = teams.get(g["team_id"])
        capacity = team.capacity if team else None
        rows.append(
            [
                team.name if team else "(no team)",
                scope.level_code(team.level_id) if team else "-",
                capacity,
                g["backlog"],
                pct(g["backlog"], capacity),
                hours(g["age"]),
                hours(g["at_level"]),
                hours((moment - g["oldest"]).total_seconds()),
                *(g[f"age_{d}d"] for d in AGES),
            ]
        )
    rows.sort(key=lambda r: (-(r[4] or 0), -r[3]))
    return Table(
        "teams",
        "Backlog and ageing per team",
        [
            Column("team", "Team", "text"),
            Column("level", "Level", "text"),
            Column("capacity", "Capacity"),
            Column("backlog", "Backlog"),
            Column("load", "Load % of capacity", "pct"),
            Column("mean_age_h", "Mean age h", "hours"),
            Column("mean_at_level_h", "Mean h at current level", "hours"),
            Column("oldest_h", "Oldest h", "hours"),
            *(Column(f"older_{d}d", f"Older than {d} d") for d in AGES),
        ],
        rows,
        Chart("bar", "team", ["load"]),
        note=f"Cases open at {moment:%Y-%m-%d %H:%M} (the end of the range, or now), whenever opened, "
        "by the team holding them.",
    )


def _wait_groups(scope: Scope) -> tuple[dict, dict]:
    """Per (receiving team, level): the waits to a decision (histogram ``Figures``) and the
    handoffs still pending (how many, the oldest's raising). From the rollups with the
    pending ones through their own index, or in one pass over the handoffs."""
    waits: dict = defaultdict(Figures)
    pending: dict = {}
    if rollups.usable(scope):
        for g in rollups.waits(scope):
            waits[(g["to_team_id"], g["to_level_id"])].add(g["bucket"] if g["bucket"] >= 0 else None, g["n"], g["s"])
        still = scope.escalations().filter(kind__in=UP, status=EscalationStatus.PENDING)
        # Counted by a column ``escalation_pending`` holds, so the index alone can answer.
        for g in still.values("to_team_id", "to_level_id").annotate(n=Count("created_at"), oldest=Min("created_at")):
            pending[(g["to_team_id"], g["to_level_id"])] = {"n": g["n"], "oldest": g["oldest"]}
        return waits, pending
    wait = Seconds("decided_at", "created_at")
    pending_q = Q(status=EscalationStatus.PENDING)
    for g in (
        scope.escalations()
        .filter(kind__in=UP)
        .values("to_team_id", "to_level_id", b=Bucket(wait))
        .annotate(
            n=Count("decided_at"),
            s=Sum(wait),
            pending=Count("pk", filter=pending_q),
            oldest=Min("created_at", filter=pending_q),
        )
    ):
        key = (g["to_team_id"], g["to_level_id"])
        waits[key].add(g["b"], g["n"], g["s"])
        if g["pending"]:
            pending[key] = {"n": g["pending"], "oldest": g["oldest"]}
    return waits, pending


def _waits(scope: Scope) -> Table:
    """Per receiving team: the wait from handoff to decision (a histogram, for the median) and
    what is still waiting; one pass."""
    waits, pending = _wait_groups(scope)
    names = scope.team_names({key[0] for key in [*waits, *pending]})
    rows = []
    for key in {*waits, *pending}:
        w, p = waits.get(key, Figures()), pending.get(key)
        rows.append(
            [
                names.get(key[0], "(no team)"),
                scope.level_code(key[1]),
                w.n,
                hours(w.mean),
                hours(w.median),
                p["n"] if p else 0,
                hours((scope.now - p["oldest"]).total_seconds()) if p else None,
            ]
        )
    rows.sort(key=lambda r: (-(r[3] or 0), r[0]))
    return Table(
        "waits",
        "Where escalated cases wait longest",
        [
            Column("team", "Receiving team", "text"),
            Column("level", "Level", "text"),
            Column("decided", "Decided"),
            Column("wait_mean_h", "Wait mean h", "hours"),
            Column("wait_median_h", "Wait median h", "hours"),
            Column("pending", "Pending now"),
            Column("oldest_pending_h", "Oldest pending h", "hours"),
        ],
        rows,
        Chart("bar", "team", ["wait_mean_h"]),
        note="Escalations raised in the range: hours from the handoff to its acceptance or return; "
        "pending ones are still waiting.",
    )


@report(
    "bottlenecks",
    "Bottlenecks",
    "Backlog over time; backlog and ageing per team against capacity; where escalated cases wait "
    "longest for the receiving level.",
    compare=("cases", "open", "hours_to_resolve"),
)
def bottlenecks(scope: Scope) -> list[Table]:
    return [_backlog_over_time(scope), _teams(scope), _waits(scope)]

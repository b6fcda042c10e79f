"""The team lead's live desk: what is open right now per level and team against capacity,
what breaches within 1, 4 and 24 hours, the handoffs nobody has accepted yet, and today's
SLA so far. It reads the present, not a range (the date filters do not apply; level, team,
category, priority and source do), and its page refreshes itself without a reload.

The open cases per level and team are counted by the open-case rollup (``OpenRollup``,
kept with the cases); the clocks due within a day, today's resolutions and due times and
the pending handoffs are read through their own partial indexes, so it stays fast however
many cases are open or closed. Without rollups (SQLite, an attribute filter) it reads the
open cases through the partial open-case index."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db.models import Count, F, Min, Q
from django.utils import timezone

from escalations.models import OPEN_STATUSES, Case, Escalation, EscalationKind, EscalationStatus, Team
from escalations.reports.base import Chart, Column, Scope, Table, hours, pct, report
from escalations.rollups import read as rollups

SOON = (1, 4, 24)  # hours


def _open(scope: Scope):
    return Case.objects.filter(scope.case_filter("", where=True), status__in=OPEN_STATUSES).order_by()


def _load(scope: Scope) -> Table:
    now = scope.now
    # A running resolution clock: not stopped (resolved), paused or breached, due later
    # (``resolved_at IS NULL`` also lets the due-time index answer it).
    running = Q(
        resolved_at__isnull=True, paused_at__isnull=True, resolution_breached_at__isnull=True, resolution_due_at__gt=now
    )
    soon = {f"soon_{h}": Count("pk", filter=running & Q(resolution_due_at__lte=now + timedelta(hours=h))) for h in SOON}
    if rollups.usable(scope):  # the counts from the open-case rollup, the clocks due soon through their index
        groups = rollups.open_now(scope)
        due = _open(scope).filter(running, resolution_due_at__lte=now + timedelta(hours=max(SOON)))
        by_key = {(g["level_id"], g["team_id"]): g for g in due.values("level_id", "team_id").annotate(**soon)}
        for g in groups:
            got = by_key.get((g["level_id"], g["team_id"]), {})
            g.update({k: got.get(k, 0) for k in soon})
    else:
        groups = (
            _open(scope)
            .values("level_id", "team_id")
            .annotate(
                n=Count("pk"),
                unassigned=Count("pk", filter=Q(assignee__isnull=True)),
                breached=Count(
                    "pk", filter=Q(resolution_breached_at__isnull=False) | Q(response_breached_at__isnull=False)
                ),
                **soon,
            )
        )
    teams = Team.objects.in_bulk([g["team_id"] for g in groups if g["team_id"]])
    rank = {pk: i for i, pk in enumerate(scope.levels)}
    rows = []
    order = lambda g: (rank.get(g["level_id"], 99), -g["n"], g["team_id"] or 0)  # noqa: E731
    for g in sorted(groups, key=order):
        team = teams.get(g["team_id"])
        capacity = team.capacity if team else None
        rows.append(
            [
                scope.level_code(g["level_id"]),
                team.name if team else "(no team)",
                g["n"],
                capacity,
                pct(g["n"], capacity),
                g["unassigned"],
                g["breached"],
                *(g[f"soon_{h}"] for h in SOON),
            ]
        )
    return Table(
        "open_now",
        "Open now, per level and team",
        [
            Column("level", "Level", "text"),
            Column("team", "Team", "text"),
            Column("open", "Open"),
            Column("capacity", "Capacity"),
            Column("load", "Load % of capacity", "pct"),
            Column("unassigned", "Nobody on it"),
            Column("breached", "Already breached"),
            *(Column(f"within_{h}h", f"Breaches within {h} h") for h in SOON),
        ],
        rows,
        Chart("bar", "team", ["open", "capacity"]),
        note="Cases open at this moment (new, in progress, awaiting the customer, escalated). "
        "'Breaches within' counts running resolution clocks due in that time (cumulative; paused "
        "clocks do not run).",
    )


def _unaccepted(scope: Scope) -> Table:
    now = scope.now
    pending = Escalation.objects.filter(
        scope.handoff_case_filter(),
        status=EscalationStatus.PENDING,
        kind__in=(EscalationKind.ESCALATE, EscalationKind.JUMP),
    ).order_by()
    if scope.level is not None:
        pending = pending.filter(to_level=scope.level)
    if scope.team is not None:
        pending = pending.filter(to_team=scope.team)
    # Counted by a column ``escalation_pending`` holds, so the index alone can answer.
    groups = pending.values("to_level_id", "to_team_id").annotate(
        n=Count("created_at"),
        oldest=Min("created_at"),
        over_1h=Count("created_at", filter=Q(created_at__lt=now - timedelta(hours=1))),
    )
    names = scope.team_names([g["to_team_id"] for g in groups])
    rows = [
        [
            scope.level_code(g["to_level_id"]),
            names.get(g["to_team_id"], "(no team)"),
            g["n"],
            g["over_1h"],
            hours((now - g["oldest"]).total_seconds()),
        ]
        for g in sorted(groups, key=lambda g: g["oldest"])
    ]
    return Table(
        "unaccepted",
        "Handoffs waiting to be accepted",
        [
            Column("level", "Receiving level", "text"),
            Column("team", "Receiving team", "text"),
            Column("waiting", "Waiting"),
            Column("over_1h", "Waiting over 1 h"),
            Column("oldest_h", "Oldest, hours", "hours"),
        ],
        rows,
        note="Escalations and skip-level jumps no one at the receiving level has accepted or returned yet, "
        "oldest first.",
    )


def _today(scope: Scope) -> Table:
    """Clocks that ended or fell due today: met, or breached (the resolution clock of a case
    resolved today, or due today and not resolved in time; likewise first response)."""
    now = scope.now
    start = timezone.make_aware(datetime.combine(timezone.localtime(now).date(), time.min))
    cases = Case.objects.filter(scope.case_filter("", where=True)).order_by()
    figures = defaultdict(int)
    for name, stop, due, breached in (
        ("resolution", "resolved_at", "resolution_due_at", "resolution_breached_at"),
        ("first response", "first_response_at", "response_due_at", "response_breached_at"),
    ):
        ended = Q(**{f"{stop}__gte": start, f"{stop}__lte": now})
        fell_due = Q(**{f"{due}__gte": start, f"{due}__lte": now, f"{stop}__isnull": True, "paused_at__isnull": True})
        late = Q(**{f"{breached}__isnull": False}) | Q(**{f"{stop}__gt": F(due)}) | Q(**{f"{stop}__isnull": True})
        got = cases.filter(ended | fell_due).aggregate(n=Count("pk"), late=Count("pk", filter=late))
        figures[name] = got
    rows = []
    for name, got in figures.items():
        met = got["n"] - got["late"]
        rows.append([name, got["n"], met, got["late"], pct(met, got["n"])])
    return Table(
        "today",
        "Today's SLA so far",
        [
            Column("clock", "Clock", "text"),
            Column("counted", "Ended or due today"),
            Column("met", "Met"),
            Column("breached", "Breached"),
            Column("pct", "Met %", "pct"),
        ],
        rows,
        note=f"Since midnight ({start:%Y-%m-%d %H:%M}, this desk's time zone) up to now.",
    )


@report(
    "live",
    "Live desk (team lead)",
    "Right now: open cases per level and team against capacity, what breaches within 1, 4 and 24 "
    "hours, handoffs waiting to be accepted and for how long, and today's SLA so far. The page "
    "refreshes itself every 30 seconds; the date range does not apply.",
    refresh=30,
    compare=("open", "breached"),
    population="open",
)
def live(scope: Scope) -> list[Table]:
    return [_load(scope), _unaccepted(scope), _today(scope)]

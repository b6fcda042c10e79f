"""Waiting on customers, vendors and other teams: how long each team waited and on what,
over time, and how often a wait started near a breach (a pause that stops the customer's
clock just before it runs out is worth a look).

Facts: ``CaseWait`` rows started in the range (the desk's pauses and waits, and the waits
of imported logs: BPIC's "Wait - User/Customer/Vendor/Implementation", UCI's "Awaiting
User Info/Evidence/Vendor/Problem"). A wait still open is measured to the end of the range
(never past today, nor past the end of an imported log's data). Level and team filters
match the level and team that waited."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Least

from escalations.models import CaseWait, WaitKind
from escalations.reports.base import Chart, Column, Scope, Table, hours, pct, period_key, report
from escalations.reports.sql import Seconds

KINDS = list(WaitKind)


def _waits(scope: Scope) -> QuerySet:
    qs = CaseWait.objects.filter(scope.case_filter("case__"), started_at__gte=scope.f.start, started_at__lt=scope.f.end)
    if scope.level is not None:
        qs = qs.filter(level=scope.level)
    if scope.team is not None:
        qs = qs.filter(team=scope.team)
    return qs.order_by()


def _measured(scope: Scope) -> QuerySet:
    until = scope.open_until("case__")  # a wait still open counts like an open case
    end = Least(Coalesce("ended_at", until), until)
    return _waits(scope).annotate(secs=Seconds(end, "started_at"))


def _by_team(scope: Scope) -> Table:
    groups = list(
        _measured(scope)
        .values("team_id", "kind")
        .annotate(n=Count("pk"), secs=Sum("secs"), near=Count("pk", filter=Q(near_breach=True)))
    )
    names = scope.team_names([g["team_id"] for g in groups])
    per_team: dict = {}
    for g in groups:
        row = per_team.setdefault(g["team_id"], {"n": 0, "secs": 0.0, "near": 0, "kinds": {}})
        row["n"] += g["n"]
        row["secs"] += max(g["secs"] or 0.0, 0.0)
        row["near"] += g["near"]
        row["kinds"][g["kind"]] = max(g["secs"] or 0.0, 0.0)
    rows = []
    for team_id, r in sorted(per_team.items(), key=lambda kv: -kv[1]["secs"]):
        rows.append(
            [
                names.get(team_id, "(no team)"),
                r["n"],
                hours(r["secs"]),
                *[hours(r["kinds"].get(k.value, 0.0)) for k in KINDS],
                hours(r["secs"] / r["n"]) if r["n"] else None,
                pct(r["near"], r["n"]),
            ]
        )
    return Table(
        "waiting_by_team",
        "Waiting time per team and reason",
        [
            Column("team", "Team that waited", "text"),
            Column("waits", "Waits"),
            Column("hours", "Hours waiting", "hours"),
            *[Column(f"hours_{k.value}", f"Hours on {k.label.lower()}", "hours") for k in KINDS],
            Column("mean_hours", "Mean hours per wait", "hours"),
            Column("near_pct", "Started near a breach %", "pct"),
        ],
        rows,
        Chart("bar", "team", [f"hours_{k.value}" for k in KINDS], stacked=True),
        note="Waits started in the range, by the team holding the case when it started waiting. Only a "
        "wait on the customer pauses the SLA clock. Near a breach: started with at most a quarter of "
        "the resolution target left, or after it was breached.",
    )


def _by_reason(scope: Scope) -> Table:
    groups = {
        g["kind"]: g
        for g in _measured(scope)
        .values("kind")
        .annotate(n=Count("pk"), secs=Sum("secs"), near=Count("pk", filter=Q(near_breach=True)))
    }
    total = sum(g["n"] for g in groups.values())
    rows = []
    for k in KINDS:
        g = groups.get(k.value, {"n": 0, "secs": 0.0, "near": 0})
        secs = max(g["secs"] or 0.0, 0.0)
        rows.append(
            [
                k.label,
                "yes" if k == WaitKind.CUSTOMER else "no",
                g["n"],
                pct(g["n"], total),
                hours(secs),
                hours(secs / g["n"]) if g["n"] else None,
                g["near"],
                pct(g["near"], g["n"]),
            ]
        )
    return Table(
        "waiting_by_reason",
        "Waits by reason, and near a breach",
        [
            Column("reason", "Waiting on", "text"),
            Column("pauses_sla", "Pauses the SLA", "text"),
            Column("waits", "Waits"),
            Column("share", "Share %", "pct"),
            Column("hours", "Hours waiting", "hours"),
            Column("mean_hours", "Mean hours per wait", "hours"),
            Column("near", "Started near a breach"),
            Column("near_pct", "Near a breach %", "pct"),
        ],
        rows,
        Chart("bar", "reason", ["waits", "near"]),
        note="A high share of customer pauses started near a breach can mean the pause is used to stop "
        "the clock rather than because the customer owes an answer.",
    )


def _over_time(scope: Scope) -> Table:
    groups = (
        _measured(scope)
        .annotate(period=scope.trunc("started_at"))
        .values("period", "kind")
        .annotate(n=Count("pk"), secs=Sum("secs"), near=Count("pk", filter=Q(near_breach=True)))
    )
    per: dict = {}
    for g in groups:
        row = per.setdefault(period_key(g["period"]), {"n": 0, "near": 0, "kinds": {}})
        row["n"] += g["n"]
        row["near"] += g["near"]
        row["kinds"][g["kind"]] = max(g["secs"] or 0.0, 0.0)
    empty = {"n": 0, "near": 0, "kinds": {}}
    return Table(
        "waiting_over_time",
        "Waiting over time",
        [
            Column("period", "Period", "date"),
            Column("waits", "Waits started"),
            *[Column(f"hours_{k.value}", f"Hours on {k.label.lower()}", "hours") for k in KINDS],
            Column("near_pct", "Near a breach %", "pct"),
        ],
        [
            [
                d,
                per.get(d, empty)["n"],
                *[hours(per.get(d, empty)["kinds"].get(k.value, 0.0)) for k in KINDS],
                pct(per.get(d, empty)["near"], per.get(d, empty)["n"]),
            ]
            for d in scope.periods()
        ],
        Chart("line", "period", [f"hours_{k.value}" for k in KINDS]),
        note="By the period each wait started in.",
    )


@report(
    "waiting",
    "Waiting on customers and vendors",
    "Waits started in the range: hours per team and per reason (the customer, a vendor, another team), "
    "over time, and how often a wait started near a breach.",
    compare=("cases", "response_met", "resolution_met", "hours_to_resolve"),
)
def waiting(scope: Scope) -> list[Table]:
    return [_by_team(scope), _by_reason(scope), _over_time(scope)]

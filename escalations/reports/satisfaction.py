"""Satisfaction (CSAT) and self-service deflection, from the requester portal.

CSAT: survey answers given in the range, grouped by where the case stood when it was
resolved (copied into each answer: level, team, agent, category), by period, and by the
number of escalations the case went through, which answers "does escalation cost
satisfaction?". CSAT % is the share of answers of 4 or 5 (the usual definition).
Deflection: "this solved it" answers in the range per category, beside the cases opened
in that category in the range.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q

from escalations.models import Category, Deflection, SatisfactionSurvey
from escalations.reports.base import Chart, Column, Scope, Table, count_cases, pct, period_key, report
from escalations.rollups import read as rollups

SATISFIED = Q(score__gte=4)
UNHAPPY = Q(score__lte=2)


def _answers(scope: Scope):
    qs = SatisfactionSurvey.objects.filter(answered_at__gte=scope.f.start, answered_at__lt=scope.f.end).order_by()
    if scope.category is not None:
        qs = qs.filter(category=scope.category)
    if scope.level is not None:
        qs = qs.filter(level=scope.level)
    if scope.team is not None:
        qs = qs.filter(team=scope.team)
    if scope.f.priority is not None:
        qs = qs.filter(case__priority=scope.f.priority)
    if scope.attr is not None:
        qs = qs.filter(scope.attribute_filter("case__"))
    return qs


COLUMNS = [
    Column("answers", "Answers"),
    Column("average", "Average (1-5)"),
    Column("csat", "CSAT % (4-5)", "pct"),
    Column("unhappy", "Unhappy (1-2)"),
]


def _grouped(qs, key: str):
    return (
        qs.values(key)
        .annotate(n=Count("pk"), avg=Avg("score"), good=Count("pk", filter=SATISFIED), bad=Count("pk", filter=UNHAPPY))
        .order_by()
    )


def _row(label, g) -> list:
    return [label, g["n"], round(g["avg"], 2) if g["avg"] is not None else None, pct(g["good"], g["n"]), g["bad"]]


def _table(key: str, title: str, label: str, rows: list, note: str = "") -> Table:
    rows.sort(key=lambda r: (-r[1], str(r[0])))
    return Table(key, title, [Column(key, label, "text"), *COLUMNS], rows, Chart("bar", key, ["csat"]), note=note)


@report(
    "satisfaction",
    "Satisfaction (CSAT)",
    "Requesters' survey answers in the range (1-5, once per resolution) per level, team, agent, "
    "category and period, and by how many escalations the case went through; plus self-service "
    "deflection per category.",
    compare=("cases", "resolved", "resolution_met"),
)
def satisfaction(scope: Scope) -> list[Table]:
    qs = _answers(scope)
    tables = []
    levels = {lv.pk: lv.code for lv in scope.ladder()}
    tables.append(
        _table(
            "level",
            "CSAT per level (where the case was resolved)",
            "Level",
            [_row(levels.get(g["level"], "-"), g) for g in _grouped(qs, "level")],
        )
    )
    teams = scope.team_names([g["team"] for g in _grouped(qs, "team")])
    tables.append(
        _table(
            "team", "CSAT per team", "Team", [_row(teams.get(g["team"], "(no team)"), g) for g in _grouped(qs, "team")]
        )
    )
    agent_groups = list(_grouped(qs, "assignee"))
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[g["assignee"] for g in agent_groups if g["assignee"]])
        .values_list("pk", "username")
    )
    tables.append(
        _table(
            "agent",
            "CSAT per agent",
            "Agent",
            [_row(names.get(g["assignee"], "(unassigned)"), g) for g in agent_groups],
        )
    )
    cats = dict(Category.objects.values_list("pk", "name"))
    tables.append(
        _table(
            "category",
            "CSAT per category",
            "Category",
            [_row(cats.get(g["category"], "-"), g) for g in _grouped(qs, "category")],
        )
    )
    by_escalations = {}
    for g in _grouped(qs, "escalation_count"):
        bucket = min(g["escalation_count"], 3)
        into = by_escalations.setdefault(bucket, {"n": 0, "sum": 0.0, "good": 0, "bad": 0})
        into["n"] += g["n"]
        into["sum"] += (g["avg"] or 0) * g["n"]
        into["good"] += g["good"]
        into["bad"] += g["bad"]
    esc_rows = [
        [
            "3 or more" if k == 3 else str(k),
            v["n"],
            round(v["sum"] / v["n"], 2) if v["n"] else None,
            pct(v["good"], v["n"]),
            v["bad"],
        ]
        for k, v in sorted(by_escalations.items())
    ]
    tables.append(
        Table(
            "escalations",
            "CSAT by escalations the case went through",
            [Column("escalations", "Escalations", "text"), *COLUMNS],
            esc_rows,
            Chart("bar", "escalations", ["csat"]),
            note="Does escalation cost satisfaction? Each answer counts the handoffs up to its resolution.",
        )
    )
    per_period = {
        period_key(g["p"]): g
        for g in qs.annotate(p=scope.trunc("answered_at"))
        .values("p")
        .annotate(n=Count("pk"), avg=Avg("score"), good=Count("pk", filter=SATISFIED), bad=Count("pk", filter=UNHAPPY))
        .order_by()
    }
    empty = {"n": 0, "avg": None, "good": 0, "bad": 0}
    tables.append(
        Table(
            "period",
            f"CSAT per {scope.f.bucket}",
            [Column("period", "Period", "date"), *COLUMNS],
            [_row(day, per_period.get(day, empty)) for day in scope.periods()],
            Chart("line", "period", ["csat"]),
        )
    )
    tables.append(_deflection(scope, cats))
    return tables


def _deflection(scope: Scope, cats: dict) -> Table:
    qs = Deflection.objects.filter(created_at__gte=scope.f.start, created_at__lt=scope.f.end).order_by()
    if scope.category is not None:
        qs = qs.filter(category=scope.category)
    solved = {g["category"]: g["n"] for g in qs.values("category").annotate(n=Count("pk")).order_by()}
    if rollups.usable(scope):
        opened = rollups.opened_per_category(scope)
    else:
        cases = scope.cases().values("category").annotate(n=count_cases()).order_by()
        opened = {g["category"]: g["n"] for g in cases}
    rows = []
    for cat in sorted(set(solved) | set(opened), key=lambda c: cats.get(c, "") or ""):
        d, o = solved.get(cat, 0), opened.get(cat, 0)
        rows.append([cats.get(cat, "(no category)"), d, o, pct(d, d + o)])
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Table(
        "deflection",
        "Self-service deflection per category",
        [
            Column("category", "Category", "text"),
            Column("deflected", "Solved by an article"),
            Column("opened", "Cases opened"),
            Column("rate", "Deflection %", "pct"),
        ],
        rows,
        Chart("bar", "category", ["deflected", "opened"]),
        note="“This solved it” in the portal before a request was sent; it closes nothing. "
        "Deflection % = solved by an article / (solved + cases opened)."
        + (
            " A deflection has no case, so the attribute filter applies to the cases opened only." if scope.attr else ""
        ),
    )

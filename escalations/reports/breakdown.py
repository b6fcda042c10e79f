"""The comparison table a report adds when asked for a breakdown (``by=attr:country``,
``by=team``, ``by=agent``, ...): the report's key case figures per value of that dimension,
in one grouped query.

Each report names the measures it compares (``@report(..., compare=(...))``); every measure
is a grouped aggregate over the report's cases (opened in the range, or for the live desk
the open ones), so a breakdown costs one pass like the report's own tables. An attribute
joins its one key's rows to the cases (``CaseAttribute``, one row per case and key); a case
without that attribute shows as "(none)". Where the rollups can answer (PostgreSQL, no
attribute filter besides), a breakdown by an attribute reads the attribute rollup instead (the
case rollup's rows under that attribute with a team, category, priority or source filter): a
few rows per value and month rather than every case of the range. The live desk's breakdown
of the open cases by an attribute reads the open rollup's rows under it, and from the cases
only those past due and not marked breached yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Avg, F, FilteredRelation, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from escalations.models import OPEN_STATUSES, Case, Category
from escalations.reports.base import EXTRA_TABLES, Column, Report, Scope, Table, count_cases, hours, pct
from escalations.reports.sql import Seconds
from escalations.rollups import read as rollups

KEY = "breakdown"
MAX_ROWS = 100
NONE = "(none)"


@dataclass(frozen=True)
class Measure:
    label: str
    kind: str
    aggregates: Callable[[Scope], dict]  # name -> aggregate over the cases
    value: Callable[[dict], object]  # the cell, from a group's aggregates ("n": its cases)
    note: str = ""


def _met(stop: str, due: str, breached: str) -> tuple[Q, Q]:
    """As the SLA report counts a clock: met when it stopped by its due time unbreached,
    late when breached or stopped late (running clocks past due: see the SLA report)."""
    met = Q(**{f"{stop}__isnull": False, f"{breached}__isnull": True, f"{stop}__lte": F(due)})
    late = Q(**{f"{breached}__isnull": False}) | Q(**{f"{stop}__gt": F(due)})
    return met, late


def _clock(name: str, stop: str, due: str, breached: str) -> Measure:
    met, late = _met(stop, due, breached)
    return Measure(
        f"{name} met %",
        "pct",
        lambda s: {f"{name}_met": count_cases(met), f"{name}_late": count_cases(late)},
        lambda g: pct(g[f"{name}_met"], g[f"{name}_met"] + g[f"{name}_late"]),
        f"{name} met %: of the clocks that stopped or were breached (this desk's SLA clock).",
    )


def _first_level(scope: Scope) -> dict:
    ladder = scope.ladder()
    first = ladder[0].pk if ladder else None
    return {
        "resolved": count_cases(Q(resolved_at__isnull=False)),
        "first_level": count_cases(Q(resolved_at__isnull=False, level_id=first, highest_level_id=first)),
    }


def _above_first(scope: Scope) -> dict:
    ladder = scope.ladder()
    return {"above_first": count_cases(~Q(highest_level_id=ladder[0].pk if ladder else None))}


MEASURES: dict[str, Measure] = {
    "cases": Measure("Cases", "int", lambda s: {}, lambda g: g["n"]),
    "escalated": Measure(
        "Escalated %",
        "pct",
        lambda s: {"escalated": count_cases(Q(escalation_count__gt=0))},
        lambda g: pct(g["escalated"], g["n"]),
    ),
    "above_first": Measure(
        "Reached above the first level %", "pct", _above_first, lambda g: pct(g["above_first"], g["n"])
    ),
    "resolved": Measure(
        "Resolved", "int", lambda s: {"resolved": count_cases(Q(resolved_at__isnull=False))}, lambda g: g["resolved"]
    ),
    "first_level": Measure(
        "First-level resolution %",
        "pct",
        _first_level,
        lambda g: pct(g["first_level"], g["resolved"]),
        "First-level resolution %: of the resolved cases, those resolved at the first level without leaving it.",
    ),
    "reopened": Measure(
        "Reopened %",
        "pct",
        lambda s: {"reopened": count_cases(Q(reopen_count__gt=0))},
        lambda g: pct(g["reopened"], g["n"]),
    ),
    "escalations_per_case": Measure(
        "Handoffs per case",
        "int",
        lambda s: {"esc_sum": Coalesce(Sum("escalation_count"), 0)},
        lambda g: round(g["esc_sum"] / g["n"], 2) if g["n"] else None,
    ),
    "reassignments_per_case": Measure(
        "Reassignments per case",
        "int",
        lambda s: {"reassign_sum": Coalesce(Sum("reassignment_count"), 0)},
        lambda g: round(g["reassign_sum"] / g["n"], 2) if g["n"] else None,
    ),
    "response_met": _clock("Response", "first_response_at", "response_due_at", "response_breached_at"),
    "resolution_met": _clock("Resolution", "resolved_at", "resolution_due_at", "resolution_breached_at"),
    "made_sla": Measure(
        "Source made SLA %",
        "pct",
        lambda s: {
            "made": count_cases(Q(source_made_sla=True)),
            "verdicts": count_cases(Q(source_made_sla__isnull=False)),
        },
        lambda g: pct(g["made"], g["verdicts"]),
        "Source made SLA %: an imported log's own verdict (UCI made_sla), where it has one.",
    ),
    "hours_to_first_response": Measure(
        "Mean hours to first response",
        "hours",
        lambda s: {"first_avg": Avg(Seconds("first_response_at", "opened_at"))},
        lambda g: hours(g["first_avg"]),
    ),
    "hours_to_resolve": Measure(
        "Mean hours to resolve",
        "hours",
        lambda s: {"resolve_avg": Avg(Seconds("resolved_at", "opened_at"))},
        lambda g: hours(g["resolve_avg"]),
    ),
    "open": Measure("Open", "int", lambda s: {"open": count_cases(Q(status__in=OPEN_STATUSES))}, lambda g: g["open"]),
    "breached": Measure(
        "Resolution breached",
        "int",
        lambda s: {"breached": count_cases(Q(resolution_breached_at__isnull=False) | Q(resolution_due_at__lt=s.now))},
        lambda g: g["breached"],
    ),
}
DEFAULT = ("cases", "escalated", "resolved", "resolution_met")


def _labels(scope: Scope, dimension: str, keys) -> Callable[[object], str]:
    """How a group's key reads: a team's or category's name, a user's name, a level's code."""
    keys = [k for k in keys if k is not None]
    if dimension == "team":
        names = scope.team_names(keys)
    elif dimension == "category":
        names = dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    elif dimension == "agent":
        names = dict(get_user_model().objects.filter(pk__in=keys).values_list("pk", "username"))
    elif dimension == "priority":
        names = {k: f"P{k}" for k in keys}
    else:
        names = {}
    return lambda k: NONE if k is None else str(names.get(k, k))


def grouped(scope: Scope, qs: QuerySet, measures: list[Measure]) -> tuple[list[dict], Callable[[object], str]]:
    """``qs``'s cases grouped by the scope's breakdown, with each measure's aggregates."""
    dimension, key = scope.by
    if dimension == "attr":
        qs = qs.annotate(_by=FilteredRelation("attributes", condition=Q(attributes__key=key)))
        field = "_by__value"
    else:
        field = {
            "team": "team_id",
            "agent": "assignee_id",
            "category": "category_id",
            "priority": "priority",
            "level": "level_id",
        }[dimension]
    aggregates = {"n": count_cases()}
    for m in measures:
        aggregates.update(m.aggregates(scope))
    groups = list(qs.values(field).annotate(**aggregates).order_by())
    for g in groups:
        g["key"] = g.pop(field)
    if dimension == "level":
        return groups, lambda k: scope.level_code(k) if k is not None else NONE
    return groups, _labels(scope, dimension, [g["key"] for g in groups])


def _with_unmarked(groups: list[dict], qs: QuerySet, scope: Scope, key: str) -> list[dict]:
    """The open rollup's groups with, added to their breached count, the open cases ``qs``
    whose resolution clock is past due at the report's moment but not marked breached yet
    (the sweep marks them within its interval: few, through ``case_resolution_unmarked``)."""
    late = qs.filter(resolved_at__isnull=True, resolution_breached_at__isnull=True, resolution_due_at__lt=scope.now)
    late = late.annotate(_by=FilteredRelation("attributes", condition=Q(attributes__key=key)))
    counts = {r["_by__value"]: r["c"] for r in late.values("_by__value").annotate(c=count_cases())}
    for g in groups:
        g["breached"] += counts.get(g["key"], 0)
    return [g for g in groups if g["n"] > 0]


def comparison(scope: Scope, compare: tuple[str, ...], population: str = "opened") -> Table:
    """The comparison table for the scope's breakdown (``Filters.by``)."""
    measures = [MEASURES[name] for name in compare or DEFAULT]
    dimension, key = scope.by
    if population == "open":
        qs = Case.objects.filter(scope.case_filter("", where=True), status__in=OPEN_STATUSES).order_by()
        what = "open cases now"
    else:
        qs = scope.cases()
        what = "cases opened in the range"
    rolled = None
    if dimension == "attr" and population != "open":
        rolled = rollups.attribute_breakdown(scope, key, compare or DEFAULT)
    elif dimension == "attr":
        rolled = rollups.open_attribute_breakdown(scope, key, compare or DEFAULT)
        if rolled is not None:
            rolled = _with_unmarked(rolled, qs, scope, key)
    if rolled is not None:
        groups, label = rolled, _labels(scope, dimension, ())
    else:
        groups, label = grouped(scope, qs, measures)
    groups.sort(key=lambda g: (-g["n"], label(g["key"])))
    rows = [[label(g["key"]), *(m.value(g) for m in measures)] for g in groups[:MAX_ROWS]]
    title = f"By {key}" if dimension == "attr" else f"By {dimension}"
    notes = [f"The {what}, per {scope.f.by_label}; '{NONE}': cases without it."]
    if len(groups) > MAX_ROWS:
        notes.append(f"The {MAX_ROWS} values with most cases of {len(groups):,}.")
    notes += [m.note for m in measures if m.note]
    return Table(
        KEY,
        title,
        [
            Column("value", scope.f.by_label, "text"),
            *(Column(name, m.label, m.kind) for name, m in zip(compare or DEFAULT, measures)),
        ],
        rows,
        note=" ".join(notes),
    )


def _on_request(report: Report, scope: Scope) -> list[Table]:
    return [comparison(scope, report.compare, report.population)] if scope.by is not None else []


EXTRA_TABLES.append(_on_request)

"""What the reports read from the rollups: whether the rollups can answer a scope, which
rollup rows cover its range, and the grouped figures in the shapes the reports already
use (so a report's tables come out the same from either source)."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from escalations.core.bounds import EARLIEST
from escalations.models import (
    AttributeRollup,
    CaseDurationRollup,
    CaseRollup,
    EntryRollup,
    EscalationKind,
    EscalationStatus,
    HandoffRollup,
    OpenRollup,
    RaiserRollup,
    ResolvedRollup,
)
from escalations.reports.base import SOURCES
from escalations.rollups import build
from escalations.rollups.schema import ATTR_SLICE

# The filters the rollups have columns for; any other sends the report to the facts. An
# attribute filter is read from the rows each attributed rollup keeps per attribute of the
# case (``schema.ATTR``); the duration and raiser rollups have none. A breakdown (``by``)
# changes none of the report's own tables: its comparison table is read on its own
# (``reports.breakdown``).
KNOWN_FILTERS = {
    "date_from",
    "date_to",
    "level",
    "team",
    "category",
    "priority",
    "source",
    "attr",
    "period",
    "now",
    "by",
}
ONE_DAY = timedelta(days=1)
SERIES_GRAINS = {"day": ("d",), "week": ("w", "d"), "month": ("m", "d")}
TOTAL_GRAINS = ("m", "w", "d")


def usable(scope) -> bool:
    """The rollups are built (PostgreSQL, this time zone) and hold every filter set."""
    for f in dataclasses.fields(scope.f):
        if f.name not in KNOWN_FILTERS and getattr(scope.f, f.name) not in (None, "", (), [], {}):
            return False
    if not hasattr(scope, "_rollups_active"):
        scope._rollups_active = build.active()
    return scope._rollups_active


def _full_units(grain: str, a: date, b: date) -> tuple[date, date] | None:
    """The first and last day of the whole ``grain`` units inside ``[a, b]`` (or None)."""
    if grain == "d":
        start, end = a, b
    elif grain == "w":
        start = a if a.weekday() == 0 else a + timedelta(days=7 - a.weekday())
        end = b if b.weekday() == 6 else b - timedelta(days=b.weekday() + 1)
    else:
        start = a if a.day == 1 else (a.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = b if (b + ONE_DAY).day == 1 else b.replace(day=1) - ONE_DAY
    return (start, end) if start <= end else None


def cover(a: date, b: date, grains: tuple[str, ...]) -> list[tuple[str, date, date]]:
    """Pieces ``(grain, first day, last day)`` that cover ``[a, b]`` exactly, largest units
    first; days no grain covers are ``("facts", first, last)``."""
    if a > b:
        return []
    if not grains:
        return [("facts", a, b)]
    units = _full_units(grains[0], a, b)
    if units is None:
        return cover(a, b, grains[1:])
    start, end = units
    return [*cover(a, start - ONE_DAY, grains[1:]), (grains[0], start, end), *cover(end + ONE_DAY, b, grains[1:])]


# At most this many exact days are listed beside a range's pieces (see ``range_q``).
MAX_LISTED_DAYS = 1000


# From a row's ``day`` to the next row's of the same grain.
NEXT_UNIT = {
    "d": lambda day: day + ONE_DAY,
    "w": lambda day: day + 7 * ONE_DAY,
    "m": lambda day: (day + 32 * ONE_DAY).replace(day=1),
}


def _unit_days(grain: str, start: date, end: date) -> list[date]:
    """The ``day`` of every ``grain`` row in ``[start, end]``: each day, each Monday or each
    first of a month (``cover`` aligns a piece's ends to its units)."""
    days, day = [], start
    while day <= end:
        days.append(day)
        day = NEXT_UNIT[grain](day)
    return days


def listed(pieces) -> tuple[list[str], list[date]] | None:
    """The grains and the exact days of the rollup rows of two or more pieces (None for one
    piece, or past ``MAX_LISTED_DAYS``)."""
    grains, days = set(), set()
    parts = [(g, a, z) for g, a, z in pieces if g != "facts"]
    for grain, start, end in parts:
        grains.add(grain)
        days.update(_unit_days(grain, start, end))
        if len(days) > MAX_LISTED_DAYS:
            return None
    return (sorted(grains), sorted(days)) if len(parts) > 1 else None


def range_q(pieces) -> Q:
    """The rollup rows of the pieces. Two or more pieces are an OR, which no index can bound:
    PostgreSQL would read every row of the table's other index conditions and filter (a range
    with day edges, 0.23 s of a 0.4 s report at 1M). So the pieces' grains and exact days are
    listed beside them: each rollup index has (grain, day) side by side and probes each pair."""
    q = Q(pk__in=[])
    for grain, start, end in pieces:
        if grain != "facts":
            q |= Q(grain=grain, day__gte=start, day__lte=end)
    if (both := listed(pieces)) is not None:
        q &= Q(grain__in=both[0], day__in=both[1])
    return q


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def case_q(scope) -> Q:
    """The case filters on the case-keyed rollups (``caserollup``, ``resolvedrollup``, ...):
    the rows of the attribute filtered by, else those for all cases, and the other filters."""
    key, value = scope.attr or ("", "")
    return Q(attr_key=key, attr_value=value) & where_q(scope)


def where_q(scope) -> Q:
    """Where the cases are (level, team) and what they are (category, priority, source)."""
    q = Q()
    if scope.level is not None:
        q &= Q(level_id=scope.level.pk)
    if scope.team is not None:
        q &= Q(team_id=scope.team.pk)
    if scope.category is not None:
        q &= Q(category_id=scope.category.pk)
    if scope.f.priority is not None:
        q &= Q(priority=scope.f.priority)
    if scope.f.source is not None:
        q &= Q(source=SOURCES[scope.f.source])
    return q


def _sum(field: str, q: Q | None = None):
    return Coalesce(Sum(field, filter=q), 0)


def cases(scope):
    """The case rollup rows of the scope's range and filters."""
    return CaseRollup.objects.filter(range_q(cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS))).filter(
        case_q(scope)
    )


# -- volume ----------------------------------------------------------------------------------


def opened_by_period(scope, first_level_id) -> dict:
    """``volume``: per period, cases opened (and per priority), escalated, above the first
    level, ended below their highest level."""
    bucket = scope.f.bucket
    pieces = cover(scope.f.date_from, scope.f.date_to, SERIES_GRAINS[bucket])
    rows = (
        CaseRollup.objects.filter(range_q(pieces))
        .filter(case_q(scope))
        .order_by()
        .values("grain", "day")
        .annotate(
            x_n=_sum("n"),
            **{f"x_p{p}": _sum("n", Q(priority=p)) for p in (1, 2, 3, 4)},
            x_escalated=_sum("escalated"),
            x_above_first=_sum("n", ~Q(highest_level_id=first_level_id)),
            x_came_down=_sum("n", ~Q(level_id=F("highest_level_id"))),
        )
    )
    out: dict = defaultdict(Counter)
    for r in rows:
        out[bucket_start(r["day"], bucket)].update({k[2:]: v for k, v in r.items() if k.startswith("x_")})
    return out


def handoff_rows(model, scope, pieces, **kw):
    """Rollup rows of ``model`` in ``pieces`` for the scope's case filters whose either end is
    the scope's level and team (a handoff's level and team filters, as ``Scope.escalations``).
    With no category, priority or attribute filter the rows counting all cases (of the source
    filtered, if any), else those of the cases' own category, priority and source that match
    (an attribute filter: the copies under that attribute)."""
    case = {}
    if scope.category is not None:
        case["category_id"] = scope.category.pk
    if scope.f.priority is not None:
        case["priority"] = scope.f.priority
    if scope.f.source is not None:
        case["source"] = SOURCES[scope.f.source]
    whole = scope.category is None and scope.f.priority is None and scope.attr is None
    if scope.attr is not None:  # the case's own copies under it
        case["attr_key"], case["attr_value"] = scope.attr
    else:  # (key "": value "", the partial indexes' condition)
        case["attr_key"] = ""
    qs = model.objects.filter(range_q(pieces), whole=whole, **case, **kw)
    if scope.level is not None:
        qs = qs.filter(Q(from_level_id=scope.level.pk) | Q(to_level_id=scope.level.pk))
    if scope.team is not None:
        qs = qs.filter(Q(from_team_id=scope.team.pk) | Q(to_team_id=scope.team.pk))
    return qs


def handoffs_by_period(scope) -> list[dict]:
    """``volume``: handoffs raised per period x kind x status x both levels (the groups the
    report's escalations query returns)."""
    bucket = scope.f.bucket
    pieces = cover(scope.f.date_from, scope.f.date_to, SERIES_GRAINS[bucket])
    qs = handoff_rows(HandoffRollup, scope, pieces, basis="r")
    groups: dict = Counter()
    for g in (
        qs.order_by().values("grain", "day", "kind", "status", "from_level_id", "to_level_id").annotate(x_n=_sum("n"))
    ):
        if g["x_n"]:
            key = (bucket_start(g["day"], bucket), g["kind"], g["status"], g["from_level_id"], g["to_level_id"])
            groups[key] += g["x_n"]
    return [
        {"period": p, "kind": k, "status": s, "from_level_id": f, "to_level_id": t, "n": n}
        for (p, k, s, f, t), n in groups.items()
    ]


# -- resolution ------------------------------------------------------------------------------


def resolution_groups(scope) -> list[dict]:
    rows = (
        cases(scope)
        .order_by()
        .values("level_id", "highest_level_id")
        .annotate(x_cases=_sum("n"), x_resolved=_sum("resolved"), x_direct=_sum("resolved_direct"))
    )
    return [
        {
            "level_id": r["level_id"],
            "highest_level_id": r["highest_level_id"],
            "cases": r["x_cases"],
            "resolved": r["x_resolved"],
            "resolved_direct": r["x_direct"],
        }
        for r in rows
        if r["x_cases"]
    ]


# -- speed -----------------------------------------------------------------------------------


def durations_usable(scope) -> bool:
    """Whether the histogram rollup answers the scope: its slices hold one filter at a time,
    an attribute's included, and its crossed rows two or more case filters without one."""
    if not usable(scope):
        return False
    return scope.attr is None or duration_slice(scope) is not None


def duration_slice(scope) -> tuple[str, str] | None:
    """The one filter the histograms are sliced by ("" for none); None when two or more
    filters are set (the histograms then come from the rows crossed with every filter, or
    from the cases when one is an attribute)."""
    dims = []
    if scope.attr is not None:
        dims.append((ATTR_SLICE + scope.attr[0], scope.attr[1]))
    if scope.team is not None:
        dims.append(("team", str(scope.team.pk)))
    if scope.category is not None:
        dims.append(("category", str(scope.category.pk)))
    if scope.f.priority is not None:
        dims.append(("priority", str(scope.f.priority)))
    if scope.f.source is not None:
        dims.append(("source", SOURCES[scope.f.source]))
    if len(dims) > 1:
        return None
    return dims[0] if dims else ("", "")


def case_levels(scope) -> dict:
    """Per level: cases, and the seconds still-open cases spent there up to each source's
    horizon (``count x horizon - sum of openings``, exact in numeric)."""
    out: dict = defaultdict(lambda: {"cases": 0, "open_s": 0.0})
    rows = (
        cases(scope)
        .order_by()
        .values("level_id", "source")
        .annotate(x_n=_sum("n"), x_open=_sum("open_n"), x_opened=Sum("open_opened_s"))
    )
    for r in rows:
        if not r["x_n"]:
            continue
        f = out[r["level_id"]]
        f["cases"] += r["x_n"]
        if r["x_open"]:
            horizon = scope.horizon(SOURCES[scope.f.source] if scope.f.source is not None else r["source"])
            f["open_s"] += float(r["x_open"] * Decimal(horizon.timestamp()) - r["x_opened"])
    return out


def duration_histograms(scope, pieces) -> list[dict]:
    """Histogram rows ``{"level_id", "measure", "b", "n", "s"}`` of the whole weeks and
    months in ``pieces``."""
    one = duration_slice(scope)
    if one is None:
        crossed = {"team_id": scope.team, "category_id": scope.category, "priority": scope.f.priority}
        crossed = {k: getattr(v, "pk", v) for k, v in crossed.items() if v is not None}
        if scope.f.source is not None:
            crossed["source"] = SOURCES[scope.f.source]
        qs = CaseDurationRollup.objects.filter(range_q(pieces), slice="*", **crossed)
    else:
        qs = CaseDurationRollup.objects.filter(range_q(pieces), slice=one[0], value=one[1])
    if scope.level is not None:
        qs = qs.filter(level_id=scope.level.pk)
    rows = qs.order_by().values("level_id", "measure", "bucket").annotate(x_n=_sum("n"), x_s=Sum("s"))
    return [
        {"level_id": r["level_id"], "measure": r["measure"], "bucket": r["bucket"], "n": r["x_n"], "s": r["x_s"]}
        for r in rows
        if r["x_n"]
    ]


def handoff_figures(scope) -> list[dict]:
    """``speed``: the handoffs of the cases opened in the range, per kind x status x both
    levels x wait bucket: how many, and the sums of raising, decision and wait (seconds)."""
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    rows = (
        handoff_rows(HandoffRollup, scope, pieces, basis="o")
        .order_by()
        .values("kind", "status", "from_level_id", "to_level_id", "bucket")
        .annotate(x_n=_sum("n"), raised=Sum("raised_s"), decided=Sum("decided_s"), wait=Sum("wait_s"))
    )
    return [{**r, "n": r.pop("x_n")} for r in rows if r["x_n"]]


# -- sla -------------------------------------------------------------------------------------

SLA_FIGURES = (
    ("cases", "n"),
    *((k, k) for k in ("r_met", "r_late", "s_met", "s_late", "o_met", "o_late", "w_met", "w_late")),
    *((k, k) for k in ("fr_n", "made", "verdicts", "r_n", "s_n")),
    ("fr_sum", "fr_s"),
    ("r_sum", "r_s"),
    ("s_sum", "s_s"),
)


def sla_groups(scope) -> list[dict]:
    """``sla``: per (period, level, priority) every figure a case's columns decide alone
    (the report adds the clocks still running past due, read from the open cases)."""
    bucket = scope.f.bucket
    pieces = cover(scope.f.date_from, scope.f.date_to, SERIES_GRAINS[bucket])
    rows = (
        CaseRollup.objects.filter(range_q(pieces))
        .filter(case_q(scope))
        .order_by()
        .values("grain", "day", "level_id", "priority")
        .annotate(**{f"x_{out}": Sum(col) for out, col in SLA_FIGURES})
    )
    out: dict = {}
    for r in rows:
        if not r["x_cases"]:
            continue
        key = (bucket_start(r["day"], bucket), r["level_id"], r["priority"])
        g = out.setdefault(key, {"period": key[0], "level_id": key[1], "priority": key[2]})
        for name, _col in SLA_FIGURES:
            g[name] = g.get(name, 0) + r[f"x_{name}"]
    return list(out.values())


def handoffs_left(scope) -> list[dict]:
    """``sla``: handoffs raised in the range per level left: how many, and how many recorded
    an OLA response or work breach."""
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    rows = (
        handoff_rows(HandoffRollup, scope, pieces, basis="r")
        .order_by()
        .values("from_level_id")
        .annotate(n=_sum("n"), breached=_sum("response_breached"), work_breached=_sum("work_breached"))
    )
    return [r for r in rows if r["n"]]


# -- quality and flow ------------------------------------------------------------------------


def raisers(scope) -> list[dict]:
    """``quality``: escalations and skip-level jumps raised in the range per team they left
    and person who raised them: raised, returned, raised in this desk, missing information."""
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    rows = (
        handoff_rows(RaiserRollup, scope, pieces, kind__in=(EscalationKind.ESCALATE, EscalationKind.JUMP))
        .order_by()
        .values("from_team_id", "raised_by_id")
        .annotate(raised=_sum("n"), returned=_sum("returned"), live=_sum("live"), thin=_sum("thin"))
    )
    return [
        {**r, "from_team_id": r["from_team_id"] or None, "raised_by_id": r["raised_by_id"] or None}
        for r in rows
        if r["raised"]
    ]


def quality_groups(scope, top) -> list[dict]:
    """``quality``: per (level, team) cases, breached, breached and left at a level below
    ``top``, resolved at least once, reopened."""
    rows = (
        cases(scope)
        .order_by()
        .values("level_id", "team_id")
        .annotate(
            cases=_sum("n"),
            breached=_sum("breached"),
            under=_sum("under", ~Q(level_id=top)),
            resolved=_sum("resolved_once"),
            reopened=_sum("reopened"),
        )
    )
    return [{**r, "team_id": r["team_id"] or None} for r in rows if r["cases"]]


def flow_teams(scope) -> list[dict]:
    """``flow``: per team holding the cases: cases, reassignments, cases reassigned twice or
    more, and the source's verdicts (how many, how many made)."""
    rows = (
        cases(scope)
        .order_by()
        .values("team_id")
        .annotate(
            cases=_sum("n"), moves=_sum("moves"), bounced=_sum("bounced"), verdicts=_sum("verdicts"), made=_sum("made")
        )
    )
    return [{**r, "team_id": r["team_id"] or None} for r in rows if r["cases"]]


def opened_per_category(scope) -> dict:
    """``satisfaction`` (deflection): cases opened per category."""
    rows = cases(scope).order_by().values("category_id").annotate(x_n=_sum("n"))
    return {r["category_id"]: r["x_n"] for r in rows if r["x_n"]}


def flow_entries(scope) -> tuple[Counter, Counter]:
    """``flow``: cases by the level they entered at, and by their number of handoffs
    (0, 1, 2, 3, 4 for four or more)."""
    rows = (
        EntryRollup.objects.filter(range_q(cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)))
        .filter(case_q(scope))
        .order_by()
        .values("entry_level_id")
        .annotate(x_n=_sum("n"), **{f"x_h{k}": _sum(f"h{k}") for k in (1, 2, 3, 4)})
    )
    entries, handoffs = Counter(), Counter()
    for r in rows:
        entries[r["entry_level_id"]] += r["x_n"]
        handoffs[0] += r["x_n"] - sum(r[f"x_h{k}"] for k in (1, 2, 3, 4))
        handoffs.update({k: r[f"x_h{k}"] for k in (1, 2, 3, 4)})
    return +entries, handoffs


def moved_down(scope) -> int:
    """``volume``: cases returned or de-escalated at least once."""
    rows = EntryRollup.objects.filter(range_q(cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)))
    return rows.filter(case_q(scope)).aggregate(x=_sum("down"))["x"]


def handed_away(scope) -> dict:
    """``flow``: per team, decided handoffs of the cases opened in the range that left it for
    another team."""
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    rows = (
        handoff_rows(HandoffRollup, scope, pieces, basis="o")
        .exclude(status=EscalationStatus.PENDING)
        .exclude(from_team_id=0)
        .exclude(to_team_id=0)
        .exclude(from_team_id=F("to_team_id"))
        .order_by()
        .values("from_team_id")
        .annotate(x_n=_sum("n"))
    )
    return {r["from_team_id"]: r["x_n"] for r in rows if r["x_n"]}


def flow_periods(scope) -> dict:
    """``flow``: per period: cases opened, reassignments, handoffs, verdicts, made."""
    bucket = scope.f.bucket
    pieces = cover(scope.f.date_from, scope.f.date_to, SERIES_GRAINS[bucket])
    rows = (
        CaseRollup.objects.filter(range_q(pieces))
        .filter(case_q(scope))
        .order_by()
        .values("grain", "day")
        .annotate(
            cases=_sum("n"),
            moves=_sum("moves"),
            handoffs=_sum("handoffs"),
            verdicts=_sum("verdicts"),
            made=_sum("made"),
        )
    )
    out: dict = defaultdict(Counter)
    for r in rows:
        out[bucket_start(r["day"], bucket)].update({k: v for k, v in r.items() if k not in ("grain", "day")})
    return out


# -- bottlenecks and the live desk ----------------------------------------------------------


def open_now(scope) -> list[dict]:
    """``live``: the cases open now per level and team: how many, nobody on them, a clock
    already breached."""
    rows = (
        OpenRollup.objects.filter(case_q(scope))
        .order_by()
        .values("level_id", "team_id")
        .annotate(n=_sum("n"), unassigned=_sum("unassigned"), breached=_sum("breached"))
    )
    return [{**r, "team_id": r["team_id"] or None} for r in rows if r["n"]]


def waits(scope) -> list[dict]:
    """``bottlenecks``: escalations and skip-level jumps raised in the range per receiving
    team and level x wait bucket (-1: not decided yet): how many, and their summed waits."""
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    qs = handoff_rows(HandoffRollup, scope, pieces, basis="r", kind__in=(EscalationKind.ESCALATE, EscalationKind.JUMP))
    rows = qs.order_by().values("to_team_id", "to_level_id", "bucket").annotate(x_n=_sum("n"), x_s=Sum("wait_s"))
    return [
        {
            "to_team_id": r["to_team_id"] or None,
            "to_level_id": r["to_level_id"],
            "bucket": r["bucket"],
            "n": r["x_n"],
            "s": r["x_s"],
        }
        for r in rows
        if r["x_n"]
    ]


def backlog(scope) -> tuple[int, Counter, Counter]:
    """``bottlenecks``: cases open when the range starts (opened before it, less those
    resolved before it: a case is resolved after it was opened), and per period the cases
    opened and resolved."""
    before = cover(EARLIEST, scope.f.date_from - ONE_DAY, TOTAL_GRAINS)
    bucket = scope.f.bucket
    pieces = cover(scope.f.date_from, scope.f.date_to, SERIES_GRAINS[bucket])
    start_open = 0
    opened_in, resolved_in = Counter(), Counter()
    for model, sign, per in ((CaseRollup, 1, opened_in), (ResolvedRollup, -1, resolved_in)):
        base = model.objects.filter(case_q(scope)).order_by()
        start_open += sign * base.filter(range_q(before)).aggregate(n=_sum("n"))["n"]
        for r in base.filter(range_q(pieces)).values("grain", "day").annotate(x_n=_sum("n")):
            per[bucket_start(r["day"], bucket)] += r["x_n"]
    return start_open, opened_in, resolved_in


# -- a breakdown by an attribute -------------------------------------------------------------

# What the compared measures (``reports.breakdown.MEASURES``) add up, as the columns of both
# the attribute and the case rollups; the means are sums over counts, taken at the end.
BREAKDOWN_SUMS = {
    **{k: k for k in ("n", "escalated", "resolved", "reopened", "made", "verdicts", "fr_n", "fr_s", "resolve_s")},
    "esc_sum": "handoffs",
    "reassign_sum": "moves",
    "Response_met": "r_met",
    "Response_late": "r_late",
    "Resolution_met": "s_met",
    "Resolution_late": "s_late",
    "open": "open_now",
}
# The measures of cases opened in the range that these sums answer (not "breached": a clock
# past due at the report's moment, which the live desk reads from the open cases).
BREAKDOWN_MEASURES = {
    "cases",
    "open",
    "escalated",
    "above_first",
    "resolved",
    "first_level",
    "reopened",
    "escalations_per_case",
    "reassignments_per_case",
    "response_met",
    "resolution_met",
    "made_sla",
    "hours_to_first_response",
    "hours_to_resolve",
}


def attribute_breakdown(scope, key: str, measures) -> list[dict] | None:
    """The breakdown's groups for the cases opened in the range, per value of the attribute
    ``key`` (``"key"``: the value, None for the cases without it), with every aggregate the
    measures read; None when the rollups cannot answer (a filter they lack, an attribute
    filter too, a measure of the open cases). The "(none)" group is all cases less those
    with a value: a case has at most one value per key."""
    if not usable(scope) or scope.attr is not None or set(measures) - BREAKDOWN_MEASURES:
        return None
    ladder = scope.ladder()
    first = ladder[0].pk if ladder else None
    sums = {  # named x_...: an annotation may not take a column's name
        **{f"x_{out}": Sum(col) for out, col in BREAKDOWN_SUMS.items()},
        "x_above_first": Sum("n", filter=~Q(highest_level_id=first)),
        "x_first_level": Sum("resolved", filter=Q(level_id=first, highest_level_id=first)),
    }
    names = [k.removeprefix("x_") for k in sums]
    pieces = cover(scope.f.date_from, scope.f.date_to, TOTAL_GRAINS)
    if any(x is not None for x in (scope.team, scope.category, scope.f.priority, scope.f.source)):
        value = "attr_value"  # the case rollup's rows under the key, which have those columns
        by_value = CaseRollup.objects.filter(range_q(pieces), where_q(scope), attr_key=key)
    else:  # a level at most: the attribute rollup's, some 25 times fewer rows
        value = "value"
        by_value = AttributeRollup.objects.filter(range_q(pieces), key=key)
        if scope.level is not None:
            by_value = by_value.filter(level_id=scope.level.pk)
    groups = [
        {"key": row[value], **{k: row[f"x_{k}"] or 0 for k in names}}
        for row in by_value.order_by().values(value).annotate(**sums)
    ]
    total = cases(scope).order_by().aggregate(**sums)
    none = {k: (total[f"x_{k}"] or 0) - sum(g[k] for g in groups) for k in names}
    if none["n"] > 0:
        groups.append({"key": None, **none})
    for g in groups:
        fr_s, resolve_s = g.pop("fr_s"), g.pop("resolve_s")
        g["first_avg"] = fr_s / g["fr_n"] if g["fr_n"] else None
        g["resolve_avg"] = resolve_s / g["resolved"] if g["resolved"] else None
    return [g for g in groups if g["n"] > 0]


def open_attribute_breakdown(scope, key: str, measures) -> list[dict] | None:
    """The live desk's breakdown of the cases open now per value of the attribute ``key``:
    how many (``n``, ``open``) and how many with the resolution clock recorded as breached
    (``breached``; ``reports.breakdown`` adds the open cases past due at the report's moment
    that the sweep has not marked yet); None when the rollups cannot answer. "(none)" as in
    ``attribute_breakdown``; groups without cases are left in."""
    if not usable(scope) or scope.attr is not None or set(measures) - {"open", "breached"}:
        return None
    sums = {"x_n": _sum("n"), "x_breached": _sum("s_breached")}
    rows = OpenRollup.objects.filter(where_q(scope), attr_key=key).order_by().values("attr_value").annotate(**sums)
    groups = [{"key": r["attr_value"], "n": r["x_n"], "breached": r["x_breached"]} for r in rows]
    total = OpenRollup.objects.filter(where_q(scope), attr_key="").aggregate(**sums)
    groups.append(
        {
            "key": None,
            "n": total["x_n"] - sum(g["n"] for g in groups),
            "breached": total["x_breached"] - sum(g["breached"] for g in groups),
        }
    )
    for g in groups:
        g["open"] = g["n"]
    return groups

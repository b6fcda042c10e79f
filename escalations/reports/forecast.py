"""Staffing forecast: tomorrow's and the next week's new cases and escalations arriving at
each level, with an 80 % range, and the staff-hours they need at each level's measured
handling time; with the rolling-origin evaluation that chose the method (see
``escalations.domain.forecast``).

The history is the range's complete days (the day in progress, and an imported log's last
partial day, are left out), at most ``HISTORY_DAYS`` of them, from the first day with any
arrival. "Tomorrow" is the day after today for a range reaching today, otherwise the day
after the range (an imported log: the day after its data ends).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from escalations.domain import forecast as fc
from escalations.reports import forecast_data as data
from escalations.reports.base import SOURCES, Chart, Column, FilterError, Result, Scope, Table, report

HISTORY_DAYS = 371  # 53 weeks: a year of weekly patterns; longer costs time, not accuracy
MEASURE_DAYS = 56  # the handling time is measured over the last 8 weeks of the history


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class Window:
    """Which days are history and which are forecast."""

    def __init__(self, scope: Scope):
        f = scope.f
        data_end = timezone.localtime(scope.horizon(SOURCES[f.source] if f.source else ""))
        partial = data_end.time() != time.min
        self.last = data_end.date() - timedelta(days=1)  # the last complete day
        self.tomorrow = data_end.date() + timedelta(days=1) if partial else data_end.date()
        self.first = max(f.date_from, self.last - timedelta(days=HISTORY_DAYS - 1))
        self.horizon = (self.tomorrow - self.last).days - 1 + fc.HORIZON

    @property
    def days(self) -> list[date]:
        n = (self.last - self.first).days + 1
        return [self.first + timedelta(days=i) for i in range(max(n, 0))]

    @property
    def ahead(self) -> list[date]:
        return [self.last + timedelta(days=h) for h in range(1, self.horizon + 1)]


class Plan:
    """Everything the tables show, computed once."""

    def __init__(self, scope: Scope):
        if scope.team is not None:
            raise FilterError("The forecast is per level: leave the team empty.")
        self.scope = scope
        self.window = w = Window(scope)
        self.levels = [scope.level] if scope.level is not None else scope.ladder()
        days = w.days
        new = data.new_cases(scope, _aware(w.first), _aware(w.last + timedelta(days=1))) if days else {}
        esc = data.escalations_in(scope, _aware(w.first), _aware(w.last + timedelta(days=1))) if days else {}
        series = {}
        for lv in self.levels:
            series[(lv.code, "new")] = data.daily(new.get(lv.pk, {}), days)
            series[(lv.code, "esc")] = data.daily(esc.get(lv.pk, {}), days)
        # start at the first day anything arrived: an imported log's range may begin before it
        busy = [i for i in range(len(days)) if any(s[i] for s in series.values())]
        skip = busy[0] if busy else len(days)
        self.days = days[skip:]
        self.series = {k: v[skip:] for k, v in series.items()}
        active = {k: v for k, v in self.series.items() if any(v)}
        if active and scope.level is None:  # levels nothing ever arrived at are left out
            self.levels = [lv for lv in self.levels if (lv.code, "new") in active or (lv.code, "esc") in active]
        self.evaluation = fc.evaluate({f"{a}:{b}": v for (a, b), v in active.items()}) if active else None
        if self.evaluation is not None:
            self.method_name = self.evaluation.chosen
        elif len(self.days) >= fc.SEASON:
            self.method_name = fc.BASELINE
        else:
            self.method_name = None
        self._forecast(active)
        self._handling()

    def _forecast(self, active: dict) -> None:
        """Per level: the point forecasts and ranges of new cases, escalations and their sum."""
        h = self.window.horizon
        method = fc.candidates()[self.method_name] if self.method_name else None
        self.ahead: dict = {}
        for lv in self.levels:
            parts, tests = {}, []
            for kind in ("new", "esc"):
                ys = self.series[(lv.code, kind)]
                point = [max(0.0, v) for v in method(ys, h)] if method and (lv.code, kind) in active else [0.0] * h
                bt = self.evaluation.backtests[self.method_name].get(f"{lv.code}:{kind}") if self.evaluation else None
                parts[kind] = (
                    fc.ahead(bt, point)
                    if bt
                    else fc.Ahead(point, [None] * h, [None] * h, sum(point[: fc.HORIZON]), None, None)
                )
                if bt:
                    tests.append(bt)
            total = [a + b for a, b in zip(parts["new"].point, parts["esc"].point)]
            if tests:
                parts["all"] = fc.ahead(fc.summed(tests) if len(tests) > 1 else tests[0], total)
            else:
                parts["all"] = fc.Ahead(total, [None] * h, [None] * h, sum(total[: fc.HORIZON]), None, None)
            self.ahead[lv.code] = parts

    def _handling(self) -> None:
        """Hours worked per arrival at each level over the last ``MEASURE_DAYS`` of history."""
        self.handling: dict = {}
        if not self.days:
            return
        first = max(self.days[0], self.window.last - timedelta(days=MEASURE_DAYS - 1))
        self.measured = (first, self.window.last)
        worked = data.worked_seconds(self.scope, _aware(first), _aware(self.window.last + timedelta(days=1)))
        cut = self.days.index(first)
        for lv in self.levels:
            arrivals = sum(self.series[(lv.code, "new")][cut:]) + sum(self.series[(lv.code, "esc")][cut:])
            hours = worked.get(lv.pk, 0.0) / 3600.0
            self.handling[lv.code] = (arrivals, hours, hours / arrivals if arrivals else None)

    def per_arrival(self, code: str) -> float | None:
        return self.handling.get(code, (0, 0.0, None))[2]


def _staff(value: float | None, per: float | None) -> float | None:
    return None if value is None or per is None else value * per


LEVEL_COLUMNS = [
    Column("level", "Level", "text"),
    Column("new", "New cases", "num"),
    Column("new_low", "New low", "num"),
    Column("new_high", "New high", "num"),
    Column("escalations", "Escalations in", "num"),
    Column("esc_low", "Esc. low", "num"),
    Column("esc_high", "Esc. high", "num"),
    Column("arrivals", "Arrivals", "num"),
    Column("arrivals_low", "Arrivals low", "num"),
    Column("arrivals_high", "Arrivals high", "num"),
    Column("hours_per_arrival", "Hours worked per arrival", "num"),
    Column("staff_hours", "Staff-hours", "num"),
    Column("staff_hours_low", "Staff-hours low", "num"),
    Column("staff_hours_high", "Staff-hours high", "num"),
]


def _level_row(code: str, parts: dict, per: float | None, pick) -> list:
    row = [code]
    for kind in ("new", "esc", "all"):
        row += [_r(v) for v in pick(parts[kind])]
    point, low, high = pick(parts["all"])
    return row + [_r(per, 2), *(_r(_staff(v, per)) for v in (point, low, high))]


def _day_tables(plan: Plan) -> list[Table]:
    w = plan.window
    i = (w.tomorrow - w.last).days - 1  # tomorrow's position among the days ahead
    tomorrow = Table(
        "tomorrow",
        f"Tomorrow, {w.tomorrow:%A %Y-%m-%d}, per level",
        LEVEL_COLUMNS,
        [
            _level_row(
                lv.code, plan.ahead[lv.code], plan.per_arrival(lv.code), lambda a: (a.point[i], a.low[i], a.high[i])
            )
            for lv in plan.levels
        ],
        Chart("bar", "level", ["new", "escalations"], stacked=True),
        note="Expected arrivals with an 80 % range (low-high): where 80 % of past days fell around "
        "the method's forecast (its errors on this history). A method that kept under- or "
        "over-forecasting gets a range on one side of its expected value. Staff-hours = arrivals x "
        "the level's hours worked per arrival (table 'Handling time').",
    )
    week_end = w.tomorrow + timedelta(days=fc.HORIZON - 1)
    # the week is the first HORIZON days ahead; when today is in progress it starts tomorrow
    week_rows = []
    for lv in plan.levels:
        parts = plan.ahead[lv.code]
        shifted = {k: _week_from(a, i) for k, a in parts.items()}
        week_rows.append(
            _level_row(lv.code, shifted, plan.per_arrival(lv.code), lambda a: (a.week, a.week_low, a.week_high))
        )
    week = Table(
        "week",
        f"Next week, {w.tomorrow:%Y-%m-%d} to {week_end:%Y-%m-%d}, per level",
        LEVEL_COLUMNS,
        week_rows,
        Chart("bar", "level", ["new", "escalations"], stacked=True),
        note="Totals over the seven days; the range of a week's total comes from past errors of "
        "week totals, not from adding the days' ranges.",
    )
    cols = [Column("day", "Day", "date"), Column("weekday", "Weekday", "text")]
    for lv in plan.levels:
        c = lv.code
        cols += [
            Column(f"{c}_arrivals", f"{c} arrivals", "num"),
            Column(f"{c}_low", f"{c} low", "num"),
            Column(f"{c}_high", f"{c} high", "num"),
            Column(f"{c}_staff_hours", f"{c} staff-hours", "num"),
        ]
    rows = []
    for j, day in enumerate(w.ahead):
        row = [day, f"{day:%a}" + (" (today)" if j < i else "")]
        for lv in plan.levels:
            a, per = plan.ahead[lv.code]["all"], plan.per_arrival(lv.code)
            row += [_r(a.point[j]), _r(a.low[j]), _r(a.high[j]), _r(_staff(a.point[j], per))]
        rows.append(row)
    days = Table(
        "days",
        "Arrivals and staff-hours per day ahead",
        cols,
        rows,
        Chart("bar", "day", [f"{lv.code}_arrivals" for lv in plan.levels], stacked=True),
        note="Arrivals = new cases entering at the level + escalations received.",
    )
    return [tomorrow, week, days]


def _week_from(a: fc.Ahead, i: int) -> fc.Ahead:
    """``a``'s week total over the HORIZON days from position ``i`` (its range kept)."""
    if i == 0:
        return a
    total = sum(a.point[i : i + fc.HORIZON])
    shift = total - a.week
    bound = lambda v: None if v is None else max(0.0, v + shift)  # noqa: E731
    return fc.Ahead(a.point, a.low, a.high, total, bound(a.week_low), bound(a.week_high))


def _handling_table(plan: Plan) -> Table:
    rows = []
    for lv in plan.levels:
        arrivals, hours, per = plan.handling.get(lv.code, (0, 0.0, None))
        n_days = (plan.measured[1] - plan.measured[0]).days + 1 if plan.handling else 0
        rows.append([lv.code, arrivals, _r(hours), _r(per, 2), _r(hours / n_days if n_days else None)])
    span = f" ({plan.measured[0]} to {plan.measured[1]})" if plan.handling else ""
    return Table(
        "handling",
        "Handling time per level" + span,
        [
            Column("level", "Level", "text"),
            Column("arrivals", "Arrivals"),
            Column("hours_worked", "Hours in progress", "num"),
            Column("hours_per_arrival", "Hours per arrival", "num"),
            Column("hours_per_day", "Hours per day", "num"),
        ],
        rows,
        Chart("bar", "level", ["hours_per_arrival"]),
        note=f"Measured over the last {MEASURE_DAYS} days of the history: the time cases spent in "
        "progress at the level (taken on, not waiting on the customer, not queued for acceptance), "
        "from the case history, divided by the arrivals. Event logs record when a level held a case "
        "in progress, not how long someone worked on it, so on imported logs this is an upper bound.",
    )


EVAL_COLUMNS = [
    Column("method", "Method", "text"),
    Column("role", "Role", "text"),
    Column("mae", "MAE", "num"),
    Column("baseline_mae", "Baseline MAE", "num"),
    Column("mase", "MASE", "num"),
    Column("mase_tomorrow", "MASE tomorrow", "num"),
    Column("hk_mase", "MASE (H&K)", "num"),
    Column("coverage", "In 80 % range %", "pct"),
    Column("choose_mase", "MASE, choosing half", "num"),
]


def _evaluation_table(plan: Plan) -> Table:
    ev = plan.evaluation
    if ev is None:
        return Table(
            "evaluation",
            "How the method was chosen",
            EVAL_COLUMNS,
            [],
            note=f"Too little history to evaluate ({len(plan.days)} days with arrivals; at least "
            f"{fc.MIN_HISTORY + fc.HORIZON + 1} are needed). "
            + ("The seasonal-naive forecast is shown, without ranges." if plan.method_name else "No forecast."),
        )
    rows = []
    for name, (choose, judge) in ev.scores.items():
        role = "served" if name == ev.chosen else "baseline" if name == fc.BASELINE else "candidate"
        if name == ev.chosen == fc.BASELINE:
            role = "served (baseline)"
        rows.append(
            [
                name,
                role,
                _r(judge.mae, 3),
                _r(judge.baseline_mae, 3),
                _r(judge.mase, 3),
                _r(judge.mase_tomorrow, 3),
                _r(judge.hk_mase, 3),
                _r(None if judge.coverage is None else 100 * judge.coverage),
                _r(choose.mase, 3),
            ]
        )
    served = ev.report
    n_origins = len(next(iter(ev.backtests[ev.chosen].values())).at)
    verdict = (
        f"The served method beats the seasonal-naive forecast (MASE {served.mase:.3f} < 1)."
        if served.mase is not None and served.mase < 1
        else "The served method does NOT beat the seasonal-naive forecast on the reported half "
        f"(MASE {served.mase if served.mase is None else round(served.mase, 3)})."
    )
    return Table(
        "evaluation",
        "How the method was chosen (rolling origin)",
        EVAL_COLUMNS,
        rows,
        note=f"{verdict} From each of {n_origins} origins (every day from day {fc.MIN_HISTORY} of "
        f"{len(plan.days)}) the next {fc.HORIZON} days were forecast for each level's new cases and "
        f"escalations ({len(ev.backtests[ev.chosen])} series). The method with the lowest error on the "
        "earlier half of the origins serves; the figures are from the later half only. MASE = the "
        "method's mean absolute error / the seasonal-naive forecast's (the same weekday last week) on "
        "the same days: below 1 beats it. MASE (H&K): Hyndman and Koehler's, each error scaled by the "
        "in-sample one-week-naive error. 'In 80 % range': how often a day fell inside the range "
        "(checked for the served method and the baseline).",
    )


def summary(result: Result) -> dict:
    """The command's last line: the served method's figures and the baseline's, same run."""
    tables = {t.key: t for t in result.tables}
    ev = tables["evaluation"]
    keys = [c.key for c in ev.columns]
    rows = [dict(zip(keys, r)) for r in ev.rows]
    served = next((r for r in rows if r["role"].startswith("served")), None)
    base = next((r for r in rows if r["method"] == fc.BASELINE), None)
    out = {
        "report": "forecast",
        "source": result.filters.source or "all",
        "method": served["method"] if served else None,
        "mase": served["mase"] if served else None,
        "mase_tomorrow": served["mase_tomorrow"] if served else None,
        "mae": served["mae"] if served else None,
        "hk_mase": served["hk_mase"] if served else None,
        "coverage_80": served["coverage"] if served else None,
        "baseline_mae": base["mae"] if base else None,
        "baseline_mase": base["mase"] if base else None,
        "baseline_hk_mase": base["hk_mase"] if base else None,
        "baseline_coverage_80": base["coverage"] if base else None,
        "beats_baseline": bool(served and served["mase"] is not None and served["mase"] < 1),
    }
    for key in ("tomorrow", "week"):
        t = tables[key]
        cols = [c.key for c in t.columns]
        out[key] = {
            r[0]: {k: v for k, v in zip(cols, r) if k in ("arrivals", "arrivals_low", "arrivals_high", "staff_hours")}
            for r in t.rows
        }
    return out


@report(
    "forecast",
    "Staffing forecast",
    "Tomorrow's and the next week's new cases and escalations arriving at each level, with an 80 % "
    "range, and the staff-hours they need at each level's measured handling time; and how well the "
    "method did against the seasonal-naive forecast on the same history (rolling origin). Always by "
    "day; the period and team filters do not apply.",
    summary=summary,
    default_days=HISTORY_DAYS - 1,
    daily=True,
)
def forecast(scope: Scope) -> list[Table]:
    plan = Plan(scope)
    tables = [*_day_tables(plan), _handling_table(plan), _evaluation_table(plan)]
    tables[0].note += (
        f" Computed at {timezone.localtime(scope.now):%Y-%m-%d %H:%M}; kept for the rest of the day "
        "(until midnight, the next import or a change of the ladder)."
    )
    return tables

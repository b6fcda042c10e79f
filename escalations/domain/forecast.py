"""Daily arrival forecasts with weekly seasonality, and their rolling-origin evaluation.

Pure arithmetic on lists of daily counts (no database): the report (``reports/forecast``)
reads the series, this module forecasts them, measures the methods on the same data and
picks the one to serve.

How a method is judged. From every origin ``t`` (the last day the forecaster may see) the
next ``HORIZON`` days are forecast and compared with what happened. The baseline is the
seasonal-naive forecast: the same weekday in the last observed week. ``mase`` is the mean
absolute error of a method divided by the baseline's over the very same days and origins
(below 1: the method beats the baseline). Hyndman and Koehler's scaling (each error divided
by the in-sample mean absolute error of the one-week naive forecast up to its origin) is
given too as ``hk_mase`` for both.

Choosing without peeking: the origins are split in time; the method with the lowest error on
the earlier half serves, and the figures reported are from the later half only. Ranges are
the 10th and 90th percentiles of the served method's own past errors on that series (only
errors whose day was already known at the origin), so an "80 % range" is checked by how
often the later half's days fell inside it (``coverage``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SEASON = 7
HORIZON = 7
MIN_HISTORY = 14  # days before the first origin: two weeks, so every method has a full week
LOW_Q, HIGH_Q = 0.1, 0.9  # an 80 % range
MIN_ERRORS = 14  # past errors needed before a range is given
ERROR_WINDOW = 8 * SEASON * HORIZON  # the most recent daily errors used for a range (8 weeks of origins)
WEEK_ERROR_WINDOW = 8 * SEASON  # the most recent week-total errors used for a week's range

Forecaster = Callable[[Sequence[float], int], list[float]]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def seasonal_naive(history: Sequence[float], horizon: int) -> list[float]:
    """Day ``h`` ahead: the same weekday in the last observed week (``h`` > 7 wraps again)."""
    n = len(history)
    return [float(history[n - 1 + h - SEASON * math.ceil(h / SEASON)]) for h in range(1, horizon + 1)]


def weekday_profile(level_weeks: int, profile_weeks: int) -> Forecaster:
    """The mean of the last ``level_weeks`` whole weeks, times each weekday's share of the last
    ``profile_weeks`` weeks (fewer if the history is shorter). Averaging over weeks is what
    makes it steadier than the seasonal-naive forecast, which trusts one week."""

    def forecast(history: Sequence[float], horizon: int) -> list[float]:
        n = len(history)
        weeks = max(1, min(profile_weeks, n // SEASON))
        window = history[n - weeks * SEASON :]
        overall = _mean(window)
        level = _mean(history[n - min(level_weeks, n // SEASON) * SEASON :] or history)
        out = []
        for h in range(1, horizon + 1):
            # the days of the window on the target's weekday: same position modulo 7 from the end
            back = SEASON - ((h - 1) % SEASON)
            same_day = window[len(window) - back :: -SEASON] if back <= len(window) else []
            share = _mean(same_day) / overall if overall else 0.0
            out.append(level * share)
        return out

    forecast.__name__ = f"profile_{level_weeks}w_{profile_weeks}w"
    return forecast


def holt_winters(alpha: float, gamma: float) -> Forecaster:
    """Exponential smoothing with an additive weekly season and no trend (ETS(A,N,A)),
    started from the first week's mean and deviations. Counts cannot go below zero."""

    def forecast(history: Sequence[float], horizon: int) -> list[float]:
        return every_origin(history, [len(history) - 1], horizon)[0]

    def every_origin(series: Sequence[float], at: Sequence[int], horizon: int) -> list[list[float]]:
        """One pass over the series gives the state at every origin (the recursion only looks back)."""
        wanted, out = set(at), {}
        first = series[:SEASON]
        level = _mean(first)
        season = [y - level for y in first] + [0.0] * (SEASON - len(first))
        for t in range(len(series)):
            if t >= len(first):
                s = season[t % SEASON]
                new_level = alpha * (series[t] - s) + (1 - alpha) * level
                season[t % SEASON] = gamma * (series[t] - new_level) + (1 - gamma) * s
                level = new_level
            if t in wanted:
                out[t] = [max(0.0, level + season[(t + h) % SEASON]) for h in range(1, horizon + 1)]
        return [out[t] for t in at]

    forecast.__name__ = f"smoothing_a{alpha:g}_g{gamma:g}"
    forecast.every_origin = every_origin
    return forecast


def blend(*methods: Forecaster) -> Forecaster:
    """The mean of several methods' forecasts."""

    def forecast(history: Sequence[float], horizon: int) -> list[float]:
        outs = [m(history, horizon) for m in methods]
        return [_mean(col) for col in zip(*outs)]

    def every_origin(series: Sequence[float], at: Sequence[int], horizon: int) -> list[list[float]]:
        parts = [rolling(series, m, at, horizon) for m in methods]
        return [[_mean(col) for col in zip(*rows)] for rows in zip(*parts)]

    forecast.__name__ = "blend(" + "+".join(m.__name__ for m in methods) + ")"
    forecast.every_origin = every_origin
    return forecast


BASELINE = "seasonal_naive"


def candidates() -> dict[str, Forecaster]:
    """The methods tried; ``seasonal_naive`` is the baseline and may win too."""
    out: dict[str, Forecaster] = {BASELINE: seasonal_naive}
    profiles = [weekday_profile(lw, pw) for lw, pw in ((1, 4), (2, 8), (4, 8), (4, 12))]
    smoothers = [holt_winters(a, g) for a, g in ((0.1, 0.05), (0.2, 0.1), (0.3, 0.1))]
    for m in [*profiles, *smoothers, blend(profiles[1], smoothers[1]), blend(profiles[2], smoothers[0])]:
        out[m.__name__] = m
    return out


def origins(n: int, horizon: int = HORIZON) -> list[int]:
    """Every origin (index of the last day seen) with a full horizon of known days after it."""
    return list(range(MIN_HISTORY - 1, n - horizon))


def rolling(
    series: Sequence[float], method: Forecaster, at: Sequence[int], horizon: int = HORIZON
) -> list[list[float]]:
    """The forecasts made from each origin in ``at``, seeing only the days up to it (a method
    with an ``every_origin`` shortcut computes them all in one pass)."""
    fast = getattr(method, "every_origin", None)
    if fast is not None:
        return fast(series, at, horizon)
    return [method(series[: t + 1], horizon) for t in at]


def quantile(values: Sequence[float], q: float, is_sorted: bool = False) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    s = values if is_sorted else sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def error_range(errors: Sequence[float], window: int = ERROR_WINDOW) -> tuple[float, float] | None:
    """The 80 % range of future errors (actual - forecast) from the recent past ones, or None
    if there are too few."""
    recent = sorted(errors[-window:])
    if len(recent) < MIN_ERRORS:
        return None
    return quantile(recent, LOW_Q, is_sorted=True), quantile(recent, HIGH_Q, is_sorted=True)


def hk_scale(history: Sequence[float]) -> float:
    """Hyndman and Koehler's scale: the in-sample mean absolute one-week-naive error."""
    diffs = [abs(history[i] - history[i - SEASON]) for i in range(SEASON, len(history))]
    return _mean(diffs)


@dataclass
class Score:
    """Errors of one method over a set of (series, origin, horizon) points."""

    abs_err: float = 0.0
    base_abs_err: float = 0.0
    points: int = 0
    scaled: float = 0.0
    scaled_points: int = 0
    covered: int = 0
    ranged: int = 0
    first_abs_err: float = 0.0  # horizon 1 ("tomorrow")
    first_base_abs_err: float = 0.0

    def add(self, other: Score) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def mae(self) -> float | None:
        return self.abs_err / self.points if self.points else None

    @property
    def baseline_mae(self) -> float | None:
        return self.base_abs_err / self.points if self.points else None

    @property
    def mase(self) -> float | None:
        """Against the seasonal-naive forecast on the same points: below 1 beats it."""
        return self.abs_err / self.base_abs_err if self.base_abs_err else None

    @property
    def mase_tomorrow(self) -> float | None:
        return self.first_abs_err / self.first_base_abs_err if self.first_base_abs_err else None

    @property
    def hk_mase(self) -> float | None:
        return self.scaled / self.scaled_points if self.scaled_points else None

    @property
    def coverage(self) -> float | None:
        return self.covered / self.ranged if self.ranged else None


@dataclass
class Backtest:
    """One series forecast from every origin by one method, with the baseline alongside."""

    series: list[float]
    at: list[int]
    forecasts: list[list[float]]
    baseline: list[list[float]]
    horizon: int = HORIZON

    def __post_init__(self):
        # every error by the day it is about, so "known at t" is a prefix (``_known``)
        pairs = sorted(
            (o + h, self.series[o + h] - yhat)
            for o, f in zip(self.at, self.forecasts)
            for h, yhat in enumerate(f, start=1)
        )
        self._days = [d for d, _ in pairs]
        self._errors = [e for _, e in pairs]
        weeks = sorted(
            (o + self.horizon, sum(self.series[o + 1 : o + 1 + self.horizon]) - sum(f))
            for o, f in zip(self.at, self.forecasts)
        )
        self._week_days = [d for d, _ in weeks]
        self._week_errors = [e for _, e in weeks]
        # Hyndman and Koehler's scale at each origin: a running mean of one-week-naive errors
        total, self._scales = 0.0, []
        for i, y in enumerate(self.series):
            if i >= SEASON:
                total += abs(y - self.series[i - SEASON])
            self._scales.append(total / (i + 1 - SEASON) if i >= SEASON else 0.0)

    def errors_known_at(self, t: int) -> list[float]:
        """Errors (actual - forecast) of the days already seen at origin ``t``, oldest first."""
        return self._errors[: bisect_right(self._days, t)]

    def week_errors_known_at(self, t: int) -> list[float]:
        """Errors of the whole-horizon totals (a week's arrivals) already known at ``t``."""
        return self._week_errors[: bisect_right(self._week_days, t)]

    def score(self, which: Sequence[int], ranges: bool = True) -> Score:
        """Score over the origins at positions ``which`` of ``at`` (``ranges``: check the 80 %
        ranges too, the costly part)."""
        s = Score()
        for i in which:
            t, f, b = self.at[i], self.forecasts[i], self.baseline[i]
            scale = self._scales[t]
            rng = error_range(self.errors_known_at(t)) if ranges else None
            for h in range(1, self.horizon + 1):
                y = self.series[t + h]
                e, be = abs(y - f[h - 1]), abs(y - b[h - 1])
                s.abs_err += e
                s.base_abs_err += be
                s.points += 1
                if h == 1:
                    s.first_abs_err += e
                    s.first_base_abs_err += be
                if scale:
                    s.scaled += e / scale
                    s.scaled_points += 1
                if rng is not None:
                    low, high = max(0.0, f[h - 1] + rng[0]), max(0.0, f[h - 1] + rng[1])
                    s.ranged += 1
                    s.covered += low <= y <= high
        return s


def backtest(
    series: Sequence[float], method: Forecaster, horizon: int = HORIZON, baseline: list[list[float]] | None = None
) -> Backtest:
    """``method`` forecast from every origin of ``series``; ``baseline``: the seasonal-naive
    forecasts from the same origins if already computed."""
    y = [float(v) for v in series]
    at = origins(len(y), horizon)
    if baseline is None:
        baseline = rolling(y, seasonal_naive, at, horizon)
    return Backtest(y, at, rolling(y, method, at, horizon), baseline, horizon)


def summed(parts: Sequence[Backtest]) -> Backtest:
    """The backtest of a total (e.g. all arrivals at a level) as the sum of its parts' forecasts."""
    first = parts[0]
    add = lambda rows: [[sum(col) for col in zip(*cells)] for cells in zip(*rows)]  # noqa: E731
    return Backtest(
        [sum(col) for col in zip(*(p.series for p in parts))],
        first.at,
        add([p.forecasts for p in parts]),
        add([p.baseline for p in parts]),
        first.horizon,
    )


def split(n_origins: int) -> tuple[list[int], list[int]]:
    """Positions of the origins used to choose (earlier half) and to report (later half)."""
    cut = n_origins // 2
    return list(range(cut)), list(range(cut, n_origins))


@dataclass
class Evaluation:
    chosen: str
    scores: dict[str, tuple[Score, Score]] = field(default_factory=dict)  # name -> (choose half, report half)
    backtests: dict[str, dict[str, Backtest]] = field(default_factory=dict)  # name -> series key -> backtest

    @property
    def report(self) -> Score:
        return self.scores[self.chosen][1]

    @property
    def baseline(self) -> Score:
        return self.scores[BASELINE][1]


def evaluate(series: dict[str, Sequence[float]], methods: dict[str, Forecaster] | None = None) -> Evaluation | None:
    """Backtest every method on every series; the lowest pooled error on the earlier half of the
    origins wins (ties: the first listed, so the baseline wins a tie). None when the series are
    too short for two origins."""
    methods = methods or candidates()
    n = len(next(iter(series.values()), []))
    at = origins(n)
    if len(at) < 2:
        return None
    choose, judge = split(len(at))
    ev = Evaluation(chosen=BASELINE)
    base = {key: rolling([float(v) for v in ys], seasonal_naive, at) for key, ys in series.items()}
    first: dict[str, Score] = {}
    for name, method in methods.items():
        ev.backtests[name] = {key: backtest(ys, method, baseline=base[key]) for key, ys in series.items()}
        first[name] = Score()
        for bt in ev.backtests[name].values():
            first[name].add(bt.score(choose, ranges=False))
    ev.chosen = min(first, key=lambda k: (first[k].abs_err, list(methods).index(k)))
    for name in methods:
        # ranges (the costly part) only for the served method and the baseline
        second = Score()
        for bt in ev.backtests[name].values():
            second.add(bt.score(judge, ranges=name in (ev.chosen, BASELINE)))
        ev.scores[name] = (first[name], second)
    return ev


@dataclass
class Ahead:
    """A forecast for the days after the history: point and 80 % range per day, and for the
    total of the first ``HORIZON`` days (a week's range is not the sum of the days' ranges:
    it comes from the past errors of week totals)."""

    point: list[float]
    low: list[float | None]
    high: list[float | None]
    week: float
    week_low: float | None
    week_high: float | None


def ahead(bt: Backtest, point: Sequence[float]) -> Ahead:
    """Ranges around ``point`` (the days after ``bt``'s series) from every error of ``bt``,
    the served method's backtest on this series."""
    end = len(bt.series) - 1
    day = error_range(bt.errors_known_at(end))
    week = error_range(bt.week_errors_known_at(end), WEEK_ERROR_WINDOW)
    total = sum(point[:HORIZON])
    return Ahead(
        point=list(point),
        low=[None if day is None else max(0.0, p + day[0]) for p in point],
        high=[None if day is None else max(0.0, p + day[1]) for p in point],
        week=total,
        week_low=None if week is None else max(0.0, total + week[0]),
        week_high=None if week is None else max(0.0, total + week[1]),
    )

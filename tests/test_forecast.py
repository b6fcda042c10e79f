"""The forecasting arithmetic (``escalations.domain.forecast``), without the database:
series whose right answers are known, and the rolling-origin MASE computed by hand."""

import math
import random

import pytest

from escalations.domain import forecast as fc

WEEK = [10, 12, 11, 9, 8, 2, 1]  # a desk's weekday shape, Monday first


def weeks(n: int, scale: float = 1.0) -> list[float]:
    return [v * scale for _ in range(n) for v in WEEK]


def test_seasonal_naive_is_the_same_weekday_last_week():
    history = list(range(1, 22))  # 21 days: the last week is 15..21
    assert fc.seasonal_naive(history, 7) == [15, 16, 17, 18, 19, 20, 21]
    assert fc.seasonal_naive(history, 9)[7:] == [15, 16]  # further than a week wraps again


@pytest.mark.parametrize(
    "method",
    [fc.weekday_profile(1, 4), fc.weekday_profile(4, 12), fc.holt_winters(0.2, 0.1), fc.seasonal_naive],
    ids=lambda m: m.__name__,
)
def test_a_repeating_week_is_forecast_exactly(method):
    history = weeks(5)[:-3]  # ends on a Thursday: the forecast must start on Friday
    assert method(history, 7) == pytest.approx([8, 2, 1, 10, 12, 11, 9])


def test_the_profile_follows_a_new_level_with_the_old_shape():
    """Four weeks at the usual volume, then one at double: the 1-week level doubles the shape."""
    history = weeks(4) + weeks(1, 2.0)
    assert fc.weekday_profile(1, 4)(history, 7) == pytest.approx([2 * v for v in WEEK])


def test_the_rolling_origin_mase_by_hand():
    """Weeks alternate between 10 and 20 a day: the seasonal-naive forecast is always 10 off;
    a flat 15 is always 5 off. So MASE = 5 / 10 = 0.5 exactly, and H&K's scale (the in-sample
    one-week-naive error) is 10 too."""

    def flat(history, horizon):
        return [15.0] * horizon

    flat.__name__ = "flat"
    series = [10.0 if (d // 7) % 2 == 0 else 20.0 for d in range(35)]
    ev = fc.evaluate({"s": series}, {fc.BASELINE: fc.seasonal_naive, "flat": flat})
    assert fc.origins(35) == list(range(13, 28))  # first origin: day 14; last: 7 days before the end
    assert fc.split(15) == (list(range(7)), list(range(7, 15)))
    assert ev.chosen == "flat"
    served, base = ev.report, ev.baseline
    assert served.points == base.points == 8 * 7
    assert served.mae == pytest.approx(5.0) and base.mae == pytest.approx(10.0)
    assert served.baseline_mae == pytest.approx(10.0)
    assert served.mase == pytest.approx(0.5) and base.mase == pytest.approx(1.0)
    assert served.mase_tomorrow == pytest.approx(0.5)
    assert served.hk_mase == pytest.approx(0.5) and base.hk_mase == pytest.approx(1.0)


def test_mase_against_an_independent_computation():
    """The pooled MASE over two noisy series equals a plain loop over every origin and day."""
    rng = random.Random(7)
    series = {k: [max(0, round(v * s + rng.gauss(0, 2))) for v in weeks(8)] for k, s in (("a", 1.0), ("b", 0.5))}
    method = fc.weekday_profile(2, 8)
    ev = fc.evaluate(series, {fc.BASELINE: fc.seasonal_naive, "profile": method})
    at = fc.origins(56)
    judge = at[len(at) // 2 :]
    num = den = 0.0
    for ys in series.values():
        for t in judge:
            f, b = method(ys[: t + 1], 7), ys[t - 6 : t + 1]
            for h in range(1, 8):
                num += abs(ys[t + h] - f[h - 1])
                den += abs(ys[t + h] - b[h - 1])
    assert ev.scores["profile"][1].mase == pytest.approx(num / den)


def test_ranges_use_only_errors_already_known_at_the_origin():
    bt = fc.backtest(weeks(6), fc.weekday_profile(1, 4))
    for t in (bt.at[0], bt.at[3], bt.at[-1]):
        expected = sum(min(7, t - o) for o in bt.at if o < t)
        assert len(bt.errors_known_at(t)) == expected
    assert fc.quantile([0, 10], 0.1) == pytest.approx(1.0)
    assert fc.error_range([1.0] * (fc.MIN_ERRORS - 1)) is None


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def test_on_noisy_weekly_counts_the_chosen_method_beats_the_baseline_and_its_range_holds():
    """Poisson counts around a weekly shape whose level drifts: averaging over weeks must beat
    trusting one week, and about 80 % of later days must fall inside the 80 % range."""
    rng = random.Random(2013)
    series = {
        name: [poisson(rng, lam * WEEK[d % 7] / 7.6 * (1 + 0.2 * math.sin(d / 40))) for d in range(240)]
        for name, lam in (("L1:new", 40), ("L2:esc", 6), ("L3:esc", 1.5))
    }
    ev = fc.evaluate(series)
    assert ev.chosen != fc.BASELINE
    assert ev.report.mase < 0.9
    assert ev.baseline.mase == pytest.approx(1.0)
    assert 0.7 <= ev.report.coverage <= 0.9


def test_too_short_a_history_is_not_evaluated():
    assert fc.evaluate({"s": weeks(3)}) is None  # 21 days: no origin with a full week after it


def test_a_total_is_the_sum_of_its_parts():
    a = fc.backtest(weeks(5), fc.weekday_profile(1, 4))
    b = fc.backtest(weeks(5, 2.0), fc.weekday_profile(1, 4))
    total = fc.summed([a, b])
    assert total.series == [x + y for x, y in zip(a.series, b.series)]
    assert total.forecasts[0] == pytest.approx([x + y for x, y in zip(a.forecasts[0], b.forecasts[0])])
    ahead = fc.ahead(total, [1.0] * 7)
    assert ahead.week == 7.0 and ahead.low == [1.0] * 7  # exact history: no error, no spread

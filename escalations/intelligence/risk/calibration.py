"""Calibration: a risk of 0.3 should mean three cases in ten breach.

Two maps, both fitted on a slice of the training period LATER than the one the model was
fitted on (the newest cases whose outcome had time to be known look most like the ones it
will score): Platt scaling, ``sigmoid(a * logit(p) + b)`` (two numbers, rigid), and isotonic
regression (a non-decreasing step curve through the slice, interpolated linearly; flexible,
needs more cases). ``fit`` chooses between them on the slice itself: each is fitted on its
older half and scored (Brier) on its newer half, and the better one is refitted on the whole
slice. Both are monotonic, so the ranking is kept (isotonic may tie neighbours); only the
numbers a manager reads move. Pure Python at scoring time; fitting uses scikit-learn like the
rest of training."""

from __future__ import annotations

import bisect
import math

EPS = 1e-6
BINS = 10


def logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def fit_platt(p: list[float], y: list[int]) -> dict:
    """``{"a", "b"}`` from raw probabilities and outcomes; the identity when the slice holds
    one outcome only (nothing to learn from)."""
    if len(set(y)) < 2:
        return {"a": 1.0, "b": 0.0}
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit([[logit(v)] for v in p], y)
    return {"a": float(lr.coef_[0][0]), "b": float(lr.intercept_[0])}


def fit_isotonic(p: list[float], y: list[int]) -> dict:
    """``{"method": "isotonic", "x", "y"}``: the fitted curve's knots (raw -> calibrated)."""
    if len(set(y)) < 2:
        return {"a": 1.0, "b": 0.0}
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
    return {
        "method": "isotonic",
        "x": [float(v) for v in iso.X_thresholds_],
        "y": [float(v) for v in iso.y_thresholds_],
    }


def brier(y: list[int], p: list[float]) -> float:
    return sum((pi - yi) ** 2 for pi, yi in zip(p, y)) / len(y) if y else 0.0


def fit(p: list[float], y: list[int], method: str = "auto") -> dict:
    """The calibration map for raw probabilities ``p`` (in time order) and outcomes ``y``:
    ``platt``, ``isotonic``, or ``auto``: the one with the lower Brier score on the newer
    half of the slice when fitted on its older half, refitted on the whole slice."""
    fitters = {"platt": fit_platt, "isotonic": fit_isotonic}
    if method == "auto":
        half = len(p) // 2
        scores = {}
        for name, fitter in fitters.items():
            m = fitter(p[:half], y[:half])
            scores[name] = brier(y[half:], [apply(m, v) for v in p[half:]])
        method = min(scores, key=lambda k: (scores[k], k != "platt"))  # a tie: the simpler
    out = fitters[method](p, y)
    out.setdefault("method", "platt")
    return out


def apply(calibration: dict | None, p: float) -> float:
    if not calibration:
        return p
    if calibration.get("method") == "isotonic":
        xs, ys = calibration["x"], calibration["y"]
        if p <= xs[0]:
            return ys[0]
        if p >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, p)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    return sigmoid(calibration["a"] * logit(p) + calibration["b"])


def ece(y: list[int], p: list[float], bins: int = BINS) -> float | None:
    """Expected calibration error: over ten equal-width bins, the gap between the mean
    predicted risk and the observed rate, weighted by the bin's share of cases."""
    n = len(y)
    if not n:
        return None
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i in range(n) if lo <= p[i] < hi or (b == bins - 1 and p[i] >= 1.0)]
        if idx:
            gap = abs(sum(p[i] for i in idx) / len(idx) - sum(y[i] for i in idx) / len(idx))
            total += gap * len(idx) / n
    return round(total, 4)


def shift_to_prior(calibration: dict, p: list[float], prior: float) -> dict:
    """Prior-shift correction: move the intercept ``b`` so that the mean calibrated risk over
    ``p`` equals ``prior`` (bisection on the shift; the slope and the ranking stay). Used
    because the censored labels of the newest training slice (a case still open at the cut
    counts as a breach once its deadline passed, one not yet due is left out) overstate the
    positive rate; ``prior`` is the rate among the cases whose outcome was fully known."""
    if not p or not 0 < prior < 1:
        return calibration
    a, b = calibration.get("a", 1.0), calibration.get("b", 0.0)
    z = [a * logit(v) + b for v in p]
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(sigmoid(v + mid) for v in z) / len(z) < prior:
            lo = mid
        else:
            hi = mid
    return {**calibration, "a": a, "b": b + (lo + hi) / 2, "prior": round(prior, 4)}

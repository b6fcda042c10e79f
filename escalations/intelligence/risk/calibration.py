"""Calibration: a risk of 0.3 should mean three cases in ten breach.

Platt scaling maps a model's log-odds ``z`` to ``sigmoid(a * z + b)``, with ``a`` and ``b``
fitted on a slice of the training period LATER than the one the model was fitted on (the
newest cases look most like the ones it will score). It is monotonic, so the ranking (and
the AUC) is unchanged; only the numbers a manager reads move. Pure Python at scoring time;
fitting uses scikit-learn like the rest of training."""

from __future__ import annotations

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


def apply(calibration: dict | None, p: float) -> float:
    if not calibration:
        return p
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
    return {"a": a, "b": b + (lo + hi) / 2, "prior": round(prior, 4)}

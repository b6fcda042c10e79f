"""Training and honest evaluation of the risk models.

The hold-out is time-ordered: closed cases sorted by opening time, the last 20 % are the
test set, and a training case must also have been CLOSED by the time the first test case
was opened (its label was known then); later-closing ones are dropped from training.

The stored model is refitted on every closed case once evaluated (so it learns from
the most recent months too); its ``metrics``, ``n_train`` and ``n_test`` describe the
hold-out evaluation of the same recipe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.intelligence.risk.features import (
    TARGETS,
    Row,
    closed_cases,
    load_rows,
    make_spec,
    matrix,
    past_rates,
    rate_tables,
)
from escalations.models import RiskModel

TEST_FRACTION = 0.2
MIN_ROWS = 20
RELIABILITY_BINS = 5
C = 0.1  # inverse regularization strength; 1.0 overfitted rare categories on the BPIC log
CLIP = 3.0  # standardized values are clipped to +-CLIP, in fitting and in scoring


class NotTrainable(Exception):
    """Too few closed cases, or only one outcome among them."""


@dataclass
class Split:
    train: list[Row]
    test: list[Row]
    cutoff: datetime  # the first test case's opening
    dropped: int  # training-period cases still open at the cutoff


def time_split(rows: list[Row], test_fraction: float = TEST_FRACTION) -> Split:
    """Train on the first 80 % by opening time, closed by the cutoff; test on the last 20 %."""
    ordered = sorted(rows, key=lambda r: (r.opened_at, r.id))
    n_test = max(1, int(round(len(ordered) * test_fraction)))
    head, test = ordered[:-n_test], ordered[-n_test:]
    cutoff = test[0].opened_at
    train = [r for r in head if r.closed_at is not None and r.closed_at <= cutoff]
    return Split(train=train, test=test, cutoff=cutoff, dropped=len(head) - len(train))


def scaled(scaler, X):
    """Standardized and clipped: a column that is rare in training (a small category) would
    otherwise give a case a standardized value of 10 or more and a near-certain prediction."""
    import numpy as np

    return np.clip(scaler.transform(X), -CLIP, CLIP)


def fit(X: list[list[float]], y: list[int], names: list[str]):
    """StandardScaler + LogisticRegression (L2, C=0.1: many one-hot columns, few positives in
    some); returns the fitted pair and their JSON parameters."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(set(y)) < 2:
        raise NotTrainable("every training case has the same outcome")
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression(C=C, max_iter=5000).fit(scaled(scaler, X), y)
    params = {
        "names": list(names),
        "coefficients": [float(c) for c in clf.coef_[0]],
        "intercept": float(clf.intercept_[0]),
        "means": [float(m) for m in scaler.mean_],
        "scales": [float(s) for s in scaler.scale_],
        "clip": CLIP,
    }
    return (scaler, clf), params


def evaluate(y: list[int], p: list[float]) -> dict:
    """ROC AUC, precision in the top 10 % by probability, Brier score, a reliability table."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    n = len(y)
    order = sorted(range(n), key=lambda i: -p[i])
    top = order[: max(1, math.ceil(n * 0.1))]
    bins = []
    for b in range(RELIABILITY_BINS):
        lo, hi = b / RELIABILITY_BINS, (b + 1) / RELIABILITY_BINS
        idx = [i for i in range(n) if lo <= p[i] < hi or (b == RELIABILITY_BINS - 1 and p[i] == 1.0)]
        bins.append(
            {
                "bin": f"{lo:.1f}-{hi:.1f}",
                "n": len(idx),
                "mean_predicted": round(sum(p[i] for i in idx) / len(idx), 4) if idx else None,
                "observed_rate": round(sum(y[i] for i in idx) / len(idx), 4) if idx else None,
            }
        )
    return {
        "auc": round(float(roc_auc_score(y, p)), 4) if len(set(y)) == 2 else None,
        "precision_at_10": round(sum(y[i] for i in top) / len(top), 4),
        "brier": round(float(brier_score_loss(y, p)), 4) if n else None,
        "base_rate": round(sum(y) / n, 4),
        "mean_predicted": round(sum(p) / n, 4),
        "reliability": bins,
    }


@dataclass
class TrainResult:
    target: str
    source: str
    metrics: dict
    n_train: int
    n_test: int
    split: Split
    model: RiskModel | None = None
    params: dict = field(default_factory=dict)  # of the stored (refitted) model
    estimator: tuple | None = None  # (scaler, classifier) of the stored model, for checks
    X_all: list = field(default_factory=list)


def train(target: str = "breach", source: str = "all", save: bool = True, rows: list[Row] | None = None) -> TrainResult:
    """Evaluate on a time-ordered hold-out, refit on every closed case, store as the active
    model for ``target`` (unless ``save`` is False)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}")
    rows = load_rows(closed_cases(source)) if rows is None else rows
    if len(rows) < MIN_ROWS:
        raise NotTrainable(f"only {len(rows)} closed cases (need {MIN_ROWS})")
    past_rates(rows, rows, target)  # each row sees only cases closed before it opened

    split = time_split(rows)
    spec = make_spec(split.train)
    (scaler, clf), params = fit(matrix(split.train, spec), [int(r.label(target)) for r in split.train], spec["names"])
    p = [float(v) for v in clf.predict_proba(scaled(scaler, matrix(split.test, spec)))[:, 1]]
    metrics = evaluate([int(r.label(target)) for r in split.test], p)
    metrics.update(
        cutoff=split.cutoff.isoformat(),
        dropped_from_train=split.dropped,
        train_positive_rate=round(sum(r.label(target) for r in split.train) / len(split.train), 4),
    )

    spec_all = make_spec(rows)
    X_all = matrix(rows, spec_all)
    estimator, params = fit(X_all, [int(r.label(target)) for r in rows], spec_all["names"])
    params.update(categories=spec_all["categories"], rates=rate_tables(rows, target), source=source, fit_rows=len(rows))
    result = TrainResult(
        target=target,
        source=source,
        metrics=metrics,
        n_train=len(split.train),
        n_test=len(split.test),
        split=split,
        params=params,
        estimator=estimator,
        X_all=X_all,
    )
    if save:
        with transaction.atomic():
            RiskModel.objects.filter(target=target, is_active=True).update(is_active=False)
            result.model = RiskModel.objects.create(
                target=target,
                trained_at=timezone.now(),
                is_active=True,
                features=params["names"],
                parameters=params,
                metrics=metrics,
                n_train=result.n_train,
                n_test=result.n_test,
            )
    return result


def retrain(source: str = "all") -> dict:
    """Both targets, then score the open cases (the scheduled task). A target that cannot be
    trained keeps its previous model."""
    # Imported here: predict reads the models this module trains (kept one-way at load time).
    from escalations.intelligence.risk.predict import score_open_cases

    out = {}
    rows = load_rows(closed_cases(source))
    for target in TARGETS:
        try:
            r = train(target, source, rows=rows)
            out[target] = {"auc": r.metrics["auc"], "n_train": r.n_train, "n_test": r.n_test}
        except NotTrainable as exc:
            out[target] = {"skipped": str(exc)}
    out["scored"] = score_open_cases()
    return out

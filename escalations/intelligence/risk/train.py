"""Training and honest evaluation of the risk models.

The hold-out is time-ordered: closed cases sorted by opening time, the last 20 % are the
test set; training uses the cases opened before the first test case, each with its label
AS KNOWN AT THAT CUT (censoring, ``Row.label_at``): closed by then, its final label; still
open, a breach if its deadline had already passed (escalated if it had already moved up),
and left out otherwise. So slow cases are trained on too, not only the quickly closed ones.

Two models are fitted on the older part of the training period: the explainable logistic
regression and the off-the-shelf baseline (``boosted``: HistGradientBoosting). The one with
the better hold-out AUC serves; its probabilities are calibrated (Platt or isotonic, chosen
on the slice, ``calibration.fit``) on the newest 20 % of the training cases opened at least
the maturity gap before the cut (``older_newer``): the newest cases' outcomes were not known
yet at the cut except for the quickly resolved ones, so a slice of them says "no breach"
far too often. The stored model repeats the recipe on every case as known now.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from escalations.intelligence.risk import boosted, calibration, text_columns
from escalations.intelligence.risk.features import (
    TARGETS,
    Row,
    desk_at_opening,
    load_rows,
    make_spec,
    matrix,
    past_rates,
    rate_tables,
    training_cases,
)
from escalations.models import RiskModel

TEST_FRACTION = 0.2
CALIBRATION_FRACTION = 0.2  # the newest (mature) part of the training period calibrates
MATURITY_QUANTILE = 0.9  # the maturity gap: this quantile of the resolution targets
CALIBRATION_METHOD = os.environ.get("RISK_CALIBRATION", "auto")  # auto, platt or isotonic (to compare)
MIN_CALIBRATION = 50  # fewer training cases: no calibration slice (identity)
MIN_ROWS = 20
RELIABILITY_BINS = 5
C = 0.1  # inverse regularization strength; 1.0 overfitted rare categories on the BPIC log
PRIOR_SHIFT = os.environ.get("RISK_PRIOR_SHIFT", "0") == "1"  # on: the earlier prior-shift correction (to compare)
CLIP = 3.0  # standardized values are clipped to +-CLIP, in fitting and in scoring


class NotTrainable(Exception):
    """Too few closed cases, or only one outcome among them."""


@dataclass
class Split:
    train: list[Row]
    test: list[Row]
    cutoff: datetime  # the first test case's opening
    dropped: int  # training-period cases whose outcome was not known at the cutoff
    labels: list[int] = field(default_factory=list)  # of ``train``, as known at the cutoff
    censored: int = 0  # training cases still open at the cutoff, kept with their label then
    test_labels: list[int] = field(default_factory=list)  # of ``test``, as known at the end


def time_split(
    rows: list[Row], target: str = "breach", test_fraction: float = TEST_FRACTION, end: datetime | None = None
) -> Split:
    """The cut is where the last 20 % of the closed cases by opening time begins. Test on
    every case opened from the cut whose outcome is known at ``end`` (now), censored the
    same way as training, so slow cases are in the test as they are in training; train on
    the cases opened before the cut, labelled as known then (``Row.label_at``)."""
    end = end or timezone.now()
    closed = sorted((r for r in rows if r.closed_at is not None), key=lambda r: (r.opened_at, r.id))
    n_test = max(1, int(round(len(closed) * test_fraction)))
    cutoff = closed[-n_test].opened_at
    test, test_labels = [], []
    for r in sorted(rows, key=lambda r: (r.opened_at, r.id)):
        known = r.label_at(target, end) if r.opened_at >= cutoff else None
        if known is not None:
            test.append(r)
            test_labels.append(int(known))
    head = [r for r in sorted(rows, key=lambda r: (r.opened_at, r.id)) if r.opened_at < cutoff]
    train, labels, censored = [], [], 0
    for r in head:
        known = r.label_at(target, cutoff)
        if known is None:
            continue
        train.append(r)
        labels.append(int(known))
        censored += r.done_at() is None or r.done_at() > cutoff
    return Split(train, test, cutoff, len(head) - len(train), labels, censored, test_labels)


def maturity_gap(rows: list[Row]) -> timedelta:
    """How long outcomes take to be known: the 90th percentile of the rows' resolution
    targets (deadline minus opening); zero when they have no deadlines."""
    spans = sorted(r.due_at - r.opened_at for r in rows if r.due_at is not None and r.due_at > r.opened_at)
    return spans[min(len(spans) - 1, int(len(spans) * MATURITY_QUANTILE))] if spans else timedelta(0)


def older_newer(rows: list[Row], labels: list[int], cut: datetime | None = None) -> tuple[list, list, list, list]:
    """The training period (rows in opening order, labelled as known at ``cut``) split by
    opening: the newest 20 % of the cases opened at least the maturity gap before ``cut``
    calibrate, the older ones fit. The cases opened within the gap are in neither: at the cut
    only the quickly resolved ones among them had a known outcome. No calibration slice when
    too few cases to spare; no gap when it would leave too few."""
    if len(rows) < MIN_CALIBRATION:
        return rows, labels, [], []
    n = len(rows)
    if cut is not None:
        edge = cut - maturity_gap(rows)
        mature = sum(1 for r in rows if r.opened_at < edge)
        n = mature if mature >= MIN_CALIBRATION else n
    n_cal = int(n * CALIBRATION_FRACTION)
    start = n - n_cal
    return rows[:start], labels[:start], rows[start:n], labels[start:n]


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
class Fitted:
    """Both models fitted on one training period, the served one chosen, calibrated."""

    spec: dict
    logistic: tuple
    params: dict
    boost: object
    served: str = "logistic"
    calibration: dict = field(default_factory=dict)

    def raw(self, X: list[list[float]], served: str | None = None) -> list[float]:
        if (served or self.served) == "boosted":
            return [float(v) for v in self.boost.predict_proba(X)[:, 1]]
        scaler, clf = self.logistic
        return [float(v) for v in clf.predict_proba(scaled(scaler, X))[:, 1]]

    def proba(self, X: list[list[float]]) -> list[float]:
        return [calibration.apply(self.calibration, p) for p in self.raw(X)]


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
    estimator: tuple | None = None  # (scaler, classifier) of the stored logistic model, for checks
    X_all: list = field(default_factory=list)
    fitted: Fitted | None = None  # the stored recipe's fitted models, for checks


def fit_both(
    rows: list[Row],
    labels: list[int],
    test: tuple | None = None,
    served: str = "logistic",
    prior: float | None = None,
    cut: datetime | None = None,
) -> tuple[Fitted, dict]:
    """Fit both models on the older part of ``rows`` (labelled as known at ``cut``); with
    ``test`` (rows, labels) choose the served one by hold-out AUC (else keep ``served`` chosen
    before); calibrate on the newer, mature part."""
    fit_rows, fit_y, cal_rows, cal_y = older_newer(rows, labels, cut)
    spec = make_spec(rows)
    X = matrix(fit_rows, spec)
    logistic, params = fit(X, fit_y, spec["names"])
    fitted = Fitted(spec, logistic, params, boosted.fit(X, fit_y), served)
    figures = {}
    if test is not None:
        X_test, y_test = matrix(test[0], spec), test[1]
        lr_p, boost_p = fitted.raw(X_test, "logistic"), fitted.raw(X_test, "boosted")
        lr_m, boost_m = evaluate(y_test, lr_p), evaluate(y_test, boost_p)
        fitted.served = "boosted" if (boost_m["auc"] or 0) > (lr_m["auc"] or 0) else "logistic"
        figures = {
            "logistic_auc": lr_m["auc"],
            "baseline_auc": boost_m["auc"],
            "baseline_brier": boost_m["brier"],
            "ece_uncalibrated": calibration.ece(y_test, boost_p if fitted.served == "boosted" else lr_p),
        }
    if cal_rows:
        raw = fitted.raw(matrix(cal_rows, spec))
        fitted.calibration = calibration.fit(raw, cal_y, CALIBRATION_METHOD)
        fitted.calibration["n"] = len(cal_y)
        if prior is not None and PRIOR_SHIFT and fitted.calibration["method"] == "platt":
            fitted.calibration = calibration.shift_to_prior(fitted.calibration, raw, prior)
    return fitted, figures


def known_rate(rows: list[Row], labels: list[int], cut: datetime) -> float | None:
    """The positive rate among the cases resolved by ``cut`` (outcome fully known, not censored)."""
    done = [y for r, y in zip(rows, labels) if r.done_at() is not None and r.done_at() <= cut]
    return sum(done) / len(done) if len(done) >= MIN_CALIBRATION else None


def train(target: str = "breach", source: str = "all", save: bool = True, rows: list[Row] | None = None) -> TrainResult:
    """Evaluate on a time-ordered hold-out, refit on every case as known now, store as the
    active model for ``target`` (unless ``save`` is False)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}")
    rows = load_rows(training_cases(source)) if rows is None else rows
    closed = [r for r in rows if r.closed_at is not None]
    if len(closed) < MIN_ROWS:
        raise NotTrainable(f"only {len(closed)} closed cases (need {MIN_ROWS})")
    past_rates(rows, rows, target)  # each row sees only cases closed before it opened
    if not any(r.load for r in rows):
        desk_at_opening(rows, rows)  # and the desk only as it stood when it opened

    split = time_split(rows, target)
    if len(set(split.labels)) < 2:
        raise NotTrainable("every training case has the same outcome")
    y_test = split.test_labels
    # Only censored labels are biased (and only with RISK_PRIOR_SHIFT=1 is this used).
    prior = known_rate(split.train, split.labels, split.cutoff) if split.censored else None
    text_columns.attach(split.train, split.test, split.cutoff)  # out of fold for training
    fitted, figures = fit_both(split.train, split.labels, (split.test, y_test), prior=prior, cut=split.cutoff)
    p = fitted.proba(matrix(split.test, fitted.spec))
    metrics = evaluate(y_test, p)
    metrics.update(
        figures,
        served=fitted.served,
        ece=calibration.ece(y_test, p),
        cutoff=split.cutoff.isoformat(),
        dropped_from_train=split.dropped,
        censored_in_train=split.censored,
        train_positive_rate=round(sum(split.labels) / len(split.labels), 4),
        calibration_prior=None if prior is None or not PRIOR_SHIFT else round(prior, 4),
        calibration_method=fitted.calibration.get("method"),
        calibration_cases=fitted.calibration.get("n", 0),
        text_columns=any(n.startswith("text:") for n in fitted.spec["names"]),
    )

    now = timezone.now()
    known = [(r, r.label_at(target, now)) for r in rows]
    known = [(r, y) for r, y in known if y is not None]
    final_rows, final_y = [r for r, _ in known], [int(y) for _, y in known]
    text = text_columns.attach(final_rows, [], now)
    final, _ = fit_both(
        final_rows,
        final_y,
        served=fitted.served,
        prior=known_rate(final_rows, final_y, now) if any(r.done_at() is None for r in final_rows) else None,
        cut=now,
    )
    params = dict(final.params)
    params.update(
        categories=final.spec["categories"],
        rates=rate_tables([r for r in rows if r.done_at() is not None], target),
        source=source,
        fit_rows=len(known),
        calibration=final.calibration,
        served=final.served,
    )
    if text is not None and "text:level" in final.spec["names"]:
        params["text"] = text
    if final.served == "boosted":
        params["boosted"] = boosted.export(final.boost)
    result = TrainResult(
        target=target,
        source=source,
        metrics=metrics,
        n_train=len(split.train),
        n_test=len(split.test),
        split=split,
        params=params,
        estimator=final.logistic,
        X_all=matrix([r for r, _ in known], final.spec),
        fitted=final,
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
    rows = load_rows(training_cases(source))
    for target in TARGETS:
        try:
            r = train(target, source, rows=rows)
            out[target] = {"auc": r.metrics["auc"], "n_train": r.n_train, "n_test": r.n_test}
        except NotTrainable as exc:
            out[target] = {"skipped": str(exc)}
    out["scored"] = score_open_cases()
    return out

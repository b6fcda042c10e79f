"""The strong off-the-shelf baseline: scikit-learn's HistGradientBoostingClassifier on the
same features and split as the logistic model, and, when it ranks better, the model that
serves. Its trees are exported to plain JSON (stored in ``RiskModel.parameters``, never a
pickle or a file) and walked in pure Python at scoring time, so prediction still needs no
scikit-learn."""

from __future__ import annotations

import math

PARAMS = dict(max_iter=100, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, l2_regularization=1.0)


def fit(X: list[list[float]], y: list[int], seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, early_stopping=False, **PARAMS).fit(X, y)


def export(clf) -> dict:
    """Each tree as parallel lists (feature, threshold, left, right, leaf, value); the raw
    score is the baseline plus every tree's leaf value (binary log-loss: one tree per round)."""
    trees = []
    for (predictor,) in clf._predictors:
        nodes = predictor.nodes
        trees.append(
            {
                "f": [int(v) for v in nodes["feature_idx"]],
                "t": [float(v) for v in nodes["num_threshold"]],
                "l": [int(v) for v in nodes["left"]],
                "r": [int(v) for v in nodes["right"]],
                "leaf": [bool(v) for v in nodes["is_leaf"]],
                "v": [float(v) for v in nodes["value"]],
            }
        )
    baseline = clf._baseline_prediction
    return {"baseline": float(baseline.ravel()[0]) if hasattr(baseline, "ravel") else float(baseline), "trees": trees}


def raw(model: dict, x: list[float]) -> float:
    z = model["baseline"]
    for t in model["trees"]:
        i = 0
        while not t["leaf"][i]:
            i = t["l"][i] if x[t["f"][i]] <= t["t"][i] else t["r"][i]
        z += t["v"][i]
    return z


def probability(model: dict, x: list[float]) -> float:
    z = raw(model, x)
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

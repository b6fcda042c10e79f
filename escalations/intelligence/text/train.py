"""Training and honest evaluation of the text model.

Rows: resolved (or closed) cases, their title and description, and three labels: the
category, the priority and the level the case was at when resolved. The hold-out is
time-ordered: by opening, the last 20 % are the test set; training uses the cases opened
AND resolved before the first test case opened (what the desk knew at the cut). Classes
with fewer than ``TEXT_MODEL_MIN_CASES`` training cases are left out of their head (the
minimum-data guard); their test cases count as misses. The baseline is the training
period's most common class, scored on the same test cases.

The imported logs have no free text: their descriptions are the log's other intake
fields in words. The field a head predicts is removed from the text first (BPIC's
product is its category, UCI's category column is ours), so nothing gives the answer away.

The fit is scikit-learn's ``SGDClassifier`` (logistic loss, one-vs-rest); only the buckets
seen in training are stored, and the evaluation scores the stored coefficients themselves.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalations.intelligence.text import features
from escalations.models import Case, CaseStatus, Level, TextModel

TEST_FRACTION = 0.2
ALPHA = 2e-5  # L2 strength of the SGD fit; 1e-5 and 1e-4 were worse on BPIC and the demo data
EPOCHS = 15
# Stored: only weights of at least this size, as [class, weight, class, weight, ...] per bucket.
# Keeping every weight made a 30-50 MB model that took seconds to load; the evaluation
# scores the pruned weights, so the figures are those of the model that serves.
PRUNE = 0.1
TARGETS = ("category", "priority", "level")
LABEL_FIELD = {"category": "category_id", "priority": "priority", "level": "level_id"}
# The part of an imported description that IS the category (see the importers).
LEAKS = {
    "bpic2013": re.compile(r"Product [^;]*;\s*"),
    "uci": re.compile(r"Category [^,]*,\s*"),
}


class NotTrainable(Exception):
    """Too few resolved cases, or fewer than two categories with enough of them."""


@dataclass
class Row:
    id: int
    text: str
    opened_at: datetime
    resolved_at: datetime
    labels: dict[str, int]


@dataclass
class Result:
    source: str
    metrics: dict
    params: dict
    n_train: int
    n_test: int
    model: TextModel | None = None
    heads: dict[str, dict] = field(default_factory=dict)


def training_cases(source: str = "all"):
    qs = Case.objects.filter(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED], resolved_at__isnull=False)
    if source == "live":
        return qs.filter(source="")
    if source != "all":
        return qs.filter(source=source)
    return qs


def text_of(title: str, description: str, source: str) -> str:
    leak = LEAKS.get(source)
    if leak is not None:
        description = leak.sub("", description or "")
    return features.case_text(title, description)


def load_rows(qs) -> list[Row]:
    fields = ("id", "title", "description", "source", "opened_at", "resolved_at", *LABEL_FIELD.values())
    rows = []
    for r in qs.order_by("opened_at", "id").values(*fields).iterator(chunk_size=5000):
        rows.append(
            Row(
                r["id"],
                text_of(r["title"], r["description"], r["source"]),
                r["opened_at"],
                r["resolved_at"],
                {t: r[f] for t, f in LABEL_FIELD.items()},
            )
        )
    return rows


def split(rows: list[Row], test_fraction: float = TEST_FRACTION) -> tuple[list[Row], list[Row], datetime, int]:
    """(train, test, cutoff, left out): test = the newest fifth by opening; train = opened
    and resolved before the cutoff."""
    rows = sorted(rows, key=lambda r: (r.opened_at, r.id))
    n_test = max(1, int(round(len(rows) * test_fraction)))
    cutoff = rows[-n_test].opened_at
    head = [r for r in rows if r.opened_at < cutoff]
    train = [r for r in head if r.resolved_at <= cutoff]
    return train, [r for r in rows if r.opened_at >= cutoff], cutoff, len(head) - len(train)


def eligible(labels: list[int], min_cases: int) -> list[int]:
    counts = Counter(label for label in labels if label is not None)
    return sorted(label for label, n in counts.items() if n >= min_cases)


def fit_head(X, labels: list[int], min_cases: int) -> dict | None:
    """The head's JSON parameters, or None when fewer than two classes pass the guard."""
    import numpy as np
    from sklearn.linear_model import SGDClassifier

    classes = eligible(labels, min_cases)
    if len(classes) < 2:
        return None
    keep = np.array([label in set(classes) for label in labels])
    y = np.array([label for label in labels if label in set(classes)])
    Xk = X[keep]
    clf = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=0)
    clf.fit(Xk, y)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # one score s for the second class: the first gets -s
        coef, intercept = np.vstack([-coef[0], coef[0]]), np.array([-intercept[0], intercept[0]])
    seen = np.unique(Xk.indices)
    kept = coef[:, seen]
    weights = {}
    for j in np.flatnonzero((np.abs(kept) >= PRUNE).any(axis=0)):
        ks = np.flatnonzero(np.abs(kept[:, j]) >= PRUNE)
        weights[int(seen[j])] = [v for k in ks for v in (int(k), float(f"{kept[k, j]:.4g}"))]
    return {
        "classes": [int(c) for c in clf.classes_],
        "intercepts": [float(b) for b in intercept],
        "weights": weights,
        "kind": "ovr",
        "format": "pairs",
        "support": {str(c): int(n) for c, n in Counter(y.tolist()).items()},
    }


def probabilities(X, head: dict):
    """The stored head's probabilities for the rows of X (NumPy; the same arithmetic as
    ``predict.Head.probabilities``, which ``tests/test_text_model.py`` checks)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for bucket, pairs in head["weights"].items():
        for i in range(0, len(pairs), 2):
            rows.append(int(bucket))
            cols.append(int(pairs[i]))
            vals.append(pairs[i + 1])
    Wfull = csr_matrix((vals, (rows, cols)), shape=(features.BUCKETS, len(head["classes"])))
    s = (X @ Wfull).toarray() + np.array(head["intercepts"])
    e = 1.0 / (1.0 + np.exp(-np.clip(s, -50, 50)))
    return e / e.sum(axis=1, keepdims=True)


def evaluate(X, labels: list[int], head: dict | None, majority: int | None) -> dict:
    from sklearn.metrics import f1_score

    n = len(labels)
    baseline = round(sum(1 for y in labels if y == majority) / n, 4) if n else None
    if head is None or not n:
        return {"top1": None, "top3": None, "macro_f1": None, "baseline_top1": baseline, "n_test": n}
    import numpy as np

    p = probabilities(X, head)
    classes = np.array(head["classes"])
    order = np.argsort(-p, axis=1)
    top1 = classes[order[:, 0]]
    top3 = classes[order[:, :3]]
    truth = np.array([-1 if y is None else y for y in labels])
    return {
        "top1": round(float((top1 == truth).mean()), 4),
        "top3": round(float((top3 == truth[:, None]).any(axis=1).mean()), 4),
        "macro_f1": round(float(f1_score(truth, top1, average="macro", zero_division=0)), 4),
        # The same over the classes the guard let in (rare classes' misses still count in top-1).
        "macro_f1_modelled": round(
            float(f1_score(truth, top1, labels=list(classes), average="macro", zero_division=0)), 4
        ),
        "baseline_top1": baseline,
        "n_test": n,
        "test_outside_model": int(sum(1 for y in labels if y not in set(head["classes"]))),
        "mean_confidence": round(float(p.max(axis=1).mean()), 4),
    }


ROUTE_THRESHOLDS = (0.6, 0.7, 0.8, 0.9)


def routing_estimate(X, labels: list[int], head: dict | None) -> dict:
    """On the test cases: how many a routing policy at each confidence threshold would have
    sent straight above the first level, and the share of them resolved at that level (the
    hold-out cannot say whether the level would have returned them)."""
    if head is None or not labels:
        return {}
    import numpy as np

    ranks = dict(Level.objects.values_list("pk", "rank"))
    first = min(ranks.values())
    p = probabilities(X, head)
    classes = np.array(head["classes"])
    pred, conf = classes[p.argmax(axis=1)], p.max(axis=1)
    up = np.array([ranks.get(int(c), first) > first for c in pred])
    truth = np.array([-1 if y is None else y for y in labels])
    out = {}
    for t in ROUTE_THRESHOLDS:
        mask = up & (conf >= t)
        n = int(mask.sum())
        right = int((pred[mask] == truth[mask]).sum())
        out[str(t)] = {"routed": n, "right": right, "rate": round(right / n, 4) if n else None}
    return out


def fit_all(rows: list[Row], min_cases: int) -> dict[str, dict | None]:
    X = features.matrix([r.text for r in rows])
    return {t: fit_head(X, [r.labels[t] for r in rows], min_cases) for t in TARGETS}


def train(source: str = "all", *, save: bool = True, min_cases: int | None = None, rows=None) -> Result:
    min_cases = settings.TEXT_MODEL_MIN_CASES if min_cases is None else min_cases
    rows = load_rows(training_cases(source)) if rows is None else rows
    if len(rows) < 10:
        raise NotTrainable(f"only {len(rows)} resolved cases")
    train_rows, test_rows, cutoff, left_out = split(rows)
    if not train_rows:
        raise NotTrainable("no case was resolved before the newest fifth opened")
    X_train = features.matrix([r.text for r in train_rows])
    X_test = features.matrix([r.text for r in test_rows])
    metrics: dict = {"cutoff": cutoff.isoformat(), "left_out_resolved_after_cut": left_out, "min_cases": min_cases}
    for target in TARGETS:
        y_train = [r.labels[target] for r in train_rows]
        head = fit_head(X_train, y_train, min_cases)
        counts = Counter(y for y in y_train if y is not None)
        majority = counts.most_common(1)[0][0] if counts else None
        metrics[target] = evaluate(X_test, [r.labels[target] for r in test_rows], head, majority)
        metrics[target]["classes"] = len(head["classes"]) if head else 0
        if target == "level":
            metrics["routing_estimate"] = routing_estimate(X_test, [r.labels[target] for r in test_rows], head)
        metrics[target]["classes_seen"] = len(counts)
    if metrics["category"]["top1"] is None:
        raise NotTrainable(
            f"fewer than two categories have {min_cases} resolved cases before the cut (TEXT_MODEL_MIN_CASES)"
        )
    result = Result(source, metrics, {}, len(train_rows), len(test_rows))
    if save:
        heads = fit_all(rows, min_cases)  # served: the same recipe on every resolved case
        result.params = {"heads": heads, "buckets": features.BUCKETS, "min_cases": min_cases}
        with transaction.atomic():
            TextModel.objects.filter(is_active=True).update(is_active=False)
            result.model = TextModel.objects.create(
                trained_at=timezone.now(),
                source=source,
                parameters=result.params,
                metrics=metrics,
                n_train=len(train_rows),
                n_test=len(test_rows),
            )
    return result


def retrain(source: str = "all") -> dict:
    """The scheduled task: train and store; too little data keeps the previous model."""
    try:
        r = train(source)
    except NotTrainable as exc:
        return {"skipped": str(exc)}
    return {"top1": r.metrics["category"]["top1"], "n_train": r.n_train, "n_test": r.n_test, "model": r.model.pk}

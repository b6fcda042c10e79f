"""Text columns for the risk model: the text classifier's reading of a case at intake.

Two columns, ``text:priority`` and ``text:level``: the expected priority and the expected
level rank under the classifier's priority and level heads (``intelligence.text``), from
the case's title and description. They are stacked honestly:

- a training case's values come OUT OF FOLD: the training period is cut into ``FOLDS``
  blocks by opening and each block is scored by heads fitted on the other blocks, so no
  value comes from a head that saw the case (in-sample values are overconfident: they made
  the calibration worse, ECE 0.040 -> 0.105 on BPIC escalation);
- the hold-out cases' values come from heads fitted on the whole training period;
- the stored model keeps heads fitted on every resolved case, and serving scores an open
  case with them in pure Python (``text.predict.Head``), the same arithmetic.

Heads are fitted only on cases resolved by the cut (their level and priority then were
known). Off by default (``RISK_TEXT_FEATURES=1`` turns them on): out of fold they still
raised the BPIC escalation ECE to 0.074 (README, Intelligence).
"""

from __future__ import annotations

import os

from django.conf import settings

from escalations.intelligence.text import features as text_features
from escalations.intelligence.text.predict import Head
from escalations.intelligence.text.train import fit_head, probabilities
from escalations.models import Level

ENABLED = os.environ.get("RISK_TEXT_FEATURES", "0") == "1"  # off: on BPIC escalation ECE 0.040 -> 0.074
FOLDS = 5
HEADS = ("priority", "level")
NAMES = [f"text:{h}" for h in HEADS]


def _value_maps() -> dict[str, dict[str, float]]:
    """Per head, class -> the number the column averages: the priority itself, the level's rank."""
    return {"level": {str(pk): float(rank) for pk, rank in Level.objects.values_list("pk", "rank")}}


def _expected(head: str, classes: list[int], p: list[float], values: dict) -> float:
    m = values.get(head)
    return sum(pk * (m.get(str(c), 1.0) if m is not None else float(c)) for c, pk in zip(classes, p))


def _fit(X, rows: list, index: list[int], min_cases: int) -> dict | None:
    heads = {}
    for h in HEADS:
        head = fit_head(X[index], [rows[i].text_labels.get(h) for i in index], min_cases)
        if head is None:
            return None
        heads[h] = head
    return heads


def _score(X, index: list[int], rows: list, heads: dict, values: dict) -> None:
    if not index:
        return
    for h in HEADS:
        p = probabilities(X[index], heads[h])
        for i, probs in zip(index, p):
            rows[i].text_columns[f"text:{h}"] = _expected(h, heads[h]["classes"], list(probs), values)


def attach(train_rows: list, other_rows: list, cut, min_cases: int | None = None) -> dict | None:
    """Fill ``text_columns`` of the training rows (out of fold) and of ``other_rows`` (heads
    fitted on the training period). Returns the stored payload (the full heads), or None when
    no head can be fitted (then no row gets text columns)."""
    min_cases = settings.TEXT_MODEL_MIN_CASES if min_cases is None else min_cases
    rows = list(train_rows) + list(other_rows)
    for r in rows:
        r.text_columns = {}
    if not ENABLED or not any(r.text for r in train_rows):
        return None
    X = text_features.matrix([r.text for r in rows])
    n_train = len(train_rows)
    known = [i for i in range(n_train) if (d := rows[i].done_at()) is not None and d <= cut]
    full = _fit(X, rows, known, min_cases)
    if full is None:
        return None
    values = _value_maps()
    order = sorted(range(n_train), key=lambda i: (rows[i].opened_at, rows[i].id))
    for k in range(FOLDS):
        block = order[k * n_train // FOLDS : (k + 1) * n_train // FOLDS]
        inside = set(block)
        heads = _fit(X, rows, [i for i in known if i not in inside], min_cases) or full_prior(full)
        _score(X, block, rows, heads, values)
    _score(X, list(range(n_train, len(rows))), rows, full, values)
    return {"heads": {h: full[h] for h in HEADS}, "values": values}


def full_prior(full: dict) -> dict:
    """A fold too thin to fit a head: its cases get the heads' intercepts only (no words)."""
    return {h: dict(head, weights={}) for h, head in full.items()}


_LOADED: dict[int, tuple] = {}  # id(payload) -> (payload, {head: Head}): parsed once per loaded model


def _heads(payload: dict) -> dict[str, Head]:
    hit = _LOADED.get(id(payload))
    if hit is None or hit[0] is not payload:
        if len(_LOADED) >= 4:  # the breach and escalation models' payloads, and a newer pair
            _LOADED.clear()
        hit = _LOADED[id(payload)] = (payload, {h: Head.from_json(payload["heads"][h]) for h in HEADS})
    return hit[1]


def serve(payload: dict, text: str) -> dict[str, float]:
    """The columns for one case from the stored heads, in pure Python."""
    vec = text_features.vector(text)
    out = {}
    for h, head in _heads(payload).items():
        out[f"text:{h}"] = _expected(h, head.classes, head.probabilities(vec), payload["values"])
    return out

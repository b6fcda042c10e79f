"""Suggestions from the stored model: pure Python over the JSON coefficients.

``suggest(title, description)`` gives, per target (category, priority, level), the most
likely class, its probability, the next ones and the words that weighed most for it. A
head the minimum-data guard left out (too few resolved cases) gives nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from escalations.core.config_cache import cached
from escalations.intelligence.text import features
from escalations.models import TextModel

TARGETS = ("category", "priority", "level")
TOP_WORDS = 5


@dataclass(frozen=True)
class Prediction:
    label: int  # category id, priority number or level id
    confidence: float
    ranked: list[tuple[int, float]] = field(default_factory=list)  # every class, most likely first
    words: list[str] = field(default_factory=list)  # the words that weighed most for ``label``


@dataclass
class Head:
    classes: list[int]
    intercepts: list[float]
    weights: dict[int, list[float]]  # bucket -> [class, weight, class, weight, ...] (pruned)
    kind: str  # "ovr" (one sigmoid per class, normalized) or "softmax"

    @classmethod
    def from_json(cls, data: dict) -> Head:
        return cls(
            classes=list(data["classes"]),
            intercepts=list(data["intercepts"]),
            weights={int(b): w for b, w in data["weights"].items()},
            kind=data.get("kind", "ovr"),
        )

    def scores(self, vec: dict[int, float]) -> list[float]:
        s = list(self.intercepts)
        for bucket, value in vec.items():
            pairs = self.weights.get(bucket)
            if pairs is not None:
                for i in range(0, len(pairs), 2):
                    s[int(pairs[i])] += value * pairs[i + 1]
        return s

    def weight(self, bucket: int, k: int) -> float:
        pairs = self.weights.get(bucket) or ()
        for i in range(0, len(pairs), 2):
            if int(pairs[i]) == k:
                return pairs[i + 1]
        return 0.0

    def probabilities(self, vec: dict[int, float]) -> list[float]:
        s = self.scores(vec)
        if self.kind == "softmax":
            top = max(s)
            e = [math.exp(v - top) for v in s]
        else:
            e = [1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, v)))) for v in s]
        total = sum(e) or 1.0
        return [v / total for v in e]

    def explain(self, text: str, k: int) -> list[str]:
        """The words whose features added most to class ``k``'s score."""
        parts, norm = features.word_parts(text)
        weight = {}
        for word, buckets in parts.items():
            weight[word] = sum(c * self.weight(b, k) for b, c in buckets.items()) / norm
        return [w for w, v in sorted(weight.items(), key=lambda item: -item[1]) if v > 0][:TOP_WORDS]

    def predict(self, text: str) -> Prediction:
        p = self.probabilities(features.vector(text))
        order = sorted(range(len(p)), key=lambda k: -p[k])
        best = order[0]
        return Prediction(
            label=self.classes[best],
            confidence=p[best],
            ranked=[(self.classes[k], p[k]) for k in order],
            words=self.explain(text, best),
        )


@dataclass
class Loaded:
    model_id: int
    heads: dict[str, Head]


_LOADED: dict[int, Loaded] = {}


def _active_id() -> int | None:
    return cached(
        "text_model_id", lambda: TextModel.objects.filter(is_active=True).values_list("pk", flat=True).first()
    )


def load(model: TextModel) -> Loaded:
    heads = {t: Head.from_json(h) for t, h in (model.parameters.get("heads") or {}).items() if h}
    return Loaded(model.pk, heads)


def active() -> Loaded | None:
    """The active model, read once per process (and again when a newer one is trained)."""
    pk = _active_id()
    if pk is None:
        return None
    if pk not in _LOADED:
        model = TextModel.objects.filter(pk=pk).first()
        if model is None:
            return None
        _LOADED.clear()
        _LOADED[pk] = load(model)
    return _LOADED[pk]


def suggest(title: str, description: str, model: Loaded | None = None) -> tuple[int | None, dict[str, Prediction]]:
    """(the model's id, per target its prediction); empty without a model or text."""
    model = model or active()
    text = features.case_text(title, description)
    if model is None or not features.words(text):
        return None, {}
    return model.model_id, {t: head.predict(text) for t, head in model.heads.items()}

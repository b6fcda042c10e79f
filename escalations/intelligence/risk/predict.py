"""Scoring with a stored model: a dot product over JSON parameters, no pickle and no
scikit-learn at request time."""

from __future__ import annotations

import math

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from escalations.core.bulk import bulk_update_rows
from escalations.domain import rules
from escalations.intelligence.risk import boosted, calibration, text_columns
from escalations.intelligence.risk.features import (
    TARGETS,
    Row,
    describe,
    desk_now,
    is_on,
    load_rows,
    rates_from_tables,
    vector,
)
from escalations.models import OPEN_STATUSES, Case, RiskModel

BATCH = 1000
TOP_REASONS = 3


def standardized(params: dict, x: list[float]) -> list[float]:
    clip = params.get("clip")
    out = [(xi - m) / s for xi, m, s in zip(x, params["means"], params["scales"])]
    return [max(-clip, min(clip, v)) for v in out] if clip else out


def probability(params: dict, x: list[float]) -> float:
    """The served model's calibrated risk: the boosted trees when they ranked better on the
    hold-out, else the logistic regression on standardized (clipped) inputs, as scikit-learn
    computes them; then the stored Platt scaling."""
    if "boosted" in params:
        p = boosted.probability(params["boosted"], x)
    else:
        z = params["intercept"] + sum(c * v for c, v in zip(params["coefficients"], standardized(params, x)))
        p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    return calibration.apply(params.get("calibration"), p)


def contributions(params: dict, x: list[float]) -> list[tuple[float, str]]:
    """Each column's push on the log-odds (coefficient x standardized value), largest first."""
    out = [(c * v, name) for c, v, name in zip(params["coefficients"], standardized(params, x), params["names"])]
    return sorted(out, reverse=True)


def reasons(params: dict, row: Row, x: list[float], target: str, limit: int = TOP_REASONS) -> list[str]:
    words = []
    for push, name in contributions(params, x):
        if push <= 0 or len(words) >= limit:
            break
        if not is_on(name, x[params["names"].index(name)]):
            continue
        phrase = describe(name, row, target)
        if phrase and phrase not in words:
            words.append(phrase)
    return words


def score_row(model: RiskModel, row: Row) -> tuple[float, list[str]]:
    params = model.parameters
    rates_from_tables(row, params["rates"])
    if params.get("text"):  # the stored text heads read the case's title and description
        row.text_columns = text_columns.serve(params["text"], row.text)
    x = vector(row, params)
    return probability(params, x), reasons(params, row, x, model.target)


def active_models() -> dict[str, RiskModel]:
    """The newest active model per target."""
    models = {}
    for m in RiskModel.objects.filter(is_active=True).order_by("-trained_at", "-pk"):
        models.setdefault(m.target, m)
    return models


def predict(case: Case, models: dict[str, RiskModel] | None = None) -> dict:
    """Risk for one case, from the active models, as of its intake.

    Returns ``{"breach_risk": float | None, "escalation_risk": float | None,
    "breach_reasons": [str], "escalation_reasons": [str], "reasons": [str],
    "model_ids": {"breach": id | None, "escalation": id | None}}``; ``reasons`` is what
    ``score_open_cases`` stores in ``Case.risk_reasons``. A target without an active
    model gives None and no reasons."""
    models = active_models() if models is None else models
    rows = load_rows(Case.objects.filter(pk=case.pk))
    desk_now(rows, timezone.now())
    out: dict = {
        "breach_risk": None,
        "escalation_risk": None,
        "breach_reasons": [],
        "escalation_reasons": [],
        "reasons": [],
        "model_ids": {t: None for t in TARGETS},
    }
    if not rows:
        return out
    for target in TARGETS:
        model = models.get(target)
        if model is None:
            continue
        p, words = score_row(model, rows[0])
        out[f"{target}_risk"] = round(p, 4)
        out[f"{target}_reasons"] = words
        out["model_ids"][target] = model.pk
    out["reasons"] = combined_reasons(out)
    return out


def combined_reasons(result: dict) -> list[str]:
    return [f"breach: {w}" for w in result["breach_reasons"]] + [
        f"escalation: {w}" for w in result["escalation_reasons"]
    ]


def _mark_due(ids: list[int], now) -> None:
    """Cases whose risk changed are looked at by the next sweep (their ``next_check_at``
    bookmark), so a rule on the risk fires without waiting for another change."""
    Case.objects.filter(pk__in=ids, status__in=OPEN_STATUSES, paused_at__isnull=True).filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__gt=now)
    ).update(next_check_at=now)


def score_open_cases(batch: int = BATCH, unscored_only: bool = False) -> int:
    """Write ``breach_risk``, ``escalation_risk``, ``risk_reasons`` and ``risk_scored_at``
    on every open case (``unscored_only``: on the open cases not scored yet, the new ones),
    in batches, with set-based updates; a case whose risk changed is made due for the sweep
    when an active rule reads the risk. Returns the number scored."""
    models = active_models()
    if not models:
        return 0
    qs = Case.objects.open()
    if unscored_only:
        qs = qs.filter(risk_scored_at__isnull=True)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    watch = any(rules.reads_risk(r) for r in rules.active_rules())
    scored = 0
    snapshot = None
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        before = {
            pk: (b, e)
            for pk, b, e in Case.objects.filter(pk__in=chunk).values_list("pk", "breach_risk", "escalation_risk")
        }
        objs = []
        rows = load_rows(Case.objects.filter(pk__in=chunk))
        snapshot = desk_now(rows, now, snapshot)
        for row in rows:
            result = {"breach_risk": None, "escalation_risk": None, "breach_reasons": [], "escalation_reasons": []}
            for target, model in models.items():
                p, words = score_row(model, row)
                result[f"{target}_risk"] = round(p, 4)
                result[f"{target}_reasons"] = words
            objs.append(
                Case(
                    pk=row.id,
                    breach_risk=result["breach_risk"],
                    escalation_risk=result["escalation_risk"],
                    risk_reasons=combined_reasons(result),
                    risk_scored_at=now,
                )
            )
        changed = [o.pk for o in objs if before.get(o.pk) != (o.breach_risk, o.escalation_risk)]
        with transaction.atomic():
            scored += bulk_update_rows(objs, ["breach_risk", "escalation_risk", "risk_reasons", "risk_scored_at"])
            if watch and changed:
                _mark_due(changed, now)
    return scored

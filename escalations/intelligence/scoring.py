"""Impact scoring: impact x urgency (a configurable matrix), customer tier and business
impact set a case's priority and its queue score.

Priority decides the SLA targets; the score orders a queue within equal priority
(higher first). The active ``ScoringPolicy`` is the manager's configuration; without
one the built-in matrix (``priority_for``) applies, tiers give no boost and each
business-impact step is worth one point.
"""

from __future__ import annotations

from django.db.models import QuerySet

from escalations.core.config_cache import cached
from escalations.models import CustomerTier, Priority, ScoringPolicy, priority_for

PRIORITY_POINTS = 10.0  # score points per priority step: P1 = 40, P4 = 10
MAX_TIER_BOOST = 3


def active_policy() -> ScoringPolicy | None:
    return cached("scoring_policy", lambda: ScoringPolicy.objects.filter(is_active=True).first())


def priority_and_score(
    impact: int, urgency: int, customer_tier: str, business_impact: int = 0, policy: ScoringPolicy | None | bool = True
) -> tuple[int, float]:
    """The case's priority (1 = P1) and queue score.

    ``policy=True`` (the default) reads the active policy; pass a policy, or ``None``
    for the built-in fallback, to score against something else (the admin's preview).
    A malformed cell (saved around the admin's validation) falls back to the built-in
    matrix rather than failing intake.
    """
    if policy is True:
        policy = active_policy()
    base = priority_for(impact, urgency)
    boost, weight = 0, 1.0
    if policy is not None:
        cell = (policy.matrix or {}).get(f"{int(impact)},{int(urgency)}")
        if _is_int(cell) and 1 <= cell <= 4:
            base = cell
        tier = (policy.tier_boost or {}).get(customer_tier, 0)
        boost = tier if _is_int(tier) and 0 <= tier <= MAX_TIER_BOOST else 0
        weight = float(policy.business_impact_weight)
    priority = max(int(Priority.CRITICAL), int(base) - boost)
    score = (5 - priority) * PRIORITY_POINTS + max(0, int(business_impact or 0)) * weight
    return priority, round(score, 3)


def in_queue_order(cases: QuerySet) -> QuerySet:
    """Queue order: priority first, then the score (higher first), then the oldest."""
    return cases.order_by("priority", "-score", "opened_at", "pk")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- validation (the admin form) ----------------------------------------------------------


def matrix_problems(matrix) -> list[str]:
    """What is wrong with a matrix, in words (empty when it is fine)."""
    if not isinstance(matrix, dict):
        return ['The matrix must be a JSON object such as {"1,1": 1, "2,3": 3}.']
    problems = []
    for key, value in matrix.items():
        parts = str(key).split(",")
        if len(parts) != 2 or not all(p.strip() in ("1", "2", "3") for p in parts) or key != key.strip():
            problems.append(f'"{key}" is not a cell: use "impact,urgency" with each 1 (high) to 3 (low), e.g. "1,2".')
            continue
        if not _is_int(value) or not 1 <= value <= 4:
            problems.append(f'Cell "{key}" must be a priority from 1 (P1) to 4 (P4), not {value!r}.')
    return problems


def tier_boost_problems(tier_boost) -> list[str]:
    if not isinstance(tier_boost, dict):
        return ['Tier boosts must be a JSON object such as {"vip": 1}.']
    problems = []
    for key, value in tier_boost.items():
        if key not in CustomerTier.values:
            problems.append(f'"{key}" is not a customer tier; use {", ".join(CustomerTier.values)}.')
        elif not _is_int(value) or not 0 <= value <= MAX_TIER_BOOST:
            problems.append(
                f'The boost for "{key}" must be a whole number of priority steps from 0 to '
                f"{MAX_TIER_BOOST}, not {value!r}."
            )
    return problems


def effective_matrix(policy: ScoringPolicy | None) -> list[list[int]]:
    """Rows of impact 1..3, columns of urgency 1..3: the priorities a policy gives (no tier)."""
    return [
        [priority_and_score(i, u, CustomerTier.STANDARD, 0, policy=policy)[0] for u in (1, 2, 3)] for i in (1, 2, 3)
    ]

"""How strong a secret is, judged before Django starts (settings import this module, so it
may not import Django models or the app). Production refuses a weak ``DJANGO_SECRET_KEY`` or
``AUDIT_SECRET``: a short or repetitive key makes signed links and the audit chain forgeable."""

from __future__ import annotations

import math
from collections import Counter

MIN_LENGTH = 50
MIN_UNIQUE = 10
MIN_BITS = 4.0 * 50  # Shannon estimate over the whole key, in bits (token_urlsafe(64) gives ~ 500)
HOW = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'


def entropy_bits(secret: str) -> float:
    """Shannon entropy of the characters times the length: a cheap lower bar, not a proof."""
    if not secret:
        return 0.0
    counts, n = Counter(secret), len(secret)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def weakness(name: str, secret: str) -> str | None:
    """Why ``secret`` is too weak for production, with how to make one; None when it is fine."""
    if len(secret) < MIN_LENGTH:
        return f"{name} is {len(secret)} characters; production needs at least {MIN_LENGTH}: {HOW}"
    if len(set(secret)) < MIN_UNIQUE or entropy_bits(secret) < MIN_BITS:
        return f"{name} is too predictable (few distinct characters or repeated patterns): {HOW}"
    if secret.startswith(("django-insecure", "insecure-")):
        return f"{name} is a placeholder key: {HOW}"
    return None

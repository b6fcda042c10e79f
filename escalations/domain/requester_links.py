"""Signed, expiring links for requesters (who have no account)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from escalations.models import Case

SALT = "escalations.requester.confirm"
MAX_AGE_DAYS = 14


def confirmation_token(case: Case) -> str:
    return signing.dumps({"case": case.pk, "resolved_at": case.resolved_at.isoformat()}, salt=SALT, compress=True)


def read_token(token: str) -> dict:
    """Raises ``signing.BadSignature`` (or its subclass ``SignatureExpired``)."""
    return signing.loads(token, salt=SALT, max_age=MAX_AGE_DAYS * 86400)


def confirmation_url(case: Case) -> str:
    base = getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("requester-confirm", args=[confirmation_token(case)])

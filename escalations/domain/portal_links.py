"""Signed, expiring values for the requester portal (requesters have no account and no
password): the sign-in link mailed to an address, the portal's own session cookie, and
the survey link sent on resolution.

Each kind has its own salt, so a value of one kind is never accepted as another (a
sign-in link is not a session, a survey link signs nobody in).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from escalations.models import Case

SIGN_IN_SALT = "escalations.portal.sign-in"
SESSION_SALT = "escalations.portal.session"
SURVEY_SALT = "escalations.portal.survey"
SURVEY_MAX_AGE_DAYS = 30


def _minutes(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def normal_address(email: str) -> str:
    """Addresses compare without case: cases store what the requester typed."""
    return (email or "").strip().lower()


def sign_in_token(email: str) -> str:
    return signing.dumps({"email": normal_address(email)}, salt=SIGN_IN_SALT, compress=True)


def read_sign_in_token(token: str) -> str:
    """The address; raises ``signing.BadSignature`` (``SignatureExpired`` when too old)."""
    data = signing.loads(token, salt=SIGN_IN_SALT, max_age=_minutes("PORTAL_LINK_MINUTES", 30) * 60)
    return normal_address(data["email"])


def session_value(email: str) -> str:
    return signing.dumps({"email": normal_address(email)}, salt=SESSION_SALT, compress=True)


def read_session_value(value: str) -> str:
    data = signing.loads(value, salt=SESSION_SALT, max_age=_minutes("PORTAL_SESSION_MINUTES", 8 * 60) * 60)
    return normal_address(data["email"])


def survey_token(case: Case) -> str:
    """Names the case and the resolution: a new resolution needs a new link."""
    return signing.dumps({"case": case.pk, "resolved_at": case.resolved_at.isoformat()}, salt=SURVEY_SALT)


def read_survey_token(token: str) -> dict:
    return signing.loads(token, salt=SURVEY_SALT, max_age=SURVEY_MAX_AGE_DAYS * 86400)


def _absolute(path: str) -> str:
    return getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/") + path


def sign_in_url(email: str) -> str:
    return _absolute(reverse("portal:enter", args=[sign_in_token(email)]))


def survey_url(case: Case) -> str:
    return _absolute(reverse("portal:survey-link", args=[survey_token(case)]))

"""Deployment checks for the audit trail (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from project.secret_strength import weakness


@register(Tags.security, deploy=True)
def audit_settings(app_configs=None, **kwargs):
    """The settings refuse weak secrets in production at import; this also catches a
    production-like run with DJANGO_ENV unset, and a trail with nowhere to checkpoint."""
    problems = []
    for name, secret in (("DJANGO_SECRET_KEY", settings.SECRET_KEY), ("AUDIT_SECRET", settings.AUDIT_SECRET)):
        if why := weakness(name, secret):
            problems.append(Error(why, id="escalations.E001"))
    if settings.AUDIT_SECRET == settings.SECRET_KEY:
        problems.append(
            Error(
                "AUDIT_SECRET falls back to DJANGO_SECRET_KEY; give the audit trail a key of its own.",
                id="escalations.E002",
            )
        )
    if not settings.AUDIT_CHECKPOINT_DIR:
        problems.append(
            Warning(
                "AUDIT_CHECKPOINT_DIR is not set: without signed checkpoints outside the database, "
                "rows cut from the end of the audit trail together with its head go unnoticed.",
                id="escalations.W001",
            )
        )
    return problems

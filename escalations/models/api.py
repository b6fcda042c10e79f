"""Who may call the REST API: per-user tokens with scopes, stored as a SHA-256 digest.

The token itself is shown once, when it is made (``api_token create`` or the admin);
only its digest and an 8-character prefix (to tell tokens apart in lists) are kept, so
a copy of the database does not hand out working tokens. A revoked token stays as a
row (who had access, until when) and never authenticates again.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history


class Scope(models.TextChoices):
    READ = "read", "Read cases"
    INTAKE = "intake", "Monitoring intake"
    ACT = "act", "Act on cases"


PREFIX = "esc_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)

    def issue(self, *, user, scopes, name: str = "") -> tuple[ApiToken, str]:
        """A new token for ``user``: the row, and the token text (never stored)."""
        wanted = sorted({s.strip() for s in scopes if s.strip()})
        unknown = [s for s in wanted if s not in Scope.values]
        if not wanted or unknown:
            raise ValueError(f"Scopes must be among {', '.join(Scope.values)}; got {', '.join(unknown) or 'none'}.")
        text = PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(user=user, name=name[:80], scopes=",".join(wanted), key_hash=digest(text), prefix=text[:12])
        row._change_reason = f"API token issued ({row.scopes})"
        row.save()
        return row, text


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True, help_text="What the token is for (e.g. 'alertmanager prod').")
    scopes = models.CharField(max_length=60, help_text="Comma-separated: read, intake, act.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="The token's first characters, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()
    history = audited_history(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user}, {self.scopes})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

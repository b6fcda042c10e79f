"""The frozen SLA terms cases hold, stored once per distinct content.

A case freezes the policy in force at intake (``domain.clock.freeze_policy`` plus the level
its SLA is read from), so editing a policy never rewrites running cases. Every case opened
under the same policy at the same level freezes the same terms, so the terms live in one
row keyed by the SHA-256 of their canonical JSON and the case points at it: the case row
stays narrow (about 1.5 kB less), so the sweep's updates and every read of the case table
move less data. A row is never changed: the same key always means the same terms, which
is also why each process keeps the terms it has read (``body``).
"""

from __future__ import annotations

import hashlib
import json

from django.db import models, router
from django.utils import timezone

# Terms read or written by this process, by digest (immutable, so never stale).
_BODIES: dict[str, dict] = {}
_MAX = 1024


def digest_of(body: dict) -> str:
    """The key of a set of terms: SHA-256 of its canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _remember(digest: str, body: dict) -> dict:
    if len(_BODIES) >= _MAX:
        _BODIES.clear()
    _BODIES[digest] = body
    return body


class PolicySnapshotManager(models.Manager):
    def bodies(self, digests) -> dict[str, dict]:
        """The terms of each digest: the ones this process has not seen in one query."""
        wanted = {d for d in digests if d}
        missing = wanted - _BODIES.keys()
        if missing:
            for digest, body in self.filter(pk__in=missing).values_list("pk", "body"):
                _remember(digest, body)
        return {d: _BODIES[d] for d in wanted if d in _BODIES}

    def body(self, digest: str) -> dict:
        return self.bodies([digest])[digest]

    def keep(self, body: dict, using: str | None = None) -> str | None:
        """Store ``body`` unless stored already; its digest (None for no terms)."""
        return self.keep_all([body], using)[0]

    def keep_all(self, bodies, using: str | None = None) -> list[str | None]:
        """Store each distinct body not stored yet (one statement); their digests in order."""
        digests = [digest_of(b) if b else None for b in bodies]
        distinct = {d: b for d, b in zip(digests, bodies) if d}
        if distinct:
            alias = using or router.db_for_write(PolicySnapshot)
            now = timezone.now()
            self.db_manager(alias).bulk_create(
                [PolicySnapshot(digest=d, body=b, created_at=now) for d, b in distinct.items()],
                ignore_conflicts=True,
            )
            for d, b in distinct.items():
                _remember(d, b)
        return digests


class PolicySnapshot(models.Model):
    """SLA terms frozen at intake and shared by every case that froze the same ones."""

    digest = models.CharField(max_length=64, primary_key=True, help_text="SHA-256 of the canonical JSON.")
    body = models.JSONField(help_text="The policy's name, calendar and targets per level and priority.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PolicySnapshotManager()

    class Meta:
        verbose_name = "frozen SLA policy"

    def __str__(self) -> str:
        return f"{self.body.get('policy', 'policy')} at {self.body.get('sla_level', '?')} ({self.digest[:12]})"


def terms_of(case) -> dict:
    """``case.policy_snapshot``: the terms the case points at (``policy_id``), read through
    the process's cache; ``{}`` when it has none."""
    pending = case.__dict__.get("_policy_pending")
    if pending is not None and pending[0] == case.policy_id:
        return pending[1]
    if case.policy_id is None:
        return {}
    body = _BODIES.get(case.policy_id)
    return body if body is not None else PolicySnapshot.objects.body(case.policy_id)


def set_terms(case, body: dict | None) -> None:
    """Point the case at ``body``'s digest; the row is stored when the case is
    (``keep_pending``)."""
    body = body or {}
    digest = digest_of(body) if body else None
    case.policy_id = digest
    case.__dict__["_policy_pending"] = (digest, body)


def keep_pending(cases, using: str | None = None) -> None:
    """Store the terms assigned to ``cases`` since they were loaded (before the cases are)."""
    pending = [c.__dict__.pop("_policy_pending", None) for c in cases]
    bodies = [p[1] for p in pending if p is not None and p[0] is not None]
    if bodies:
        PolicySnapshot.objects.keep_all(bodies, using)

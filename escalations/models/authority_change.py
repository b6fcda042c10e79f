"""A pending change to who may decide what: the four-eyes record.

A manager proposes a change to the authority matrix (a grant), to a staff member's
level or to a level's rank; it takes effect only when a second manager approves it, and
neither the proposer nor the person whose authority it changes may be that second
manager. The record, its decision and the change it applies are all in the history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from escalations.audit.records import audited_history
from escalations.models.choices import ApprovalKind
from escalations.models.limits import text_field
from escalations.models.organisation import Level, StaffProfile

User = settings.AUTH_USER_MODEL


class AuthorityChangeKind(models.TextChoices):
    STAFF_LEVEL = "staff_level", "A staff member's level"
    GRANT = "grant", "An authority grant (set or change its limit)"
    GRANT_REMOVE = "grant_remove", "Remove an authority grant"
    LEVEL_RANK = "level_rank", "A level's rank on the ladder"


class AuthorityChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending a second manager"
    APPLIED = "applied", "Approved and applied"
    REJECTED = "rejected", "Rejected"


class AuthorityChange(ConcurrentTransitionMixin, models.Model):
    what = models.CharField(max_length=16, choices=AuthorityChangeKind.choices)
    profile = models.ForeignKey(
        StaffProfile, null=True, blank=True, on_delete=models.CASCADE, related_name="authority_changes"
    )
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="authority_changes")
    kind = models.CharField(max_length=32, choices=ApprovalKind.choices, blank=True)
    limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    reason = text_field()
    status = FSMField(default=AuthorityChangeStatus.PENDING, choices=AuthorityChangeStatus.choices, protected=True)
    proposed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = text_field(blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-proposed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.summary} ({self.get_status_display().lower()})"

    @transition(field=status, source=AuthorityChangeStatus.PENDING, target=AuthorityChangeStatus.APPLIED)
    def apply(self, user, note: str, at) -> None:
        self.decided_by, self.decided_at, self.decision_note = user, at, note

    @transition(field=status, source=AuthorityChangeStatus.PENDING, target=AuthorityChangeStatus.REJECTED)
    def reject(self, user, note: str, at) -> None:
        self.decided_by, self.decided_at, self.decision_note = user, at, note

"""Who follows a case: the through row of ``Case.watchers``, audited like every record.

Following changes nothing anyone works with, but who could read a case and when is part
of what an auditor proves, so each follow and unfollow is a history row with its user and
reason (written by ``workflow.following`` only). The table is the one Django created for
the plain many-to-many field (migration 0043 adopted it and added ``followed_at``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history


class CaseWatcher(models.Model):
    case = models.ForeignKey("escalations.Case", on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    followed_at = models.DateTimeField(default=timezone.now)

    history = audited_history()

    class Meta:
        db_table = "escalations_case_watchers"
        verbose_name = "follower"
        unique_together = [("case", "user")]  # as Django made it for the plain field

    def __str__(self) -> str:
        return f"{self.user} follows case {self.case_id}"

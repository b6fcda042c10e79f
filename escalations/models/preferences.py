"""What a staff member keeps for themselves: named queue filters, and the filter they
last used on each queue (applied when the queue is opened without parameters).

A preference, not part of the case record: no history table, no audit chain. The
stored filter is a query string the queue's own form parsed (``QueueFilterForm``), so
a saved filter that later stops fitting (a team deleted, a level out of reach) is
reported beside the filters like any other invalid filter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

NAME_MAX = 80
QUERY_MAX = 1000
SAVED_PER_QUEUE = 50  # named filters a user may keep per queue


class FilterQueue(models.TextChoices):
    MINE = "mine", "My queue"
    TEAM = "team", "Team queue"


class SavedQueueFilter(models.Model):
    """A named filter (``name`` non-empty) or the last one used (``name`` empty: one per
    user and queue)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_filters")
    queue = models.CharField(max_length=8, choices=FilterQueue.choices)
    name = models.CharField(max_length=NAME_MAX, blank=True, help_text="Empty: the filter last used on this queue.")
    query = models.CharField(max_length=QUERY_MAX, blank=True, help_text="The filter as a query string.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "queue", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "queue", "name"], name="saved_filter_once_per_name")]
        verbose_name = "saved queue filter"

    def __str__(self) -> str:
        return f"{self.user} · {self.get_queue_display()} · {self.name or '(last used)'}"

    @property
    def is_last_used(self) -> bool:
        return not self.name

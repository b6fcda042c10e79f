"""Rows the automation keeps: the notification outbox, rule firings, the sweep heartbeat."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from escalations.models import limits
from escalations.models.case import Case
from escalations.models.choices import NotificationStatus
from escalations.models.indexes import where_set
from escalations.models.limits import text_field
from escalations.models.monitoring import TeamWebhook
from escalations.models.organisation import Level
from escalations.models.policy import TriggerRule


class NotificationQuerySet(models.QuerySet):
    def sendable(self, now) -> NotificationQuerySet:
        return self.filter(status=NotificationStatus.PENDING, not_before__lte=now)


class Notification(models.Model):
    """An outbox row per message (operational data: its own status is its record, so it
    keeps no history table; the case history says why it was queued). Written in the same transaction as the change it reports;
    sent after commit by a task. ``dedupe_key`` makes the same notice impossible to queue twice."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=40)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body = text_field(limits.SYSTEM)
    urgent = models.BooleanField(default=True)
    # Sent to the case's requester: carries the case token and threads to their e-mails.
    to_requester = models.BooleanField(default=False, db_default=False)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    dedupe_key = models.CharField(max_length=200)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = text_field(limits.SYSTEM, blank=True)
    not_before = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set: the row is POSTed to this team webhook (``recipient`` then names it) instead of e-mailed.
    webhook = models.ForeignKey(
        TeamWebhook, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # A public update's note: its attachments go out with the e-mail (to the requester only).
    note = models.ForeignKey(
        "escalations.Note", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["not_before"],
                name="notification_pending",
                condition=models.Q(status="pending"),
            ),
            # Set on webhook and public-update rows only (a webhook's or a note's delete).
            where_set("webhook", "notification_webhook"),
            where_set("note", "notification_note"),
        ]
        constraints = [
            # A constraint rather than ``unique=True``: that also builds a ``LIKE`` index no
            # query uses, one more entry per queued notice (docs/indexes.md).
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient} ({self.status})"


class RuleFiring(models.Model):
    """That a rule fired for a case at a level: a rule fires once per case per level
    unless it repeats, and the unique constraint makes a double firing impossible."""

    # No index of its own: the unique constraint below leads with the case and serves every
    # read by case (and Case's CASCADE); one index fewer on the sweep's insert (issue 18).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="rule_firings", db_index=False)
    # No database constraint on the rule and level (migration 0071, as on the handoff): the
    # ORM cascades a deleted rule or level to its firings.
    rule = models.ForeignKey(TriggerRule, on_delete=models.CASCADE, related_name="firings", db_constraint=False)
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    fired_at = models.DateTimeField()
    times = models.PositiveIntegerField(default=1)
    reason = text_field(blank=True)
    # Who was told when it last fired (addresses), so "notified nobody" is never silent.
    recipients = models.JSONField(default=list, blank=True, db_default=[])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "rule", "level"], name="one_firing_per_case_rule_level")]

    def __str__(self) -> str:
        return f"{self.rule} on case {self.case_id} at {self.level}"


class SweepHeartbeat(models.Model):
    """One row per sweeping process name: when it last ran and what it did."""

    name = models.CharField(max_length=80, unique=True, default="sweep")
    last_run_at = models.DateTimeField()
    examined = models.PositiveIntegerField(default=0)
    actions = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class RuleProblem(models.Model):
    """A stored rule the automation had to skip (a value saved around validation that
    cannot be evaluated): why, when first and last, how often. Operational data, written
    by the sweep and shown as a warning in the admin; cleared when the rule is saved again."""

    rule = models.OneToOneField(TriggerRule, on_delete=models.CASCADE, related_name="problem")
    reason = models.CharField(max_length=500)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    skipped = models.PositiveIntegerField(default=0, help_text="Evaluations skipped since first seen.")

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"

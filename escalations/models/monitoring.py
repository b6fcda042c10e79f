"""What the monitoring channel keeps: how alert labels map to priority, category and
team (set in the admin), one row per alert incident (the dedupe record), one row per
accepted delivery (the idempotency record), and the teams' outgoing webhooks."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history
from escalations.models.case import Case
from escalations.models.choices import Impact, Urgency
from escalations.models.organisation import Category, Team


class AlertSeverity(models.Model):
    """A value of the alert's ``severity`` label and the impact and urgency a case opened
    from it gets (the priority follows from the scoring matrix, as for any case)."""

    label = models.CharField(max_length=40, unique=True, help_text="The severity label's value, lower case.")
    impact = models.PositiveSmallIntegerField(choices=Impact.choices)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices)

    history = audited_history()

    class Meta:
        ordering = ["impact", "urgency", "label"]
        verbose_name_plural = "alert severities"

    def __str__(self) -> str:
        return f"{self.label} (impact {self.impact}, urgency {self.urgency})"


class AlertRule(models.Model):
    """Which alerts go where: the first active rule (by ``order``) whose ``match`` labels
    all equal the alert's labels decides category and team. An empty match takes every alert."""

    name = models.CharField(max_length=80, unique=True)
    order = models.PositiveIntegerField(default=100)
    match = models.JSONField(default=dict, blank=True, help_text='Labels that must all be equal, e.g. {"team": "db"}.')
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Blank: the path decides."
    )
    resolve_on_resolved = models.BooleanField(
        default=False, help_text="A resolved alert resolves the case (otherwise it only adds a note)."
    )
    requester_name = models.CharField(max_length=120, default="Monitoring")
    requester_email = models.EmailField(default="monitoring@localhost")
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def matches(self, labels: dict) -> bool:
        return all(str(labels.get(k, "")) == str(v) for k, v in (self.match or {}).items())


class AlertCase(models.Model):
    """The case an alert fingerprint opened. At most one open row per fingerprint (the
    partial unique index), so concurrent deliveries of one alert cannot open two cases."""

    source = models.CharField(max_length=20)
    fingerprint = models.CharField(max_length=128)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="alerts")
    is_open = models.BooleanField(default=True)
    alertname = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(default=dict)
    opened_at = models.DateTimeField(default=timezone.now)
    last_status = models.CharField(max_length=10, default="firing")
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"], condition=models.Q(is_open=True), name="one_open_alert_case_per_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alertname or self.fingerprint} -> case {self.case_id}"


class AlertDelivery(models.Model):
    """One alert state seen (fingerprint, status, start, end): a redelivery of the same
    state finds its row and changes nothing."""

    key = models.CharField(max_length=64, unique=True)
    alert_case = models.ForeignKey(AlertCase, null=True, on_delete=models.CASCADE, related_name="deliveries")
    outcome = models.CharField(max_length=20)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key[:12]} {self.outcome}"


class TeamWebhook(models.Model):
    """Where a team's urgent notices also go: a Slack- or Teams-compatible incoming
    webhook URL; each delivery is signed with ``secret`` (HMAC-SHA256 of the body)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=80)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, blank=True, help_text="Signs the body (header X-Escalation-Signature).")
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["team__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.team.name})"

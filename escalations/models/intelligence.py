"""Configuration and results of the desk's intelligence: impact scoring, routing, risk
models, and swarming (collaborators on a case without a handoff)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history
from escalations.models.limits import text_field


class ScoringPolicy(models.Model):
    """Impact x urgency matrix plus customer tier and business impact -> priority and the
    queue score. One policy is active at a time."""

    name = models.CharField(max_length=80, unique=True)
    is_active = models.BooleanField(default=False)
    matrix = models.JSONField(
        default=dict,
        blank=True,
        help_text='Priority per "impact,urgency", e.g. {"1,1": 1, "1,2": 2, ...}; missing cells use the default matrix.',
    )
    tier_boost = models.JSONField(
        default=dict, blank=True, help_text='Priority steps up per customer tier, e.g. {"vip": 1}.'
    )
    business_impact_weight = models.FloatField(default=1.0, help_text="Queue score points per business-impact step.")

    history = audited_history()

    class Meta:
        verbose_name_plural = "scoring policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_scoring_policy",
                violation_error_message="Only one scoring policy can be active.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RoutingPolicy(models.Model):
    """Whether intake and escalation suggest or pick the team and person at the target level."""

    class Mode(models.TextChoices):
        OFF = "off", "Off"
        SUGGEST = "suggest", "Suggest"
        ASSIGN = "assign", "Assign automatically"

    name = models.CharField(max_length=80, unique=True)
    is_active = models.BooleanField(default=False)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SUGGEST)
    route_to_predicted_level = models.BooleanField(
        default=False,
        help_text="Route straight to the predicted level: a new case the text model is confident needs a "
        "higher level than its first step goes there at intake, with an automatic handoff saying why.",
    )
    predicted_level_confidence = models.FloatField(
        default=0.8, help_text="How confident (0-1) the text model must be to route a case straight up."
    )

    history = audited_history()

    class Meta:
        verbose_name_plural = "routing policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_routing_policy",
                violation_error_message="Only one routing policy can be active.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_mode_display().lower()})"


class RiskModel(models.Model):
    """A trained, explainable model (coefficients as JSON, never pickles) and its honest
    evaluation on a time-ordered hold-out."""

    class Target(models.TextChoices):
        BREACH = "breach", "SLA breach"
        ESCALATION = "escalation", "Needs escalation"

    target = models.CharField(max_length=16, choices=Target.choices)
    trained_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    features = models.JSONField(default=list)
    parameters = models.JSONField(default=dict, help_text="Coefficients, intercept and scaling.")
    metrics = models.JSONField(default=dict)
    n_train = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"{self.get_target_display()} model of {self.trained_at:%Y-%m-%d %H:%M}"


class Collaboration(models.Model):
    """A person or team invited to work on a case without a handoff; the owner stays accountable."""

    case = models.ForeignKey("escalations.Case", on_delete=models.CASCADE, related_name="collaborations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="collaborations"
    )
    team = models.ForeignKey(
        "escalations.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="collaborations"
    )
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = text_field(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(team__isnull=False),
                name="collaboration_names_someone",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "is_active"], name="collab_user_active"),
            models.Index(fields=["team", "is_active"], name="collab_team_active"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.team} on case {self.case_id}"

    def clean(self) -> None:
        if not self.user_id and not self.team_id:
            raise ValidationError("Invite a person or a team.")

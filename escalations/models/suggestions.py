"""The text model (category, priority and resolving level from a case's words) and the
suggestion it made for each case at intake, with what staff chose."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history


class TextModel(models.Model):
    """Linear models over hashed word and character n-grams, stored as JSON coefficients
    (never pickles): prediction needs no scikit-learn. One head per target."""

    trained_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=16, default="all")
    parameters = models.JSONField(default=dict, help_text="Per target: classes, coefficients by bucket, intercepts.")
    metrics = models.JSONField(default=dict)
    n_train = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"Text model of {self.trained_at:%Y-%m-%d %H:%M} ({self.source})"


class SuggestionDecision(models.TextChoices):
    PENDING = "pending", "Not decided yet"
    ACCEPTED = "accepted", "Accepted"
    CHANGED = "changed", "Changed"


class CaseSuggestion(models.Model):
    """What the text model suggested when the case came in, and what staff did with it.

    Staff deciding on the intake form are recorded at once (they saw it); a case from
    e-mail, the portal or the API waits for someone to accept or change it on the case page.
    ``routed``: the case went straight to the suggested level (routing policy)."""

    case = models.OneToOneField("escalations.Case", on_delete=models.CASCADE, related_name="suggestion")
    model = models.ForeignKey(TextModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey(
        "escalations.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category_confidence = models.FloatField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    priority_confidence = models.FloatField(null=True, blank=True)
    level = models.ForeignKey("escalations.Level", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    level_confidence = models.FloatField(null=True, blank=True)
    words = models.JSONField(default=dict, blank=True, help_text="Per target, the words that weighed most.")
    decision = models.CharField(max_length=16, choices=SuggestionDecision.choices, default=SuggestionDecision.PENDING)
    category_accepted = models.BooleanField(null=True, blank=True)
    priority_accepted = models.BooleanField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    routed = models.BooleanField(default=False, help_text="Sent straight to the suggested level at intake.")
    created_at = models.DateTimeField(default=timezone.now)

    history = audited_history()

    class Meta:
        indexes = [models.Index(fields=["decision", "created_at"], name="suggestion_decision")]

    def __str__(self) -> str:
        return f"Suggestion for case {self.case_id}"

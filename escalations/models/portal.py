"""What the requester portal keeps: a satisfaction answer per resolution, and the
knowledge articles a requester said solved their problem before they asked (deflection)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history
from escalations.models.case import Case
from escalations.models.limits import text_field
from escalations.models.organisation import Category, Level, Team
from escalations.models.policy import TriggerRule
from escalations.models.records import KnowledgeArticle


class SatisfactionSurvey(models.Model):
    """The requester's answer for one resolution of a case: one per ``(case, resolved_at)``,
    so a reopened and resolved-again case may be rated again. Where the case stood when it
    was resolved (level, team, assignee, category, handoffs) is copied in, so the report
    groups answers without replaying history and a later reopen cannot move old answers."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="surveys")
    resolved_at = models.DateTimeField(help_text="The resolution this answer is about.")
    requester_email = models.EmailField()
    score = models.PositiveSmallIntegerField(help_text="1 (very unhappy) to 5 (very satisfied).")
    comment = text_field(blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=16, default="portal", help_text="portal or e-mail link")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    escalation_count = models.PositiveIntegerField(default=0)
    rule = models.ForeignKey(
        TriggerRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The low-satisfaction rule that fired on this answer, if any.",
    )
    follow_up = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Opened by the rule."
    )

    history = audited_history()

    class Meta:
        ordering = ["-answered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "resolved_at"], name="one_survey_per_resolution"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="survey_score_1_to_5"),
        ]
        indexes = [models.Index(fields=["answered_at"], name="survey_answered_at")]

    def __str__(self) -> str:
        return f"{self.score}/5 on case {self.case_id}"


class Deflection(models.Model):
    """A requester read an article the portal suggested and said it solved their problem,
    so they did not open a request. Closes nothing; counted per category in the reports.
    Operational data: its own row is its record (no history table)."""

    article = models.ForeignKey(KnowledgeArticle, on_delete=models.CASCADE, related_name="deflections")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requester_email = models.EmailField()
    query = models.CharField(max_length=500, blank=True, help_text="What the requester typed.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_at"], name="deflection_created_at")]

    def __str__(self) -> str:
        return f"{self.article} solved it for {self.requester_email}"

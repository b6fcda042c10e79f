"""Canned replies: ready-made text for public updates, per team (or for everyone), kept
by managers in the admin and offered on the case page to the team's members."""

from __future__ import annotations

from django.db import models

from escalations.audit.records import audited_history
from escalations.models.limits import text_field
from escalations.models.organisation import Team

# What a reply's text may name, in braces; anything else in braces is left as typed.
PLACEHOLDERS = {
    "requester_name": "the requester's name",
    "case_ref": "the case reference, e.g. [case #42]",
    "case_title": "the case's title",
    "agent_name": "your own name",
}


class CannedReply(models.Model):
    name = models.CharField(max_length=120, help_text="What the picker on the case page shows.")
    body = text_field(
        help_text="The text inserted into the public update. May name "
        + ", ".join(f"{{{key}}} ({words})" for key, words in PLACEHOLDERS.items())
        + "."
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text="Offered to this team's members; blank: to everyone.",
    )
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return f"{self.name} ({self.team.name if self.team_id else 'everyone'})"

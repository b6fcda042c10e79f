"""Waits: each time a case waits on the customer, a vendor or another team, with the team
and level that waited, when, for how long, and whether the customer's deadline was near.

A wait on the customer is the SLA pause (``Case.paused_at`` / ``pauses`` stay the clock's
record); a wait on a vendor or another team leaves the clock running. The rows are the
facts behind the "Waiting" report (paused time per team and per reason, pauses near a
breach); they are written by ``workflow.waits`` only, and the case's own history records
each start and end with its user and reason.
"""

from __future__ import annotations

from django.db import models

from escalations.models.choices import WaitKind
from escalations.models.limits import text_field


class CaseWait(models.Model):
    case = models.ForeignKey("escalations.Case", on_delete=models.CASCADE, related_name="waits")
    kind = models.CharField(max_length=16, choices=WaitKind.choices)
    reason = text_field(500, blank=True)
    level = models.ForeignKey("escalations.Level", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("escalations.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    stops_sla = models.BooleanField(help_text="A wait on the customer pauses the SLA clock; the others do not.")
    near_breach = models.BooleanField(
        default=False,
        help_text="Started with at most a quarter of the resolution target left, or after it was breached.",
    )

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [
            models.Index(fields=["started_at"], name="wait_started"),
            models.Index(fields=["case"], condition=models.Q(ended_at__isnull=True), name="wait_open"),
        ]

    def __str__(self) -> str:
        return f"Case {self.case_id} waits on {self.get_kind_display().lower()} from {self.started_at:%Y-%m-%d %H:%M}"

"""The data range of each imported event log, written by the importer.

Reports on an imported source measure still-open cases to the end of that log's data (not
to today, which would grow their figures every day), and a source-filtered report opens on
the log's own dates. One row per source, so reading it costs nothing at any case count."""

from __future__ import annotations

from django.db import models

# Every imported handoff's reason (and history row's) starts with this: the reports tell a
# handoff raised in this desk from one replayed from a log, whose acting person is now set.
IMPORTED_REASON = "Imported from "


class ImportedSource(models.Model):
    source = models.CharField(max_length=16, unique=True)
    first_at = models.DateTimeField(help_text="The earliest moment in the imported log.")
    last_at = models.DateTimeField(help_text="The latest moment in the imported log: its data ends here.")
    cases = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source}: {self.first_at:%Y-%m-%d} – {self.last_at:%Y-%m-%d}"

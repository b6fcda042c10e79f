"""Computed report tables kept for the rest of the day (the staffing forecast).

A forecast reads a year of arrivals and two months of case history and backtests its
methods on every day of it: seconds at a million cases, for figures that change once a
day (its history ends with yesterday). One row per filter set and day; a new day, an import
(``ImportedSource.imported_at``) or a seed command gives a new key, and old rows are
removed by the hourly warming task."""

from __future__ import annotations

from django.db import models


class ReportCache(models.Model):
    key = models.CharField(max_length=64, primary_key=True, help_text="SHA-256 of the report, filters, day and data.")
    report = models.CharField(max_length=40)
    day = models.DateField(help_text="The local day the tables were computed for.")
    tables = models.BinaryField(help_text="The report's tables, pickled (written only by this desk).")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="reportcache_day")]

    def __str__(self) -> str:
        return f"{self.report} for {self.day}"

"""Business calendars as data; ``escalations.sla.BusinessCalendar`` does the arithmetic."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models

from escalations.audit.records import audited_history

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"'{value}' is not an IANA time zone name (e.g. Europe/Berlin).") from None


class BusinessCalendar(models.Model):
    name = models.CharField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code to load holidays for (e.g. DE)."
    )
    holiday_subdivision = models.CharField(max_length=8, blank=True, help_text="e.g. BY")

    history = audited_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_spec(self) -> dict:
        """A plain, JSON-safe description; frozen into each case's policy snapshot."""
        weekly: dict[str, list[list[str]]] = {}
        for r in self.ranges.all():
            weekly.setdefault(str(r.weekday), []).append(
                [r.start.strftime("%H:%M"), "24:00" if r.ends_at_midnight else r.end.strftime("%H:%M")]
            )
        return {
            "name": self.name,
            "timezone": self.timezone,
            "weekly_hours": weekly,
            "holidays": sorted(h.date.isoformat() for h in self.holidays.all()),
        }


class WorkingRange(models.Model):
    """One local wall-clock range on a weekday; an end of 00:00 with the flag means 24:00."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="ranges")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start = models.TimeField()
    end = models.TimeField(help_text="Use 00:00 with 'ends at midnight' for 24:00.")
    ends_at_midnight = models.BooleanField(default=False)

    history = audited_history()

    class Meta:
        ordering = ["weekday", "start"]

    def __str__(self) -> str:
        end = "24:00" if self.ends_at_midnight else self.end.strftime("%H:%M")
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{end}"

    def end_minutes(self) -> int:
        return 24 * 60 if self.ends_at_midnight else self.end.hour * 60 + self.end.minute

    def start_minutes(self) -> int:
        return self.start.hour * 60 + self.start.minute

    def clean(self) -> None:
        if self.start is None or self.end is None:
            return
        if self.ends_at_midnight and (self.end.hour, self.end.minute) != (0, 0):
            raise ValidationError({"end": "A range that ends at midnight has 00:00 as its end."})
        if self.end_minutes() <= self.start_minutes():
            raise ValidationError(
                {"end": f"The range must end after it starts ({self}); for 24:00 tick 'ends at midnight'."}
            )


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="one_holiday_per_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()

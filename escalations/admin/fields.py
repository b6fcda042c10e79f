"""Form fields the desk's forms share: a duration typed and shown as "15 min", "4 h", "2 d"
(never "1 day, 4:00:00"), with bounds and an explanation instead of a 500."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from escalations.core.durations import MAX, format_duration, parse_duration


class DurationInput(forms.TextInput):
    def format_value(self, value):
        if isinstance(value, timedelta):
            return format_duration(value)
        return super().format_value(value)


class DurationText(forms.Field):
    widget = DurationInput

    def __init__(self, *, min_value: timedelta | None = None, max_value: timedelta = MAX, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        kwargs.setdefault("help_text", "Like 15 min, 4 h, 2 d or 1 d 4 h (a bare number is minutes).")
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, timedelta) or value in self.empty_values:
            return value if isinstance(value, timedelta) else None
        try:
            result = parse_duration(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc
        if self.min_value is not None and result < self.min_value:
            raise ValidationError(f"It must be at least {format_duration(self.min_value)}.", code="min_value")
        if result > self.max_value:
            raise ValidationError(f"It can be at most {format_duration(self.max_value)}.", code="max_value")
        return result


def duration_overrides(min_value: timedelta | None = timedelta(minutes=1), max_value: timedelta = MAX) -> dict:
    """``formfield_overrides`` for admin classes: every DurationField as text."""
    return {models.DurationField: {"form_class": DurationText, "min_value": min_value, "max_value": max_value}}

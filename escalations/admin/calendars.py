"""Business calendars: weekly working ranges, holidays, and loading public holidays."""

from __future__ import annotations

from collections import defaultdict

import holidays
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalations.admin.base import HistoryAdmin, ScopedChoicesMixin
from escalations.models import BusinessCalendar, Holiday, WorkingRange
from escalations.workflow.calendars import calendar_load_holidays


class WorkingRangeForm(forms.ModelForm):
    class Meta:
        model = WorkingRange
        fields = ["weekday", "start", "end", "ends_at_midnight"]

    def clean(self):
        data = super().clean()
        end = data.get("end")
        if data.get("ends_at_midnight") and end is not None and (end.hour or end.minute or end.second):
            self.add_error("end", "With 'ends at midnight' the end must be 00:00 (it means 24:00).")
        return data


class WorkingRangeFormSet(forms.BaseInlineFormSet):
    """Ranges on one weekday must not overlap; touching (12:00-12:00) is fine."""

    def clean(self):
        super().clean()
        by_day: dict[int, list[WorkingRange]] = defaultdict(list)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            if any(data.get(f) is None for f in ("weekday", "start", "end")):
                continue
            by_day[data["weekday"]].append(
                WorkingRange(
                    weekday=data["weekday"],
                    start=data["start"],
                    end=data["end"],
                    ends_at_midnight=bool(data.get("ends_at_midnight")),
                )
            )
        problems = []
        for ranges in by_day.values():
            ranges.sort(key=lambda r: (r.start_minutes(), r.end_minutes()))
            for prev, cur in zip(ranges, ranges[1:]):
                if cur.start_minutes() < prev.end_minutes():
                    problems.append(
                        f"{prev} overlaps {cur}: ranges on the same weekday must not overlap; "
                        "merge them into one range or move one."
                    )
        if problems:
            raise ValidationError(problems)


class WorkingRangeInline(ScopedChoicesMixin, admin.TabularInline):
    model = WorkingRange
    form = WorkingRangeForm
    formset = WorkingRangeFormSet
    extra = 0


class HolidayInline(ScopedChoicesMixin, admin.TabularInline):
    model = Holiday
    extra = 0


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "timezone", "holiday_country", "holiday_subdivision"]

    def clean(self):
        data = super().clean()
        country = (data.get("holiday_country") or "").strip().upper()
        subdivision = (data.get("holiday_subdivision") or "").strip().upper()
        data["holiday_country"], data["holiday_subdivision"] = country, subdivision
        if subdivision and not country:
            self.add_error("holiday_subdivision", "A subdivision needs a country.")
        elif country:
            try:
                holidays.country_holidays(country, subdiv=subdivision or None, years=[])
            except NotImplementedError:
                supported = holidays.list_supported_countries()
                if country not in supported:
                    self.add_error(
                        "holiday_country",
                        f"'{country}' is not a country the holidays package knows; "
                        "use an ISO 3166 code such as DE, FR or US.",
                    )
                else:
                    listed = ", ".join(supported[country]) or "none"
                    self.add_error(
                        "holiday_subdivision", f"{country} has no subdivision '{subdivision}'; known: {listed}."
                    )
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(HistoryAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "timezone", "holiday_country", "holiday_subdivision"]
    search_fields = ["name"]
    inlines = [WorkingRangeInline, HolidayInline]
    actions = ["load_public_holidays"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "timezone", "holiday_country", "holiday_subdivision"],
                "description": "Running cases keep the calendar frozen into them when they were opened; "
                "changes here apply to cases opened from now on.",
            },
        ),
    ]

    @admin.action(description="Load public holidays for this year and next", permissions=["change"])
    def load_public_holidays(self, request, queryset):
        year = timezone.localdate().year
        for calendar in queryset:
            if not calendar.holiday_country:
                self.message_user(request, f"{calendar}: set a holiday country first.", messages.WARNING)
                continue
            try:
                created = calendar_load_holidays(calendar=calendar, years=[year, year + 1], actor=request.user)
            except NotImplementedError as exc:
                self.message_user(request, f"{calendar}: cannot load holidays ({exc}).", messages.ERROR)
                continue
            region = "-".join(filter(None, [calendar.holiday_country, calendar.holiday_subdivision]))
            self.message_user(
                request,
                f"{calendar}: {created} holiday(s) added for {year} and {year + 1} ({region}).",
                messages.SUCCESS,
            )

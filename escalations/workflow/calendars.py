"""Loading public holidays into a business calendar from the ``holidays`` package."""

from __future__ import annotations

import holidays
from django.db import transaction

from escalations.models import BusinessCalendar, Holiday
from escalations.workflow.actors import Actor
from escalations.workflow.base import save


def calendar_load_holidays(*, calendar: BusinessCalendar, years: list[int], actor: Actor) -> int:
    """Create the public holidays of the calendar's country and subdivision for ``years``;
    returns how many were new. Idempotent: one row per calendar and date (rows already
    there, even renamed ones, stay). Raises ``NotImplementedError`` for an unknown region."""
    found = holidays.country_holidays(
        calendar.holiday_country.upper(), subdiv=calendar.holiday_subdivision.upper() or None, years=years
    )
    existing = set(calendar.holidays.values_list("date", flat=True))
    created = 0
    with transaction.atomic():
        for day, name in sorted(found.items()):
            if day in existing:
                continue
            row = Holiday(calendar=calendar, date=day, name=name[:120])
            save(row, actor, "Loaded from the holidays package")
            created += 1
    return created

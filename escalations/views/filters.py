"""Template filters on every page (registered as builtins in settings): durations as
"4 h", money with its currency, and times to the second in the viewer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from escalations.core import money as _money
from escalations.core.durations import format_duration

register = template.Library()


@register.filter
def duration(value) -> str:
    """A timedelta (or a number of minutes) as '15 min', '4 h', '2 d'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(minutes=value)
    return format_duration(value) if isinstance(value, timedelta) else ("" if value is None else str(value))


@register.filter
def money(value, currency: str = "") -> str:
    """'EUR 1,250.00'; blank for None (``core.money``)."""
    return _money.money(value, currency)


@register.filter
def seconds(value) -> str:
    """A moment to the second in the viewer's (current) time zone, with the zone's name."""
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()

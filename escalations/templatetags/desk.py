"""Template filters for the desk's pages (``{% load desk %}``).

``money`` shows an amount with its currency and thousands separators, the same way on
every page and in the admin ("EUR 12,500.00"), whatever the locale settings say.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite():
        return str(value)
    code = currency or getattr(settings, "APPROVAL_CURRENCY", "EUR")
    return f"{code} {amount:,.2f}"

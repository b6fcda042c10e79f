"""Template filters for the desk's pages (``{% load desk %}``).

``money`` shows an amount with its currency and thousands separators, the same way on
every page and in the admin ("EUR 12,500.00"), whatever the locale settings say.
"""

from __future__ import annotations

from django import template

from escalations.core import money as _money

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    return _money.money(value, currency)

"""Money as the desk shows it everywhere: the currency code, then the amount with
thousands separators and two decimals ("EUR 1,250.00"), whatever the locale says.

One currency for the desk: ``APPROVAL_CURRENCY`` (default EUR; ``DESK_CURRENCY`` is read
as its older name). Each approval request stores the code it was made in and shows it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings


def currency() -> str:
    return str(getattr(settings, "APPROVAL_CURRENCY", "EUR") or "EUR")[:3].upper()


def money(value, code: str = "") -> str:
    """``value`` (a Decimal, number or numeric text) with ``code`` or the desk's currency;
    blank for None or ""; anything that is not a finite number is shown as it is."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite():
        return str(value)
    return f"{code or currency()} {amount:,.2f}"

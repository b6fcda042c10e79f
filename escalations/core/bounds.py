"""Bounds on what a request may ask for, shared by every form that reads GET parameters.

Python's dates run from year 1 to 9999, PostgreSQL's timestamps do not (and a day added
to 9999-12-31 overflows), so a date a user types is accepted only between ``EARLIEST``
and ``LATEST``: wide enough for every imported log (2012, 2016) and the desk's future.
Text is refused when it holds a NUL (PostgreSQL cannot store or compare one).
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)
MAX_ID = 2**62  # below bigint's limit, with room for arithmetic


class BoundedDateField(forms.DateField):
    """A date between ``EARLIEST`` and ``LATEST``, with a message that says so."""

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not (EARLIEST <= day <= LATEST):
            raise forms.ValidationError(f"Enter a date between {EARLIEST} and {LATEST}.", code="out_of_range")
        return day


def no_nul(value: str) -> None:
    ProhibitNullCharactersValidator()(value)

"""The one CSV writer for every export (report tables, the audit log, bad-row lists).

A spreadsheet opening a CSV runs any cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (and a leading tab or carriage return lets one slip past naive checks), so
text written by users (a case title, a review's root cause, a note's reason) could run
``=HYPERLINK(...)`` or worse on a manager's machine. Every text cell that starts with one
of those characters gets a leading apostrophe, which spreadsheets show as text and which
a reader can strip. Numbers stay numbers: a negative figure is data, not a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """A value as it may be written to a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` with every cell passed through ``safe_cell``."""

    def __init__(self, stream, **kwargs):
        kwargs.setdefault("lineterminator", "\n")
        self._writer = csv.writer(stream, **kwargs)
        # Python's writer quotes only the line terminator's characters, so a bare CR in a
        # cell would end the row for a reader: rows holding one are written fully quoted.
        self._quoting = csv.writer(stream, **{**kwargs, "quoting": csv.QUOTE_NONNUMERIC})

    def writerow(self, row: Iterable) -> None:
        cells = [safe_cell(v) for v in row]
        if any(isinstance(c, str) and ("\r" in c or "\n" in c) for c in cells):
            self._quoting.writerow(cells)
        else:
            self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream, **kwargs) -> SafeWriter:
    return SafeWriter(stream, **kwargs)


def to_csv(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A whole CSV document as text."""
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()

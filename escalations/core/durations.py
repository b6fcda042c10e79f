"""Durations as people write them: "15 min", "4 h", "2 d" (and "1 d 4 h"). Pure: the admin's
duration field, the template filter and the rule form all read and write this one format."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"d": 86400, "h": 3600, "min": 60, "s": 1}
ALIASES = {
    "d": "d", "day": "d", "days": "d",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "m": "min", "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
}  # fmt: skip
PART = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z]+)\s*")
MAX = timedelta(days=3650)  # ten years: any longer target or interval is a typo


def format_duration(value: timedelta | None) -> str:
    """'15 min', '4 h', '2 d', '1 d 4 h 30 min'; '' for None; seconds only when there are any."""
    if value is None:
        return ""
    total = int(round(value.total_seconds()))
    if total == 0:
        return "0 min"
    sign, total = ("-", -total) if total < 0 else ("", total)
    parts = []
    for unit, size in UNITS.items():
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return sign + " ".join(parts)


def parse_duration(text: str) -> timedelta:
    """Read '15 min', '4 h', '2 d', '1 d 4 h', '90' (minutes) or '1:30' (h:mm).
    Raises ValueError with a sentence saying what is accepted."""
    raw = (text or "").strip().lower()
    if not raw:
        raise ValueError("Enter a duration such as 15 min, 4 h or 2 d.")
    if re.fullmatch(r"\d{1,6}", raw):
        result = timedelta(minutes=int(raw))
    elif m := re.fullmatch(r"(\d{1,5}):([0-5]\d)(?::([0-5]\d))?", raw):
        result = timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3] or 0))
    else:
        result, pos = timedelta(), 0
        while pos < len(raw):
            m = PART.match(raw, pos)
            unit = ALIASES.get(m[2]) if m else None
            if not m or unit is None:
                raise ValueError(f"'{text}' is not a duration; write it like 15 min, 4 h, 2 d or 1 d 4 h.")
            amount = float(m[1].replace(",", "."))
            if amount > MAX.total_seconds():
                raise ValueError(f"'{text}' is longer than {format_duration(MAX)}.")
            result += timedelta(seconds=amount * UNITS[unit])
            pos = m.end()
    if result > MAX:
        raise ValueError(f"'{text}' is longer than {format_duration(MAX)}; that is surely a typo.")
    return result

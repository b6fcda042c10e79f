"""Business-hours arithmetic for SLA deadlines (pure Python, no Django, no DB).

A :class:`BusinessCalendar` answers two questions, the way OTRS/Znuny and Zammad
do: "when is this due if it may take ``duration`` of business time?" (:meth:`add`)
and "how much business time passed between two instants?" (:meth:`elapsed`).

Model
-----
* Working ranges are local wall-clock times in the calendar's zone, but business
  time is *real* elapsed time: a range spanning a DST change is an hour shorter or
  longer that day (Berlin 00:00-24:00 on the spring-forward Sunday is 23 hours).
* A range edge is mapped to the earliest instant whose local wall clock reads at
  least that time.  Hence an edge inside a spring-forward gap maps to the
  transition instant (the first instant after the gap), and an ambiguous
  fall-back edge maps to its first occurrence (``fold=0``).  A range lying wholly
  in a gap vanishes; 02:00-03:00 on a Berlin fall-back day lasts two real hours.
* Intervals are half-open ``[open, close)``.  A deadline that consumes exactly the
  rest of a range is that range's close (18:00 stays 18:00).
* Holidays remove whole local days.  ``exclude`` intervals (pauses) never count;
  an end of ``None`` means "still open".  If the deadline would fall inside or
  after such an open-ended pause there is no deadline and :meth:`add` returns
  ``None``.
* Results are aware datetimes in UTC, so they compare and subtract correctly as
  instants.  (In the calendar's zone a result in a repeated hour would carry
  ``fold=1``, which PEP 495 makes unequal to every datetime of another tzinfo.)

Why it is fast
--------------
Per local calendar year we lazily build, once, sorted working intervals as UTC
epoch *microseconds* plus a running total of business microseconds.  ``add`` and
``elapsed`` are then two bisects and some integer arithmetic; the only tz work
per call is converting the input and the result.  Integers keep every result
exact (``elapsed(s, add(s, d)) == d`` to the microsecond).  Year tables are
immutable tuples stored in a dict, so sharing a calendar between threads is
safe (two threads may build the same year; the last write wins, both equal).
Supported instants: years 2..9998.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["BusinessCalendar"]

_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_AVG_YEAR_US = 31_556_952_000_000  # mean Gregorian year; only a first guess
_MIN_YEAR, _MAX_YEAR = 2, 9998
_MAX_INSTANT = (datetime(_MAX_YEAR, 12, 31, tzinfo=UTC) - _EPOCH) // _US
_INF = float("inf")
_ZERO = timedelta(0)
_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")

RangeSpec = tuple["str | time", "str | time"]
# A year table: (lo, hi, starts, ends, cum_at_end, total, year).  lo/hi are the
# instants of local midnight on Jan 1 of `year` and `year + 1`.
_Table = tuple[int, int, list[int], list[int], list[int], int, int]


def _to_us(dt: datetime, what: str = "datetime") -> int:
    """Aware datetime -> integer UTC epoch microseconds (exact, any zone)."""
    try:
        return (dt - _EPOCH) // _US
    except TypeError:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {dt!r}") from None


def _parse_time(value: str | time, *, is_end: bool, where: str) -> int:
    """'HH:MM[:SS]' or datetime.time -> microseconds after local midnight."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"{where}: times must be naive wall-clock times, got {value!r}")
        us = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    elif isinstance(value, str) and (m := _HHMM.fullmatch(value.strip())):
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        if mi > 59 or s > 59 or h > 24 or (h == 24 and (mi or s or not is_end)):
            raise ValueError(f"{where}: invalid time {value!r} ('24:00' is allowed only as an end)")
        us = (h * 3600 + mi * 60 + s) * 1_000_000
    else:
        raise ValueError(f"{where}: expected 'HH:MM' or datetime.time, got {value!r}")
    if is_end and us == 0:
        raise ValueError(f"{where}: a range cannot end at 00:00; use '24:00' for end of day")
    return us


class BusinessCalendar:
    """Weekly working hours + holidays in one IANA time zone.  See module docs."""

    def __init__(
        self,
        timezone: str | tzinfo,
        weekly_hours: Mapping[int, Sequence[RangeSpec]],
        holidays: Iterable[date | str] = (),
    ) -> None:
        self.tz: tzinfo = self._parse_zone(timezone)
        if not isinstance(weekly_hours, Mapping):
            raise ValueError("weekly_hours must be a mapping {weekday 0=Mon..6=Sun: [(start, end), ...]}")
        week: list[tuple[tuple[int, int], ...]] = [()] * 7
        for day, ranges in weekly_hours.items():
            if type(day) is not int or not 0 <= day <= 6:
                raise ValueError(f"weekly_hours: bad weekday key {day!r}; use ints 0 (Monday) .. 6 (Sunday)")
            week[day] = self._parse_ranges(day, ranges)
        if not any(week):
            raise ValueError("calendar has no working time at all (every weekday is empty)")
        self._week = tuple(week)
        self._week_us = sum(e - s for ranges in week for s, e in ranges)  # nominal, per week
        self._far_amount = 100 * self._week_us  # beyond ~2 years: check the range first
        self._holidays = frozenset(self._parse_holiday(h) for h in holidays)
        self._tables: dict[int, _Table] = {}

    @classmethod
    def always(cls, timezone: str | tzinfo = "UTC") -> BusinessCalendar:
        """A 24x7 calendar: every day 00:00-24:00, no holidays."""
        return cls(timezone, {d: [("00:00", "24:00")] for d in range(7)})

    # ----------------------------------------------------------- validation
    @staticmethod
    def _parse_zone(value: str | tzinfo) -> tzinfo:
        if isinstance(value, tzinfo):
            return value
        try:
            return ZoneInfo(value)
        except Exception:  # ZoneInfoNotFoundError, ValueError, TypeError, ...
            raise ValueError(f"unknown time zone {value!r}; expected an IANA name such as 'Europe/Berlin'") from None

    @staticmethod
    def _parse_ranges(day: int, ranges: Sequence[RangeSpec]) -> tuple[tuple[int, int], ...]:
        if ranges is None:
            ranges = ()
        if isinstance(ranges, (str, bytes)) or not isinstance(ranges, Iterable):
            raise ValueError(f"weekly_hours[{day}]: expected a list of (start, end) pairs, got {ranges!r}")
        parsed = []
        for item in ranges:
            where = f"weekly_hours[{day}] range {item!r}"
            if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
                raise ValueError(f"{where}: expected a (start, end) pair")
            start = _parse_time(item[0], is_end=False, where=where)
            end = _parse_time(item[1], is_end=True, where=where)
            if end <= start:
                raise ValueError(f"{where}: end must be after start (reversed or empty range)")
            parsed.append((start, end))
        parsed.sort()
        merged: list[tuple[int, int]] = []
        for start, end in parsed:
            if merged and start < merged[-1][1]:
                raise ValueError(f"weekly_hours[{day}]: overlapping ranges")
            if merged and start == merged[-1][1]:  # adjacent 08-12 + 12-18 -> 08-18
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return tuple(merged)

    @staticmethod
    def _parse_holiday(value: date | str) -> date:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"holidays: invalid date {value!r}") from None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"holidays: expected datetime.date values, got {value!r}")
        return value

    # --------------------------------------------------------- year tables
    def _wall_to_us(self, wall: datetime) -> int:
        """Instant (epoch us) of a local wall time: first occurrence, or gap end."""
        off0 = wall.replace(tzinfo=self.tz).utcoffset()
        off1 = wall.replace(tzinfo=self.tz, fold=1).utcoffset()
        assert off0 is not None and off1 is not None
        late = (wall - off0 - _EPOCH_NAIVE) // _US
        if off0 >= off1:  # unambiguous, or a fall-back fold: fold=0 is the first occurrence
            return late
        # Spring-forward gap: PEP 495 maps fold=0 past the transition and fold=1
        # before it; bisect for the transition itself (first post-gap instant).
        early = (wall - off1 - _EPOCH_NAIVE) // _US
        while late - early > 1:
            mid = (early + late) // 2
            if (_EPOCH + timedelta(microseconds=mid)).astimezone(self.tz).utcoffset() == off1:
                late = mid
            else:
                early = mid
        return late

    def _table(self, year: int) -> _Table:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Table:
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise ValueError(f"date outside the supported range (years {_MIN_YEAR}..{_MAX_YEAR})")
        day, stop = date(year, 1, 1), date(year + 1, 1, 1)
        starts: list[int] = []
        ends: list[int] = []
        cums: list[int] = []
        cum = 0
        while day < stop:
            ranges = self._week[day.weekday()]
            if ranges and day not in self._holidays:
                midnight = datetime(day.year, day.month, day.day)
                for a, b in ranges:
                    s = self._wall_to_us(midnight + timedelta(microseconds=a))
                    e = self._wall_to_us(midnight + timedelta(microseconds=b))
                    if e <= s:  # range lies wholly in a DST gap
                        continue
                    if ends and s <= ends[-1]:  # touches the previous one (e.g. 24x7)
                        e = max(e, ends[-1])
                        cum += e - ends[-1]
                        ends[-1], cums[-1] = e, cum
                    else:
                        cum += e - s
                        starts.append(s)
                        ends.append(e)
                        cums.append(cum)
            day += timedelta(days=1)
        lo = self._wall_to_us(datetime(year, 1, 1))
        hi = self._wall_to_us(datetime(year + 1, 1, 1))
        return (lo, hi, starts, ends, cums, cum, year)

    def _table_at(self, t: int) -> _Table:
        """The year table whose [lo, hi) contains instant t."""
        table = self._table(1970 + t // _AVG_YEAR_US)
        while t < table[0]:
            table = self._table(table[6] - 1)
        while t >= table[1]:
            table = self._table(table[6] + 1)
        return table

    @staticmethod
    def _cum(table: _Table, t: int) -> int:
        """Business microseconds from the table's start up to instant t."""
        _, _, starts, ends, cums, _, _ = table
        i = bisect_right(starts, t) - 1
        if i < 0:
            return 0
        return cums[i] - (ends[i] - t) if t < ends[i] else cums[i]

    def _business(self, a: int, b: int) -> int:
        """Business microseconds in [a, b) (a <= b)."""
        table = self._table_at(a)
        result = -self._cum(table, a)
        while b > table[1]:
            result += table[5]
            table = self._table(table[6] + 1)
        return result + self._cum(table, b)

    def _advance(self, t: int, amount: int) -> int:
        """Earliest instant by which `amount` (> 0) business us have passed since t.

        This is the hot path of `add`, hence the inlined table lookup and `_cum`.
        """
        table = self._tables.get(1970 + t // _AVG_YEAR_US)
        if table is None or not table[0] <= t < table[1]:
            table = self._table_at(t)
        _, _, starts, ends, cums, total, year = table
        i = bisect_right(starts, t) - 1
        value = amount if i < 0 else amount + cums[i] - max(ends[i] - t, 0)
        if value > total:
            if amount > self._far_amount:  # fail fast instead of walking millennia
                weeks = amount // (self._week_us + 3 * 3_600_000_000)  # +3h/week DST slack
                if t + weeks * 7 * _DAY_US >= _MAX_INSTANT:
                    raise ValueError(f"deadline lies beyond the supported range (year {_MAX_YEAR})")
            while value > total:
                value -= total
                _, _, starts, ends, cums, total, year = self._table(year + 1)
        j = bisect_left(cums, value)  # first range whose running total reaches value
        return ends[j] - (cums[j] - value)

    def _from_us(self, t: int) -> datetime:
        """Results are in UTC: a datetime in the calendar's zone would carry ``fold=1`` in a
        repeated hour, which PEP 495 makes unequal to every datetime of another zone."""
        seconds, micro = divmod(t, 1_000_000)
        result = datetime.fromtimestamp(seconds, UTC)  # int seconds: exact
        return result.replace(microsecond=micro) if micro else result

    def _pauses(self, exclude: Iterable[tuple[datetime, datetime | None]]) -> list[tuple[int, float]]:
        """Validate, sort and merge pause intervals (end None -> +inf)."""
        spans: list[tuple[int, float]] = []
        for item in exclude:
            try:
                a, b = item
            except (TypeError, ValueError):
                raise ValueError(f"exclude: expected (start, end) pairs, got {item!r}") from None
            start = _to_us(a, "exclude start")
            end = _INF if b is None else _to_us(b, "exclude end")
            if end < start:
                raise ValueError(f"exclude: interval ends before it starts: {item!r}")
            if end > start:
                spans.append((start, end))
        spans.sort()
        merged: list[tuple[int, float]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    # ----------------------------------------------------------- public API
    def add(
        self,
        start: datetime,
        duration: timedelta,
        exclude: Iterable[tuple[datetime, datetime | None]] | None = None,
    ) -> datetime | None:
        """Deadline after `duration` of business time from `start`, skipping pauses.

        Returns an aware datetime in the calendar's zone, or None when an
        open-ended pause (end None) begins before the deadline is reached.
        """
        if not isinstance(duration, timedelta):
            raise ValueError(f"duration must be a timedelta, got {duration!r}")
        amount = duration // _US
        if amount <= 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        try:
            t = (start - _EPOCH) // _US  # inlined _to_us (hot path)
        except TypeError:
            raise ValueError(f"start must be a timezone-aware datetime, got {start!r}") from None
        if exclude:
            # Walk the merged pauses in order: spend business time up to each
            # pause start, then jump to its end.  Checking the unpaused deadline
            # first keeps far-away pauses from forcing a long walk.
            for a, b in self._pauses(exclude):
                if b <= t:
                    continue
                if a > t:
                    deadline = self._advance(t, amount)
                    if deadline <= a:
                        return self._from_us(deadline)
                    amount -= self._business(t, a)  # > 0 because deadline > a
                if b == _INF:
                    return None
                t = int(b)
        return self._from_us(self._advance(t, amount))

    def elapsed(
        self,
        start: datetime,
        end: datetime,
        exclude: Iterable[tuple[datetime, datetime | None]] | None = None,
    ) -> timedelta:
        """Business time in [start, end) minus pauses; zero if end <= start."""
        s, e = _to_us(start, "start"), _to_us(end, "end")
        if e <= s:
            if exclude:
                self._pauses(exclude)  # still validate
            return _ZERO
        total = self._business(s, e)
        if exclude:
            for a, b in self._pauses(exclude):
                a, b = max(a, s), min(b, e)
                if a < b:
                    total -= self._business(a, int(b))
        return timedelta(microseconds=total)

    def is_working(self, dt: datetime) -> bool:
        """True if `dt` lies inside a working range (ranges are half-open)."""
        t = _to_us(dt)
        table = self._table_at(t)
        i = bisect_right(table[2], t) - 1
        return i >= 0 and t < table[3][i]

    def next_opening(self, dt: datetime) -> datetime:
        """`dt` itself (in the calendar's zone) if working, else the next range start."""
        t = _to_us(dt)
        table = self._table_at(t)
        i = bisect_right(table[2], t)
        if i and t < table[3][i - 1]:
            return self._from_us(t)
        while i >= len(table[2]):
            table, i = self._table(table[6] + 1), 0
        return self._from_us(table[2][i])

    def __repr__(self) -> str:
        return (
            f"<BusinessCalendar {self.tz} days={[d for d in range(7) if self._week[d]]} holidays={len(self._holidays)}>"
        )

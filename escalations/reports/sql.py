"""The few SQL pieces the ORM lacks: seconds between two moments, and histogram buckets
from which medians are read. Each has a PostgreSQL and a SQLite (laptop demo) form."""
from __future__ import annotations

from django.db.models import F, FloatField, Func


class Seconds(Func):
    """``end - start`` in seconds (float); NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(F(end) if isinstance(end, str) else end, F(start) if isinstance(start, str) else start,
                         **extra)

    def as_postgresql(self, compiler, connection, **extra):
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, slower to sum.
        return self.as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)",
                           arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="", arg_joiner=") - julianday(",
                           template="((julianday(%(expressions)s)) * 86400.0)", **extra)


# -- medians from histograms ------------------------------------------------------------------
#
# An exact median sorts every value (``percentile_cont``) in one process; over a million
# cases that alone takes longer than a whole report may. A histogram is a hash aggregate
# that runs in parallel: values go into buckets (a minute wide below a day, ten minutes
# below a week, an hour beyond), each bucket keeps its count and sum, and the median is the
# mean of the bucket holding the middle value: exact when that bucket holds one distinct
# value, and otherwise off by less than the bucket's width.

class Bucket(Func):
    """The histogram bucket of a number of seconds (NULL stays NULL); ordered like the values."""

    output_field = FloatField()

    def _template(self, floor) -> str:
        s = "%(expressions)s"
        return (f"CASE WHEN {s} < 86400 THEN {floor(f'{s} / 60')} WHEN {s} < 604800 THEN 100000 + "
                f"{floor(f'{s} / 600')} ELSE 200000 + {floor(f'{s} / 3600')} END")

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=self._template(lambda x: f"floor({x})"), **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=self._template(lambda x: f"CAST({x} AS INTEGER)"),
                           **extra)


class Figures:
    """Count, sum, mean and median of one measure, from its histogram rows."""

    def __init__(self):
        self.buckets: list[tuple] = []

    def add(self, bucket, n: int, total) -> None:
        if bucket is not None and n:
            self.buckets.append((bucket, n, float(total)))

    @property
    def n(self) -> int:
        return sum(n for _b, n, _t in self.buckets)

    @property
    def mean(self) -> float | None:
        return sum(t for _b, _n, t in self.buckets) / self.n if self.n else None

    @property
    def median(self) -> float | None:
        """The mean of the bucket(s) holding the middle rank(s)."""
        buckets = sorted(self.buckets)
        total = self.n
        if not total:
            return None
        wanted = sorted({(total - 1) // 2, total // 2})
        found, seen = [], 0
        for _b, n, s in buckets:
            while wanted and wanted[0] < seen + n:
                found.append(s / n)
                wanted.pop(0)
            seen += n
        return sum(found) / len(found)

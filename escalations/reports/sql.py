"""The few SQL pieces the ORM lacks: seconds between two moments, histogram buckets from
which medians are read, and several histograms filled in one pass over the rows. Each has
a PostgreSQL and a SQLite (laptop demo) form."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, connections
from django.db.models import F, FloatField, Func, QuerySet


class Seconds(Func):
    """``end - start`` in seconds (float); NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(
            F(end) if isinstance(end, str) else end, F(start) if isinstance(start, str) else start, **extra
        )

    def as_postgresql(self, compiler, connection, **extra):
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, slower to sum.
        return self.as_sql(
            compiler, connection, template="date_part('epoch', %(expressions)s)", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            function="",
            arg_joiner=") - julianday(",
            template="((julianday(%(expressions)s)) * 86400.0)",
            **extra,
        )


@contextmanager
def joined_row_by_row():
    """Inside a report's transaction, join by probing an index for each outer row (a nested
    loop), not by hashing the inner table: for a join whose outer side the planner cannot
    count well (the cases of a team that have a handoff: the filter on the count is read from
    the index, its selectivity guessed), so it would hash every handoff of the range (at 1M
    cases 112 to 243 ms, at 10M every one of 4 million rows) instead of probing the few cases
    that have one (61 to 63 ms at 1M)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_hashjoin = off")
        cur.execute("SET LOCAL enable_mergejoin = off")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_hashjoin = on")
            cur.execute("SET LOCAL enable_mergejoin = on")


# -- medians from histograms ------------------------------------------------------------------
#
# An exact median sorts every value (``percentile_cont``) in one process; over a million
# cases that alone takes longer than a whole report may. A histogram is a hash aggregate
# that runs in parallel: values go into buckets (a minute wide below a day, ten minutes
# below a week, an hour beyond), each bucket keeps its count and sum, and the median is the
# mean of the bucket holding the middle value: exact when that bucket holds one distinct
# value, and otherwise off by less than the bucket's width.


def bucket_sql(s: str, vendor: str) -> str:
    """The histogram bucket of the SQL expression ``s`` (seconds); NULL stays NULL."""
    floor = (lambda x: f"floor({x})") if vendor == "postgresql" else (lambda x: f"CAST({x} AS INTEGER)")
    return (
        f"CASE WHEN {s} < 86400 THEN {floor(f'{s} / 60')} WHEN {s} < 604800 THEN 100000 + "
        f"{floor(f'{s} / 600')} ELSE 200000 + {floor(f'{s} / 3600')} END"
    )


class Bucket(Func):
    """The histogram bucket of a number of seconds (NULL stays NULL); ordered like the values."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=bucket_sql("%(expressions)s", connection.vendor), **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=bucket_sql("%(expressions)s", connection.vendor), **extra)


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


def histograms(queryset: QuerySet, keys: list[str], measures: list, totals: list = ()) -> list[list[dict]]:
    """The histogram of each measure per ``keys``, from one pass over ``queryset``'s rows.

    Returns one list of groups per measure, each ``{"key": (values of keys), "b", "n", "s",
    "rows", "totals"}``: its bucket, how many values and their sum, and (to be read from one
    measure's groups only, or they count twice) how many rows and the sums of ``totals``.
    A subquery computes each measure once per row (``OFFSET 0`` keeps PostgreSQL from
    inlining it and computing it again for the bucket and the sum); PostgreSQL then fills
    one hash table per measure in the same pass (``GROUPING SETS``), the SQLite demo makes
    one grouped pass per measure."""
    connection = connections[queryset.db]
    vendor = connection.vendor
    inner = queryset.values(
        *keys, **{f"m{i}": m for i, m in enumerate(measures)}, **{f"t{j}": t for j, t in enumerate(totals)}
    )
    sql, params = inner.query.sql_with_params()
    ks = [f"k{i}" for i in range(len(keys))]
    ms = [f"m{i}" for i in range(len(measures))]
    ts = [f"t{j}" for j in range(len(totals))]
    # A group's bucket is NULL exactly when its measure is, so COUNT(*) counts its values too.
    aggs = ", ".join([f"SUM({m})" for m in ms] + ["COUNT(*)"] + [f"SUM({t})" for t in ts])
    mid = (
        f"SELECT {', '.join(f'{connection.ops.quote_name(k)} AS {a}' for k, a in zip(keys, ks))}, "
        f"{', '.join(ms + ts)}, {', '.join(f'{bucket_sql(m, vendor)} AS b{i}' for i, m in enumerate(ms))}"
    )
    if vendor == "postgresql":
        sets = ", ".join(f"({', '.join(ks)}, b{i})" for i in range(len(ms)))
        query = (
            f"SELECT {', '.join(ks)}, {', '.join(f'b{i}, GROUPING(b{i})' for i in range(len(ms)))}, {aggs} "
            f"FROM ({mid} FROM ({sql} OFFSET 0) AS s) AS t GROUP BY GROUPING SETS ({sets})"
        )
    else:
        query = f"WITH t AS ({mid} FROM ({sql}) AS s) " + " UNION ALL ".join(
            f"SELECT {', '.join(ks)}, {', '.join(f'b{j}, 0' if j == i else 'NULL, 1' for j in range(len(ms)))}, "
            f"{aggs} FROM t GROUP BY {', '.join(ks)}, b{i}"
            for i in range(len(ms))
        )
    out: list[list[dict]] = [[] for _ in ms]
    nk, nm = len(ks), len(ms)
    with connection.cursor() as cur:
        cur.execute(query, params)
        for row in cur.fetchall():
            buckets, grouped, figures = row[nk : nk + 2 * nm : 2], row[nk + 1 : nk + 2 * nm : 2], row[nk + 2 * nm :]
            i = list(grouped).index(0)
            rows = figures[nm]
            out[i].append(
                {
                    "key": row[:nk],
                    "b": buckets[i],
                    "n": rows if buckets[i] is not None else 0,
                    "s": figures[i],
                    "rows": rows,
                    "totals": figures[nm + 1 :],
                }
            )
    return out

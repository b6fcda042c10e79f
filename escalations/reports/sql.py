"""The few SQL pieces the ORM lacks: seconds between two moments and a median.

PostgreSQL computes both natively (``EXTRACT(EPOCH ...)``, ``percentile_cont``). SQLite,
the laptop demo's database, gets the same answers from ``julianday`` and a ``median``
aggregate registered on each new connection.
"""
from __future__ import annotations

import statistics

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, F, FloatField, Func


class Seconds(Func):
    """``end - start`` in seconds (float); NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(F(end) if isinstance(end, str) else end, F(start) if isinstance(start, str) else start,
                         **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))",
                           arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="", arg_joiner=") - julianday(",
                           template="((julianday(%(expressions)s)) * 86400.0)", **extra)


class Median(Aggregate):
    """The 50th percentile (interpolated, as ``percentile_cont(0.5)``)."""

    name = "Median"
    output_field = FloatField()
    allow_distinct = False
    # Set on the class, not passed to as_sql: Aggregate.as_sql wraps ``self.template`` in
    # its FILTER clause and would receive a second ``template`` argument otherwise.
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra):
        clone = self.copy()
        clone.template = "report_median(%(expressions)s)"
        return clone.as_sql(compiler, connection, **extra)


class _SqliteMedian:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


def _register_sqlite_median(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("report_median", 1, _SqliteMedian)


connection_created.connect(_register_sqlite_median, dispatch_uid="reports_sqlite_median")


def ensure_sqlite_median() -> None:
    """Connections opened before this module was imported miss the signal."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite" and conn.connection is not None:
            _register_sqlite_median(None, conn)

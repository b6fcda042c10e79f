"""A ``values()`` query compiled once per process and run again with another value.

Django compiles a queryset to SQL on every evaluation; for a query with joins that is
milliseconds of CPU, more than PostgreSQL takes to answer it from an index. For the hottest
reads (the API's case read), ``Compiled`` builds the queryset once with a stand-in value, keeps
its SQL, and runs that SQL with the real value in the stand-in's place; the rows go through
the same converters (JSON, time zones) and come back as the same dicts ``values()`` gives.
Only the SQL text is kept, never rows: every call reads the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections
from django.db.models import QuerySet

STAND_IN = -2_147_483_000  # a value no key takes (ids are positive), within every integer column's range


class Compiled:
    def __init__(self, build: Callable[[object], QuerySet]):
        """``build(value)``: the ``values()`` queryset for ``value``, which must appear in its
        parameters exactly once (a filter on a key)."""
        self._build = build
        self._ready: tuple | None = None
        self._lock = threading.Lock()

    def _prepare(self) -> tuple:
        qs = self._build(STAND_IN)
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        slots = [i for i, p in enumerate(params) if p == STAND_IN]
        if len(slots) != 1:
            raise ValueError("Compiled: the value must appear exactly once in the query's parameters.")
        converters = compiler.get_converters([s[0] for s in compiler.select])
        names = [*qs.query.extra_select, *qs.query.values_select, *qs.query.annotation_select]
        return qs.db, compiler, sql, list(params), slots[0], converters, names

    def rows(self, value) -> list[dict]:
        if self._ready is None:
            with self._lock:
                if self._ready is None:
                    self._ready = self._prepare()
        db, compiler, sql, params, slot, converters, names = self._ready
        params = [*params[:slot], value, *params[slot + 1 :]]
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        if converters:
            fetched = compiler.apply_converters(fetched, converters)
        return [dict(zip(names, row, strict=True)) for row in fetched]

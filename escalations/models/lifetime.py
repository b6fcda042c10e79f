"""A case's lifetime class: how long it stayed open, in doubling steps. It lets a report find
the cases open at a past moment without reading every case opened before it.

A case was open at a moment M if it was opened before M and not resolved before M. No
single order of the cases finds those: by opening time it means every case opened before M,
by resolution time every case resolved after it. Grouped by lifetime it is a short range per
group: a case of class k (open less than ``BOUNDS[k]`` seconds) open at M was opened after
``M - BOUNDS[k]``, and the cases of that class opened in that window mostly were open at M.
The index ``case_lifetime`` (class, then opening time) reads about twice the cases open at M
whatever M, instead of every case before it. Class -1: not resolved (every such case opened
before M); the last class has no upper bound.
"""

from __future__ import annotations

from django.db.models import F, Func, IntegerField

# 1 h, 2 h, 4 h, ... 2^16 h (7.5 years): seconds. Class k < len: lifetime below BOUNDS[k].
BOUNDS = tuple(3600 * 2**k for k in range(17))
NOT_RESOLVED = -1


class LifetimeClass(Func):
    """-1 while ``resolved_at`` is NULL, else the number of ``BOUNDS`` at or below the
    seconds from ``opened_at`` to ``resolved_at`` (0: under an hour)."""

    output_field = IntegerField()

    def __init__(self, **extra):
        super().__init__(F("resolved_at"), F("opened_at"), **extra)

    def _sql(self, compiler, connection, seconds: str, classes: str):
        (resolved, r_params), (opened, o_params) = (compiler.compile(e) for e in self.source_expressions)
        assert not r_params and not o_params  # two columns: each appears more than once below
        s = seconds.format(resolved=resolved, opened=opened)
        return f"(CASE WHEN {resolved} IS NULL THEN {NOT_RESOLVED} ELSE {classes.format(s=s)} END)", ()

    def as_postgresql(self, compiler, connection, **extra):
        bounds = ", ".join(str(b) for b in BOUNDS)
        return self._sql(
            compiler,
            connection,
            "date_part('epoch', {resolved} - {opened})",
            f"width_bucket({{s}}, ARRAY[{bounds}]::float8[])",
        )

    def as_sql(self, compiler, connection, **extra):  # SQLite (the laptop demo)
        steps = " ".join(f"WHEN {{s}} < {b} THEN {k}" for k, b in enumerate(BOUNDS))
        return self._sql(
            compiler,
            connection,
            "((julianday({resolved}) - julianday({opened})) * 86400.0)",
            f"CASE {steps} ELSE {len(BOUNDS)} END",
        )

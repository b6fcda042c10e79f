"""What the staffing forecast reads: cases and escalations arriving at each level per day, and
the hours each level spent working cases. Grouped in the database; a few hundred groups come
back, never a row per case.

- A new case arrives at the level it entered the ladder at: the origin of its first handoff,
  or (never handed off) the level holding it.
- An escalation (or skip-level jump) arrives at its receiving level when raised, returned
  or not: the receiving level looked at it either way.
- Time worked at a level: the time cases spent *in progress* there (taken on, not waiting on
  the customer, not queued for acceptance), read from the case history: each history row
  lasts until the case's next one. Only rows from ``LOOKBACK`` before the window on are read,
  so a stretch in progress that began earlier than that is not counted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Window
from django.db.models.functions import Coalesce, Lead, TruncDay

from escalations.models import Case, CaseStatus, Escalation, EscalationKind
from escalations.reports.base import SOURCES, Scope, count_cases, period_key

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)
LOOKBACK = timedelta(days=30)


def _dated(rows, key: str) -> dict:
    """``{level_id: {date: n}}`` from grouped rows with ``day``, ``key`` and ``n``."""
    out: dict = defaultdict(lambda: defaultdict(int))
    for r in rows:
        out[r[key]][period_key(r["day"])] += r["n"]
    return out


def new_cases(scope: Scope, start: datetime, end: datetime) -> dict:
    """Cases opened in [start, end) per entry level and day."""
    first_from = Escalation.objects.filter(case=OuterRef("pk")).order_by("created_at", "pk").values("from_level_id")[:1]
    qs = (
        Case.objects.filter(scope.case_filter(), opened_at__gte=start, opened_at__lt=end)
        .order_by()
        .annotate(
            entry=Coalesce(Subquery(first_from), F("level_id"), output_field=IntegerField()), day=TruncDay("opened_at")
        )
        .values("day", "entry")
        .annotate(n=count_cases())
    )
    return _dated(qs, "entry")


def escalations_in(scope: Scope, start: datetime, end: datetime) -> dict:
    """Escalations and skip-level jumps raised in [start, end) per receiving level and day."""
    qs = Escalation.objects.filter(kind__in=UP, created_at__gte=start, created_at__lt=end).order_by()
    case_q = scope.case_filter("case__")
    if case_q:
        qs = qs.filter(case_q)
    rows = qs.annotate(day=TruncDay("created_at")).values("day", "to_level_id").annotate(n=Count("pk"))
    return _dated(rows, "to_level_id")


def daily(counts: dict, days: list[date]) -> list[int]:
    return [counts.get(d, 0) for d in days]


def worked_seconds(scope: Scope, start: datetime, end: datetime) -> dict:
    """Seconds in progress per level within [start, end), from the case history."""
    history = Case.history.model
    q = {"history_date__gte": start - LOOKBACK, "history_date__lt": end}
    if scope.category is not None:
        q["category_id"] = scope.category.pk
    if scope.f.priority is not None:
        q["priority"] = scope.f.priority
    if scope.f.source is not None:
        q["source"] = SOURCES[scope.f.source]
    inner = (
        history.objects.filter(**q)
        .order_by()
        .annotate(
            nxt=Window(
                Lead("history_date"), partition_by=[F("id")], order_by=[F("history_date").asc(), F("history_id").asc()]
            )
        )
        .values("level_id", "status", "history_date", "nxt")
    )
    sql, params = inner.query.sql_with_params()
    if connection.vendor == "postgresql":
        upto, since = "LEAST(COALESCE(nxt, %s), %s)", "GREATEST(history_date, %s)"
        span = f"date_part('epoch', {upto} - {since})"
    else:
        upto, since = "MIN(COALESCE(nxt, %s), %s)", "MAX(history_date, %s)"
        span = f"(julianday({upto}) - julianday({since})) * 86400.0"
    outer = (
        f"SELECT level_id, SUM({span}) FROM ({sql}) t "
        "WHERE status = %s AND COALESCE(nxt, %s) > %s AND history_date < %s GROUP BY 1"
    )
    e, s = (connection.ops.adapt_datetimefield_value(v) for v in (end, start))
    args = [e, e, s, *params, CaseStatus.IN_PROGRESS, e, s, e]
    with connection.cursor() as cur:
        cur.execute(outer, args)
        return {level_id: float(s or 0.0) for level_id, s in cur.fetchall()}

"""The sweep's fast path: claim and load a batch of due cases in one statement.

``claim`` locks up to ``n`` due cases (``FOR UPDATE SKIP LOCKED``, so concurrent
sweepers split the due set) and reads them in the same statement as plain tuples over a
binary cursor. Each distinct policy snapshot is parsed once per batch (``snapshot``: the
one place the sweep reads a snapshot, so where it comes from can change), and the cases
share the parsed dict, their level and team objects. The batch then goes through the
same rules, conditions, calendars and effects as the general path
(``automation.apply_loaded``), which writes it with one statement per table.

Only loading differs from the general path (``automation.apply_rules``, which loads the
claimed ids through the ORM); ``tests/test_sweep_fast.py`` runs both on the same cases
and compares every row written.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connections, router

from escalations.models import Case, Category, Level, Team
from escalations.workflow import automation

# The case's columns in model order; JSON columns are read as text and parsed here.
_FIELDS = None


def _fields():
    global _FIELDS
    if _FIELDS is None:
        _FIELDS = list(Case._meta.concrete_fields)
    return _FIELDS


def snapshot(text: str, parsed: dict[str, dict]) -> dict:
    """The policy snapshot stored as ``text``, parsed once per batch (``parsed``)."""
    value = parsed.get(text)
    if value is None:
        value = parsed[text] = json.loads(text)
    return value


def claim(now: datetime, n: int) -> list[tuple]:
    """Lock and read up to ``n`` due cases, oldest due first; one statement."""
    import psycopg

    connection = connections[router.db_for_write(Case)]
    cols = ", ".join(
        f't."{f.column}"::text' if f.get_internal_type() == "JSONField" else f't."{f.column}"' for f in _fields()
    )
    sql = (
        f'SELECT {cols} FROM "{Case._meta.db_table}" t WHERE t."next_check_at" <= %s '
        f'ORDER BY t."next_check_at" LIMIT %s FOR UPDATE SKIP LOCKED'
    )
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [now, n], binary=True)
        return cursor.fetchall()


def cases_from_rows(rows: list[tuple], connection_alias: str = "default") -> list[Case]:
    """Case objects for the claimed rows, sharing parsed snapshots, levels, teams,
    categories and assignees (one query each per batch)."""
    fields = _fields()
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    snap_at = names.index("policy_snapshot")
    parsed: dict[str, dict] = {}
    cases = []
    for t in rows:
        values = list(t)
        for i in json_at:
            if values[i] is not None:
                values[i] = snapshot(values[i], parsed) if i == snap_at else json.loads(values[i])
        cases.append(Case.from_db(connection_alias, names, values))
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams = Team.objects.in_bulk({c.team_id for c in cases if c.team_id is not None})
    categories = Category.objects.in_bulk({c.category_id for c in cases if c.category_id is not None})
    people = get_user_model().objects.in_bulk({c.assignee_id for c in cases if c.assignee_id is not None})
    for case in cases:
        case.level, case.highest_level = levels[case.level_id], levels[case.highest_level_id]
        case.team = teams.get(case.team_id)
        case.category = categories.get(case.category_id)
        case.assignee = people.get(case.assignee_id)
    return cases


def sweep_rows(rows: list[tuple], now: datetime, active: list) -> automation.BatchResult:
    """Run claimed rows through the rules; the caller holds the locks and the transaction."""
    return automation.apply_loaded(cases_from_rows(rows), now, active)

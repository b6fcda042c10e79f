"""The sweep's fast path: claim and load a batch of due cases in one statement.

``claim`` locks up to ``n`` due cases (``FOR UPDATE SKIP LOCKED``, so concurrent
sweepers split the due set) and reads them in the same statement as plain tuples over a
binary cursor. Each distinct policy snapshot is parsed once per batch (``snapshot``: the
one place the sweep reads a snapshot, so where it comes from can change), and the cases
share the parsed dict, their level and team objects. The batch then goes through the
same rules, conditions, calendars and effects as the general path
(``automation.apply_loaded``), which writes it with one statement per table.

A row the fast path cannot read (a snapshot that is not a JSON object) goes to the
general path (``automation.apply_rules``) in the same transaction.
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


def cases_from_rows(rows: list[tuple], connection_alias: str = "default") -> tuple[list[Case], list[int]]:
    """Case objects for the claimed rows, sharing parsed snapshots, levels, teams and
    categories; and the ids of rows left to the general path."""
    fields = _fields()
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    snap_at = names.index("policy_snapshot")
    parsed: dict[str, dict] = {}
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams: dict[int, Team] = {}
    categories: dict[int, Category] = {}
    people: dict[int, object] = {}
    cases, general = [], []
    team_at, cat_at, pk_at = names.index("team_id"), names.index("category_id"), names.index("id")
    assignee_at = names.index("assignee_id")
    for t in rows:
        values = list(t)
        try:
            for i in json_at:
                if values[i] is not None:
                    values[i] = snapshot(values[i], parsed) if i == snap_at else json.loads(values[i])
            if not isinstance(values[snap_at], dict):
                raise ValueError("the policy snapshot is not an object")
        except ValueError:
            general.append(values[pk_at])
            continue
        cases.append(Case.from_db(connection_alias, names, values))
        if values[team_at] is not None:
            teams[values[team_at]] = None
        if values[cat_at] is not None:
            categories[values[cat_at]] = None
        if values[assignee_at] is not None:
            people[values[assignee_at]] = None
    teams = Team.objects.in_bulk(list(teams))
    categories = Category.objects.in_bulk(list(categories))
    people = get_user_model().objects.in_bulk(list(people))
    for case in cases:
        case.level, case.highest_level = levels[case.level_id], levels[case.highest_level_id]
        case.team = teams.get(case.team_id)
        if case.category_id is not None:
            case.category = categories.get(case.category_id)
        case.assignee = people.get(case.assignee_id) if case.assignee_id is not None else None
    return cases, general


def sweep_rows(rows: list[tuple], now: datetime, active: list) -> automation.BatchResult:
    """Run claimed rows through the rules; the caller holds the locks and the transaction."""
    cases, general = cases_from_rows(rows)
    out = automation.apply_loaded(cases, now, active) if cases else automation.BatchResult()
    if general:
        more = automation.apply_rules(general, now, active)
        for f in ("examined", "changed", "actions", "escalations", "notifications"):
            setattr(out, f, getattr(out, f) + getattr(more, f))
    return out

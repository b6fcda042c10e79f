"""Set-based writes for many rows at once (the sweep's batches).

Django's ``bulk_update`` builds a ``CASE WHEN id = ... THEN ...`` per field and row, and
``bulk_create`` prepares every value through the ORM; for thousands of rows that costs
more than the database spends. On PostgreSQL these send one array per column instead
(``UPDATE ... FROM unnest(...)``, ``INSERT ... SELECT * FROM unnest(...)``) through a
server-side-binding cursor, so the arrays travel in binary. Other databases use the ORM.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connections, router
from django.db.models import Model


def _connection(model):
    return connections[router.db_for_write(model)]


def _execute(connection, sql: str, params: list, fetch: bool = False):
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding, binary arrays
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else cursor.rowcount


def _array_type(field, connection) -> str:
    db_type = field.db_type(connection) or field.target_field.db_type(connection)
    return "varchar" if db_type.startswith("varchar") else db_type


def _column_arrays(objs, fields, connection) -> list[list]:
    """One list per field. Plain values (numbers, text, datetimes, ids) go as they are;
    fields that need adapting (JSON, decimals, ...) go through the field's own preparation."""
    arrays = []
    for f in fields:
        name = f.attname
        if f.get_internal_type() in _PLAIN:
            arrays.append([getattr(o, name) for o in objs])
        else:
            arrays.append([f.get_db_prep_save(getattr(o, name), connection) for o in objs])
    return arrays


_PLAIN = {"CharField", "TextField", "EmailField", "SlugField", "IntegerField", "BigIntegerField",
          "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BigAutoField",
          "AutoField", "ForeignKey", "OneToOneField", "BooleanField", "DateTimeField"}


def bulk_update_rows(objs: list[Model], fields: list[str]) -> int:
    if not objs:
        return 0
    model = type(objs[0])
    connection = _connection(model)
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields, batch_size=500)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    names = [f"v{i}" for i in range(len(columns))]
    sets = ", ".join(f'"{f.column}" = v.{n}' for f, n in zip(columns, names))
    unnest = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in [meta.pk, *columns])
    sql = (f'UPDATE "{meta.db_table}" AS t SET {sets} FROM unnest({unnest}) AS v(pk, {", ".join(names)}) '
           f'WHERE t."{meta.pk.column}" = v.pk')
    return _execute(connection, sql, [[o.pk for o in objs], *_column_arrays(objs, columns, connection)])


def _insert(connection, table: str, fields, arrays: list[list], returning: str | None):
    cols = ", ".join(f'"{f.column}"' for f in fields)
    unnest = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in fields)
    sql = f'INSERT INTO "{table}" ({cols}) SELECT * FROM unnest({unnest})'
    if returning:
        sql += f' RETURNING "{returning}"'
    return _execute(connection, sql, arrays, fetch=bool(returning))


def bulk_insert(objs: list[Model]) -> None:
    """Insert new rows and set their primary keys, in order."""
    if not objs:
        return
    model = type(objs[0])
    connection = _connection(model)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=500)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    rows = _insert(connection, meta.db_table, fields, _column_arrays(objs, fields, connection), meta.pk.column)
    for obj, (pk,) in zip(objs, rows):
        obj.pk = pk
        obj._state.adding = False


def bulk_history(objs: list[Model], history_type: str, when: datetime) -> None:
    """History rows for objects already written, each with its ``_history_user`` and
    ``_change_reason`` (as simple-history's own save would record them)."""
    if not objs:
        return
    model = type(objs[0])
    connection = _connection(model)
    from .audit import append, hashed_fields

    history = model.history.model
    if connection.vendor != "postgresql":
        rows = [history(history_date=when, history_type=history_type,
                        history_change_reason=getattr(o, "_change_reason", "") or "",
                        history_user_id=getattr(getattr(o, "_history_user", None), "pk", None),
                        **{f.attname: getattr(o, f.attname) for f in history.tracked_fields}) for o in objs]
        append(rows, lambda rs: history.objects.bulk_create(rs))
        return
    tracked = list(history.tracked_fields)
    meta = history._meta
    extra = [meta.get_field(n) for n in ("history_date", "history_change_reason", "history_type", "history_user")]
    arrays = _column_arrays(objs, tracked, connection) + [
        [when] * len(objs),
        [getattr(o, "_change_reason", "") or "" for o in objs],
        [history_type] * len(objs),
        [getattr(getattr(o, "_history_user", None), "pk", None) for o in objs],
    ]
    # Hash the values as Python has them (the arrays hold database adapters for JSON).
    raw = {f.attname: [getattr(o, f.attname) for o in objs] for f in tracked}
    raw.update({f.attname: values for f, values in zip(extra, arrays[len(tracked):])})
    order = [raw[f.attname] for f in hashed_fields(history)]
    rows = [_Row(i) for i in range(len(objs))]

    def insert(rs):
        hashes = [meta.get_field("prev_hash"), meta.get_field("row_hash")]
        ids = _insert(connection, meta.db_table, tracked + extra + hashes,
                      arrays + [[r.prev_hash for r in rs], [r.row_hash for r in rs]], "history_id")
        for r, (history_id,) in zip(rs, ids):
            r.history_id = history_id

    append(rows, insert, values=lambda r: [column[r.index] for column in order], table=meta.db_table)


class _Row:
    """A history row being written in bulk: its place in the column arrays and its links."""

    __slots__ = ("index", "prev_hash", "row_hash", "history_id")

    def __init__(self, index: int):
        self.index = index

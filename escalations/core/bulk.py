"""Set-based writes for many rows at once (the sweep's batches).

Django's ``bulk_update`` builds a ``CASE WHEN id = ... THEN ...`` per field and row, and
``bulk_create`` prepares every value through the ORM; for thousands of rows that costs
more than the database spends. On PostgreSQL these send one array per column instead
(``UPDATE ... FROM unnest(...)``, ``INSERT ... SELECT * FROM unnest(...)``) through a
server-side-binding cursor, so the arrays travel in binary. Other databases use the ORM.
"""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Model


def connection_for(model):
    return connections[router.db_for_write(model)]


def _execute(connection, sql: str, params: list, fetch: bool = False):
    import psycopg

    connection.ensure_connection()
    # Django's own wrapper, so a failure here is the same ``django.db`` error as anywhere
    # else (a lost connection, a full disk), and Django marks a broken connection unusable.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)  # server-side binding, binary arrays
        return cursor.fetchall() if fetch else cursor.rowcount


def _array_type(field, connection) -> str:
    db_type = field.db_type(connection) or field.target_field.db_type(connection)
    return "varchar" if db_type.startswith("varchar") else db_type


def column_arrays(objs, fields, connection) -> list[list]:
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


_PLAIN = {
    "CharField",
    "TextField",
    "EmailField",
    "SlugField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "BigAutoField",
    "AutoField",
    "ForeignKey",
    "OneToOneField",
    "BooleanField",
    "DateTimeField",
}


def bulk_update_rows(objs: list[Model], fields: list[str], model=None) -> int:
    """Write ``fields`` of ``objs`` (instances of ``model``, or plain objects with its
    attribute names: the sweep's fast path) in one statement."""
    if not objs:
        return 0
    model = model or type(objs[0])
    connection = connection_for(model)
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields, batch_size=500)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    names = [f"v{i}" for i in range(len(columns))]
    sets = ", ".join(f'"{f.column}" = v.{n}' for f, n in zip(columns, names))
    unnest = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in [meta.pk, *columns])
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {sets} FROM unnest({unnest}) AS v(pk, {", ".join(names)}) '
        f'WHERE t."{meta.pk.column}" = v.pk'
    )
    return _execute(connection, sql, [[o.pk for o in objs], *column_arrays(objs, columns, connection)])


def insert_arrays(
    connection, table: str, fields, arrays: list[list], returning: str | None, skip_conflicts: bool = False
):
    cols = ", ".join(f'"{f.column}"' for f in fields)
    unnest = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in fields)
    sql = f'INSERT INTO "{table}" ({cols}) SELECT * FROM unnest({unnest})'
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f' RETURNING "{returning}"'
    return _execute(connection, sql, arrays, fetch=bool(returning))


def bulk_insert(objs: list[Model], skip_conflicts: bool = False, model=None) -> None:
    """Insert new rows and set their primary keys, in order. ``skip_conflicts``: rows that
    would break a unique constraint are left out (and keep no primary key). ``model``: the
    objects' model when they are plain rows with its attribute names (PostgreSQL only)."""
    if not objs:
        return
    model = model or type(objs[0])
    connection = connection_for(model)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=500, ignore_conflicts=skip_conflicts)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    arrays = column_arrays(objs, fields, connection)
    if skip_conflicts:  # which rows were left out is not known: no keys are set
        insert_arrays(connection, meta.db_table, fields, arrays, None, skip_conflicts=True)
        return
    rows = insert_arrays(connection, meta.db_table, fields, arrays, meta.pk.column)
    for obj, (pk,) in zip(objs, rows):
        obj.pk = pk
        if isinstance(obj, Model):
            obj._state.adding = False

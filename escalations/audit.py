"""Tamper evidence for the history tables.

Each history row stores ``row_hash = HMAC(key, prev_hash | content)`` where ``prev_hash``
is the hash of the row before it in the same table, and a head row per table
(``AuditHead``) records where the chain ends. The key is ``AUDIT_SECRET`` (default
``SECRET_KEY``), which the database does not hold: a row edited, deleted or inserted
behind the application's back breaks the chain, and ``verify`` names the first break.
On PostgreSQL the history tables also refuse UPDATE and DELETE unless a maintenance
transaction sets ``escalations.audit_maintenance``; see ``maintenance``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Callable, Iterable

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from .models.audit import AuditedHistory, AuditHead, AuditSeal

SKIP = {"history_id", "prev_hash", "row_hash"}
MAINTENANCE_FLAG = "escalations.audit_maintenance"


def history_models() -> list:
    return sorted((m for m in apps.get_models() if issubclass(m, AuditedHistory)), key=lambda m: m._meta.db_table)


def table_label(table: str) -> tuple[str, str]:
    """(app label, model name) of a history table."""
    model = next(m for m in history_models() if m._meta.db_table == table)
    return model._meta.app_label, model._meta.model_name


def hashed_fields(model) -> list:
    return sorted((f for f in model._meta.concrete_fields if f.attname not in SKIP), key=lambda f: f.attname)


def _canon(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _key() -> bytes:
    return (getattr(settings, "AUDIT_SECRET", "") or settings.SECRET_KEY).encode()


def digest(prev: str, table: str, values: Iterable, fields: list | None = None) -> str:
    """``fields`` normalise each value through its field first (0 and 0.0 in a float
    column, "5" and 5 in a key), so what was hashed before saving hashes the same read back."""
    if fields is not None:
        values = [v if v is None else f.to_python(v) for f, v in zip(fields, values)]
    content = json.dumps([table, [_canon(v) for v in values]], separators=(",", ":"), ensure_ascii=False)
    return hmac.new(_key(), f"{prev}|{content}".encode(), hashlib.sha256).hexdigest()


def _locked_head(table: str) -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(table=table).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditHead.objects.create(table=table)
        except IntegrityError:
            pass  # another writer created it first
        head = AuditHead.objects.select_for_update().get(table=table)
    return head


def append(rows: list, insert: Callable[[list], None], values: Callable | None = None,
           table: str | None = None) -> None:
    """Chain ``rows`` (history instances, or anything ``values`` can read) onto their table,
    call ``insert(rows)`` (which must assign ``history_id`` in order), and move the head.

    The head row is locked for the rest of the transaction, so writers to one table
    append one after another and the chain never forks.
    """
    if not rows:
        return
    fields = hashed_fields(type(rows[0])) if values is None else None
    table = table or type(rows[0])._meta.db_table
    model = apps.get_model(*table_label(table)) if values is not None else None
    hash_fields = fields if fields is not None else hashed_fields(model)
    with transaction.atomic():
        head = _locked_head(table)
        prev = head.last_hash
        for row in rows:
            row_values = [getattr(row, f.attname) for f in fields] if values is None else values(row)
            row.prev_hash = prev
            row.row_hash = prev = digest(prev, table, row_values, hash_fields)
        insert(rows)
        head.last_history_id = max(row.history_id for row in rows)
        head.last_hash = prev
        head.rows += len(rows)
        head.save(update_fields=["last_history_id", "last_hash", "rows"])


@dataclass
class Break:
    table: str
    history_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.table} history_id={self.history_id}" if self.history_id else self.table
        return f"{where}: {self.problem}"


@dataclass
class TableStatus:
    table: str
    rows: int
    broken: Break | None


def verify_table(model, chunk: int = 5000) -> TableStatus:
    table = model._meta.db_table
    fields = hashed_fields(model)
    head = AuditHead.objects.filter(table=table).first()
    prev, prev_id, count = "", None, 0
    names = ["history_id", "prev_hash", "row_hash", *[f.attname for f in fields]]
    for row in model.objects.order_by("history_id").values_list(*names).iterator(chunk_size=chunk):
        history_id, prev_hash, row_hash, *values = row
        count += 1
        if prev_hash != prev:
            after = f"row {prev_id}" if prev_id else "the start of the chain"
            return TableStatus(table, count, Break(table, history_id, f"does not follow {after}: a row before it "
                                                   "was deleted, or this row was inserted behind the application"))
        if not hmac.compare_digest(digest(prev, table, values, fields), row_hash or ""):
            return TableStatus(table, count, Break(table, history_id, "its content does not match its hash: "
                                                   "edited, or inserted behind the application"))
        prev, prev_id = row_hash, history_id
    if head is None and count:
        return TableStatus(table, count, Break(table, None, "has rows but no chain head"))
    if head is not None and (head.rows != count or head.last_hash != prev):
        return TableStatus(table, count, Break(table, head.last_history_id or None,
                                               f"the chain should end at history_id={head.last_history_id} after "
                                               f"{head.rows} rows but ends at {prev_id} after {count}: rows at the "
                                               "end were deleted or added"))
    return TableStatus(table, count, None)


def verify() -> list[TableStatus]:
    return [verify_table(m) for m in history_models()]


@contextmanager
def maintenance(*, actor: str, reason: str, tables: list[str] | None = None):
    """The documented way to change history rows: inside one transaction the append-only
    guard is lifted, and afterwards the touched chains are resealed and the seal recorded."""
    if not reason.strip():
        raise ValueError("Say why the audit trail is being changed.")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT set_config(%s, 'on', true)", [MAINTENANCE_FLAG])
        yield
        targets = [m for m in history_models() if tables is None or m._meta.db_table in tables]
        for model in targets:
            reseal(model)
        AuditSeal.objects.create(actor=actor, reason=reason, tables=[m._meta.db_table for m in targets])


def reseal(model, chunk: int = 5000) -> int:
    """Recompute a whole table's chain and head (only inside ``maintenance``)."""
    from .bulk import bulk_update_rows

    table = model._meta.db_table
    fields = hashed_fields(model)
    head = _locked_head(table)
    prev, last_id, count, pending = "", 0, 0, []
    for row in model.objects.order_by("history_id").only("history_id", "prev_hash", "row_hash", *[f.attname for f in fields]).iterator(chunk_size=chunk):
        new = digest(prev, table, [getattr(row, f.attname) for f in fields], fields)
        if (row.prev_hash, row.row_hash) != (prev, new):
            row.prev_hash, row.row_hash = prev, new
            pending.append(row)
        prev, last_id, count = new, row.history_id, count + 1
        if len(pending) >= chunk:
            bulk_update_rows(pending, ["prev_hash", "row_hash"])
            pending = []
    bulk_update_rows(pending, ["prev_hash", "row_hash"])
    head.last_history_id, head.last_hash, head.rows = last_id, prev, count
    head.save(update_fields=["last_history_id", "last_hash", "rows"])
    return count


GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION escalations_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('{MAINTENANCE_FLAG}', true) = 'on' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'history rows are append-only (%% on %%); use escalations.audit.maintenance',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;
"""


def install_guards(schema_editor, tables: Iterable[str]) -> None:
    """PostgreSQL: make each history table refuse UPDATE and DELETE outside maintenance."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD_FUNCTION)
    for table in tables:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_append_only ON "{table}"')
        schema_editor.execute(
            f'CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION escalations_audit_append_only()"
        )

"""The documented way to change history rows (e.g. an erasure request), resealed and recorded."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction

from escalations.audit.chain import digest, hashed_fields, history_models, locked_head
from escalations.audit.records import AuditSeal
from escalations.core.bulk import bulk_update_rows

MAINTENANCE_FLAG = "escalations.audit_maintenance"


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
    table = model._meta.db_table
    fields = hashed_fields(model)
    head = locked_head(table)
    prev, last_id, count, pending = "", 0, 0, []
    for row in (
        model.objects.order_by("history_id")
        .only("history_id", "prev_hash", "row_hash", *[f.attname for f in fields])
        .iterator(chunk_size=chunk)
    ):
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

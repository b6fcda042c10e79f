"""The documented way to change history rows (e.g. an erasure request), resealed and recorded.

On PostgreSQL the append-only guard is lifted for one transaction only by
``escalations_audit_unlock(reason)``, a SECURITY DEFINER function that only the
``escalations_audit_maintainer`` role (and the schema owner) may execute (``audit.guards``):
setting a session variable no longer lifts it, so the application's own database login
cannot rewrite history unless it is granted that role.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction

from escalations.audit.chain import KEY_FIELD, digest, hashed_fields, history_models, locked_head
from escalations.audit.keys import current_key_id
from escalations.audit.records import AuditSeal
from escalations.core.bulk import bulk_update_rows

# Kept so old scripts fail loudly rather than silently: setting it lifts nothing any more.
MAINTENANCE_FLAG = "escalations.audit_maintenance"


@contextmanager
def maintenance(*, actor: str, reason: str, tables: list[str] | None = None):
    """The documented way to change history rows: inside one transaction the append-only
    guard is lifted, and afterwards the touched chains are resealed, the seal recorded and
    (after commit) a new signed checkpoint written, so ``verify_audit`` accepts the change."""
    if not reason.strip():
        raise ValueError("Say why the audit trail is being changed.")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT escalations_audit_unlock(%s)", [f"{actor}: {reason}"[:1000]])
        yield
        targets = [m for m in history_models() if tables is None or m._meta.db_table in tables]
        for model in targets:
            reseal(model)
        AuditSeal.objects.create(actor=actor, reason=reason, tables=[m._meta.db_table for m in targets])
        transaction.on_commit(_checkpoint_after_maintenance)


def _checkpoint_after_maintenance() -> None:
    from escalations.audit import checkpoint  # checkpoint reads the chains this module reseals

    if checkpoint.configured():
        checkpoint.write_checkpoint()


def reseal(model, chunk: int = 5000) -> int:
    """Recompute a whole table's chain and head with the current key (only inside ``maintenance``)."""
    table = model._meta.db_table
    fields = hashed_fields(model)
    key_id = current_key_id()
    head = locked_head(table)
    prev, last_id, count, pending = "", 0, 0, []
    for row in (
        model.objects.order_by("history_id")
        .only("history_id", "prev_hash", "row_hash", *[f.attname for f in fields])
        .iterator(chunk_size=chunk)
    ):
        old_key = getattr(row, KEY_FIELD)
        setattr(row, KEY_FIELD, key_id)
        new = digest(prev, table, [getattr(row, f.attname) for f in fields], fields)
        if (row.prev_hash, row.row_hash, old_key) != (prev, new, key_id):
            row.prev_hash, row.row_hash = prev, new
            pending.append(row)
        prev, last_id, count = new, row.history_id, count + 1
        if len(pending) >= chunk:
            bulk_update_rows(pending, ["prev_hash", "row_hash", KEY_FIELD])
            pending = []
    bulk_update_rows(pending, ["prev_hash", "row_hash", KEY_FIELD])
    head.last_history_id, head.last_hash, head.rows = last_id, prev, count
    head.save(update_fields=["last_history_id", "last_hash", "rows"])
    return count

"""Walking the chains: ``verify_audit`` names the first broken record of each table."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from escalations.audit.chain import digest, hashed_fields, history_models
from escalations.audit.records import AuditHead


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
            return TableStatus(
                table,
                count,
                Break(
                    table,
                    history_id,
                    f"does not follow {after}: a row before it "
                    "was deleted, or this row was inserted behind the application",
                ),
            )
        if not hmac.compare_digest(digest(prev, table, values, fields), row_hash or ""):
            return TableStatus(
                table,
                count,
                Break(
                    table, history_id, "its content does not match its hash: edited, or inserted behind the application"
                ),
            )
        prev, prev_id = row_hash, history_id
    if head is None and count:
        return TableStatus(table, count, Break(table, None, "has rows but no chain head"))
    if head is not None and (head.rows != count or head.last_hash != prev):
        return TableStatus(
            table,
            count,
            Break(
                table,
                head.last_history_id or None,
                f"the chain should end at history_id={head.last_history_id} after "
                f"{head.rows} rows but ends at {prev_id} after {count}: rows at the "
                "end were deleted or added",
            ),
        )
    return TableStatus(table, count, None)


def verify() -> list[TableStatus]:
    return [verify_table(m) for m in history_models()]

"""Walking the chains: ``verify_audit`` names the first broken record of each table, and,
given the latest signed checkpoint (``audit.checkpoint``), any chain now shorter than it or
no longer passing through its checkpointed head."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from escalations.audit.chain import digest, hashed_fields, history_models
from escalations.audit.checkpoint import Mark
from escalations.audit.keys import UnknownKey
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


def verify_table(model, chunk: int = 5000, mark: Mark | None = None) -> TableStatus:
    table = model._meta.db_table
    fields = hashed_fields(model)
    head = AuditHead.objects.filter(table=table).first()
    prev, prev_id, count, passed_mark = "", None, 0, False
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
        try:
            expected = digest(prev, table, values, fields)
        except UnknownKey as exc:
            return TableStatus(table, count, Break(table, history_id, str(exc)))
        if not hmac.compare_digest(expected, row_hash or ""):
            return TableStatus(
                table,
                count,
                Break(
                    table, history_id, "its content does not match its hash: edited, or inserted behind the application"
                ),
            )
        if mark is not None and history_id == mark.last_history_id:
            if row_hash != mark.head_hash or count != mark.rows:
                return TableStatus(
                    table,
                    count,
                    Break(
                        table,
                        history_id,
                        f"diverges from the signed checkpoint (there row {mark.rows} with hash "
                        f"{mark.head_hash[:12]}, here row {count} with hash {row_hash[:12]}): the chain was rewritten",
                    ),
                )
            passed_mark = True
        prev, prev_id = row_hash, history_id
    if mark is not None and mark.rows and not passed_mark:
        return TableStatus(
            table,
            count,
            Break(
                table,
                None,
                f"is shorter than its signed checkpoint: {count} rows now, the checkpoint saw "
                f"{mark.rows} ending at history_id={mark.last_history_id} (rows at the end were "
                "deleted, or the table wiped, and the head moved back)",
            ),
        )
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


def verify(marks: dict[str, Mark] | None = None) -> list[TableStatus]:
    """Every chain; with ``marks`` (a checkpoint's) each is also held to its checkpointed head."""
    marks = marks or {}
    return [verify_table(m, mark=marks.get(m._meta.db_table)) for m in history_models()]

"""Signed checkpoints of every chain head, kept outside the database.

The chain and its head both live in the database, so someone who can write there can cut
the newest rows and move the head back, or wipe a table and its head, and the chain alone
still reads intact. A checkpoint records each table's row count, last row and head hash at
a moment, signed with the audit key (HMAC, key id named), and is written to
``AUDIT_CHECKPOINT_DIR`` (another volume, or a mounted object store) and optionally mailed
to ``AUDIT_CHECKPOINT_EMAILS``. ``verify_audit`` checks the live chains against the latest
one: every chain must still contain the checkpointed head at the same position.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage

from escalations.audit.chain import history_models
from escalations.audit.keys import canonical_json, current_key_id, key_for
from escalations.audit.records import AuditHead

PREFIX = "audit-checkpoint-"
FORMAT = 1


class CheckpointError(Exception):
    """A checkpoint cannot be written, or the latest one cannot be trusted (say why)."""


@dataclass(frozen=True)
class Mark:
    """One chain's head at checkpoint time."""

    rows: int
    last_history_id: int
    head_hash: str


def configured() -> bool:
    return bool(settings.AUDIT_CHECKPOINT_DIR)


def _directory(directory: str | os.PathLike | None) -> Path:
    directory = directory or settings.AUDIT_CHECKPOINT_DIR
    if not directory:
        raise CheckpointError("AUDIT_CHECKPOINT_DIR is not set: say where checkpoints are kept.")
    return Path(directory)


def _signature(payload: dict, key_id: str) -> str:
    return hmac.new(key_for(key_id), canonical_json(payload).encode(), hashlib.sha256).hexdigest()


def heads() -> dict[str, Mark]:
    """Every chained table's head, read in one query (one snapshot), each checked to point at
    a real row with that hash: a checkpoint never signs a head the rows do not back."""
    by_table = {h.table: h for h in AuditHead.objects.all()}
    marks = {}
    for model in history_models():
        table = model._meta.db_table
        head = by_table.get(table)
        if head is None or not head.rows:
            if model.objects.exists():
                raise CheckpointError(f"{table} has rows but no chain head: run verify_audit")
            marks[table] = Mark(0, 0, "")
            continue
        if not model.objects.filter(history_id=head.last_history_id, row_hash=head.last_hash).exists():
            raise CheckpointError(f"{table}'s head names a row that is not there: run verify_audit")
        marks[table] = Mark(head.rows, head.last_history_id, head.last_hash)
    return marks


def build(now: datetime | None = None) -> dict:
    key_id = current_key_id()
    payload = {
        "format": FORMAT,
        "at": (now or datetime.now(UTC)).isoformat(timespec="microseconds"),
        "database": settings.DATABASES["default"].get("NAME", ""),
        "key_id": key_id,
        "chains": {
            t: {"rows": m.rows, "last_history_id": m.last_history_id, "head_hash": m.head_hash}
            for t, m in heads().items()
        },
    }
    return {**payload, "signature": _signature(payload, key_id)}


def write_checkpoint(directory: str | os.PathLike | None = None) -> Path:
    """Write a new signed checkpoint (atomically: a reader never sees half a file), mail it
    when ``AUDIT_CHECKPOINT_EMAILS`` is set, and prune beyond ``AUDIT_CHECKPOINT_KEEP``."""
    target = _directory(directory)
    target.mkdir(parents=True, exist_ok=True)
    checkpoint = build()
    stamp = datetime.fromisoformat(checkpoint["at"]).strftime("%Y%m%dT%H%M%S%fZ")
    path = target / f"{PREFIX}{stamp}.json"
    text = json.dumps(checkpoint, indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".tmp-")
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    if settings.AUDIT_CHECKPOINT_EMAILS:
        message = EmailMessage(
            subject=f"Audit checkpoint {checkpoint['at']}",
            body="The signed heads of every audit chain; keep this mail. verify_audit --checkpoint FILE checks it.",
            to=settings.AUDIT_CHECKPOINT_EMAILS,
        )
        message.attach(path.name, text, "application/json")
        message.send()
    keep = settings.AUDIT_CHECKPOINT_KEEP
    if keep:
        for old in sorted(target.glob(f"{PREFIX}*.json"))[:-keep]:
            old.unlink()
    return path


def load(path: str | os.PathLike) -> tuple[dict, dict[str, Mark]]:
    """A checkpoint file, its signature checked: (the checkpoint, its marks by table)."""
    try:
        checkpoint = json.loads(Path(path).read_text())
        payload = {k: v for k, v in checkpoint.items() if k != "signature"}
        expected = _signature(payload, checkpoint["key_id"])
        marks = {
            t: Mark(int(c["rows"]), int(c["last_history_id"]), str(c["head_hash"]))
            for t, c in checkpoint["chains"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc}") from exc
    except LookupError as exc:  # an unknown key id
        raise CheckpointError(f"checkpoint {path}: {exc}") from exc
    if not hmac.compare_digest(expected, str(checkpoint.get("signature", ""))):
        raise CheckpointError(f"checkpoint {path} has a bad signature: it was edited or signed with another key")
    return checkpoint, marks


def latest(directory: str | os.PathLike | None = None) -> Path | None:
    files = sorted(_directory(directory).glob(f"{PREFIX}*.json"))
    return files[-1] if files else None

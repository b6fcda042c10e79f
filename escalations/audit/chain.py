"""The chain: how history rows are hashed and appended, one at a time or in bulk.

Each history row stores ``row_hash = HMAC(key, prev_hash | content)`` where ``prev_hash``
is the hash of the row before it in the same table, and a head row per table
(``AuditHead``) records where the chain ends. The key is ``AUDIT_SECRET`` under the id
``AUDIT_KEY_ID`` stored on the row (``audit.keys``), which the database does not hold: a
row edited, deleted or inserted behind the application's back breaks the chain, and
``audit.verify`` names the first break; signed checkpoints kept outside the database
(``audit.checkpoint``) catch a chain cut short together with its head. On PostgreSQL the
history tables also refuse UPDATE and DELETE outside ``audit.maintenance`` (``audit.guards``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Model

from escalations.audit.keys import canonical_json, current_key_id, key_for
from escalations.core.bulk import column_arrays, connection_for, insert_arrays

SKIP = {"history_id", "prev_hash", "row_hash"}
# Columns added to the history tables after rows were chained: hashed only when they hold
# a value, so rows written before a column existed still verify.
LATER_FIELDS = {"history_action", "audit_key"}
KEY_FIELD = "audit_key"


def history_models() -> list:
    """Every chained history model (they carry the chain's two columns)."""
    chained = (m for m in apps.get_models() if getattr(m, "audit_chained", False))
    return sorted(chained, key=lambda m: m._meta.db_table)


def table_label(table: str) -> tuple[str, str]:
    """(app label, model name) of a history table."""
    model = next(m for m in history_models() if m._meta.db_table == table)
    return model._meta.app_label, model._meta.model_name


def hashed_fields(model) -> list:
    return sorted((f for f in model._meta.concrete_fields if f.attname not in SKIP), key=lambda f: f.attname)


def _canon(value, keyed: bool = True):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        if keyed:
            return canonical_json(value)
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def content(table: str, values: Iterable, fields: list) -> tuple[str, str]:
    """(key id, the canonical text a row's hash covers). ``fields`` (in ``hashed_fields``
    order) normalise each value through its field first (0 and 0.0 in a float column, "5"
    and 5 in a key), so what was hashed before saving hashes the same read back; an empty
    later column is left out. The row's key id picks the key and, when set, the canonical
    JSON form (``audit.keys``)."""
    key_id = ""
    kept = []
    for f, v in zip(fields, values):
        if f.attname == KEY_FIELD:
            key_id = v or ""
        if not (f.attname in LATER_FIELDS and v in ("", None)):
            kept.append(v if v is None else f.to_python(v))
    canon = [_canon(v, keyed=bool(key_id)) for v in kept]
    return key_id, json.dumps([table, canon], separators=(",", ":"), ensure_ascii=False)


def seal(prev: str, key_id: str, text: str) -> str:
    """The row's hash: HMAC over the hash before it and its content (the only part of the
    chain that needs the head, so the only part done under its lock)."""
    return hmac.new(key_for(key_id), f"{prev}|{text}".encode(), hashlib.sha256).hexdigest()


def digest(prev: str, table: str, values: Iterable, fields: list) -> str:
    """A row's hash from its values (``content`` then ``seal``)."""
    key_id, text = content(table, values, fields)
    return seal(prev, key_id, text)


# Field types whose ``to_python`` returns a value of this Python type unchanged, so the
# column-wise form may skip it (any other value still goes through the field).
_SAME = {
    "CharField": str,
    "TextField": str,
    "EmailField": str,
    "SlugField": str,
    "IntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "SmallIntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
    "ForeignKey": int,
    "OneToOneField": int,
    "BooleanField": bool,
    "DateTimeField": datetime,
}
_LEFT_OUT = object()


def _column_fragments(field, values: list, keyed: bool) -> list:
    """Each value of one column as its JSON text in the content (``_LEFT_OUT`` for an empty
    later column), the same text ``content`` writes for it; repeated values once."""
    same = _SAME.get(field.get_internal_type())
    later = field.attname in LATER_FIELDS
    seen: dict = {}
    out = []
    for v in values:
        if later and v in ("", None):
            out.append(_LEFT_OUT)
            continue
        try:
            out.append(seen[type(v), v])
            continue
        except (KeyError, TypeError):  # new, or unhashable (JSON content)
            pass
        if v is None:
            text = "null"
        else:
            py = v if same is not None and type(v) is same else field.to_python(v)
            text = json.dumps(_canon(py, keyed=keyed), ensure_ascii=False)
        try:
            seen[type(v), v] = text
        except TypeError:
            pass
        out.append(text)
    return out


def contents(table: str, columns: list[list], fields: list, key_id: str) -> list[str]:
    """``content`` for many rows at once, column by column (``columns`` in ``fields``
    order, every row under ``key_id``): the canonical form of each distinct value of a
    column is computed once. Done before the head is locked."""
    frags = [_column_fragments(f, col, keyed=bool(key_id)) for f, col in zip(fields, columns)]
    head = "[" + json.dumps(table, ensure_ascii=False) + ",["
    return [head + ",".join(x for x in row if x is not _LEFT_OUT) + "]]" for row in zip(*frags)]


def _head_model():
    # Looked up, not imported: the records module imports this one (to chain its saves).
    return apps.get_model("escalations", "AuditHead")


def locked_head(table: str):
    AuditHead = _head_model()
    head = AuditHead.objects.select_for_update().filter(table=table).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditHead.objects.create(table=table)
        except IntegrityError:
            pass  # another writer created it first
        head = AuditHead.objects.select_for_update().get(table=table)
    return head


def append(
    rows: list,
    insert: Callable[[list], None],
    values: Callable | None = None,
    table: str | None = None,
    texts: list[str] | None = None,
    key_id: str | None = None,
) -> None:
    """Chain ``rows`` (history instances, or anything ``values`` can read) onto their table,
    call ``insert(rows)`` (which must assign ``history_id`` in order), and move the head.

    ``texts``: each row's ``content``, computed before (``contents``), all under ``key_id``;
    then only the seals are computed here. The head row is locked for the rest of the
    transaction, so writers to one table append one after another and the chain never
    forks; ``insert`` runs after the lock is taken, so the ids it allocates follow the
    chain's order (ids taken before the lock would interleave with another writer's).
    """
    if not rows:
        return
    fields = hashed_fields(type(rows[0])) if values is None and texts is None else None
    table = table or type(rows[0])._meta.db_table
    if texts is None:
        model = apps.get_model(*table_label(table)) if values is not None else None
        hash_fields = fields if fields is not None else hashed_fields(model)
        key_id = current_key_id()
    with transaction.atomic():
        head = locked_head(table)
        prev = head.last_hash
        if texts is not None:
            for row, text in zip(rows, texts):
                row.prev_hash = prev
                row.row_hash = prev = seal(prev, key_id, text)
        else:
            for row in rows:
                if values is None:
                    setattr(row, KEY_FIELD, key_id)
                row_values = [getattr(row, f.attname) for f in fields] if values is None else values(row)
                row.prev_hash = prev
                row.row_hash = prev = digest(prev, table, row_values, hash_fields)
        insert(rows)
        head.last_history_id = max(row.history_id for row in rows)
        head.last_hash = prev
        head.rows += len(rows)
        head.save(update_fields=["last_history_id", "last_hash", "rows"])


def stamp_action(sender, instance, history_instance, **kwargs) -> None:
    """simple-history's ``pre_create_historical_record``: carry the action the workflow
    named on the object (``_history_action``) into its history row, as simple-history
    does for ``_history_user`` and ``_change_reason``. Connected in ``apps.ready``."""
    history_instance.history_action = (getattr(instance, "_history_action", "") or "")[:32]


def bulk_history(objs: list[Model], history_type: str, when: datetime) -> None:
    """History rows for objects already written, each with its ``_history_user`` and
    ``_change_reason`` (as simple-history's own save would record them)."""
    write_history(prepare_history(objs, history_type, when))


@dataclass
class PreparedHistory:
    """History rows ready to chain: their columns and contents, computed without the head's
    lock (``prepare_history``); ``write_history`` takes the lock, seals and inserts."""

    model: type | None = None
    fields: list = dc_field(default_factory=list)
    arrays: list = dc_field(default_factory=list)
    texts: list = dc_field(default_factory=list)
    key_id: str = ""
    rows: list = dc_field(default_factory=list)  # the ORM's rows (databases other than PostgreSQL)


def prepare_history(objs: list[Model], history_type: str, when: datetime, model=None) -> PreparedHistory:
    """Build the history rows of ``objs`` and hash their content, column by column.
    ``model``: the objects' model when they are plain rows with its attribute names."""
    if not objs:
        return PreparedHistory()
    model = model or type(objs[0])
    connection = connection_for(model)
    history = model.history.model
    if connection.vendor != "postgresql":
        rows = [
            history(
                history_date=when,
                history_type=history_type,
                history_change_reason=getattr(o, "_change_reason", "") or "",
                history_user_id=getattr(getattr(o, "_history_user", None), "pk", None),
                **{f.attname: getattr(o, f.attname) for f in history.tracked_fields},
            )
            for o in objs
        ]
        return PreparedHistory(model=history, rows=rows)
    tracked = list(history.tracked_fields)
    meta = history._meta
    extra = [
        meta.get_field(n)
        for n in ("history_date", "history_change_reason", "history_type", "history_user", "history_action", KEY_FIELD)
    ]
    key_id = current_key_id()
    arrays = column_arrays(objs, tracked, connection) + [
        [when] * len(objs),
        [getattr(o, "_change_reason", "") or "" for o in objs],
        [history_type] * len(objs),
        [getattr(getattr(o, "_history_user", None), "pk", None) for o in objs],
        [getattr(o, "_history_action", "") or "" for o in objs],
        [key_id] * len(objs),
    ]
    # Hash the values as Python has them (the arrays hold database adapters for JSON).
    raw = {f.attname: [getattr(o, f.attname) for o in objs] for f in tracked}
    raw.update({f.attname: values for f, values in zip(extra, arrays[len(tracked) :])})
    fields = hashed_fields(history)
    texts = contents(meta.db_table, [raw[f.attname] for f in fields], fields, key_id)
    return PreparedHistory(model=history, fields=tracked + extra, arrays=arrays, texts=texts, key_id=key_id)


def write_history(prepared: PreparedHistory) -> None:
    """Lock the table's head, seal the prepared rows onto it and insert them (one statement)."""
    history = prepared.model
    if history is None:
        return
    if prepared.rows:
        append(prepared.rows, lambda rs: history.objects.bulk_create(rs))
        return
    meta = history._meta
    connection = connection_for(history)
    rows = [_Row(i) for i in range(len(prepared.texts))]

    def insert(rs):
        hashes = [meta.get_field("prev_hash"), meta.get_field("row_hash")]
        ids = insert_arrays(
            connection,
            meta.db_table,
            prepared.fields + hashes,
            prepared.arrays + [[r.prev_hash for r in rs], [r.row_hash for r in rs]],
            "history_id",
        )
        for r, (history_id,) in zip(rs, ids):
            r.history_id = history_id

    append(rows, insert, table=meta.db_table, texts=prepared.texts, key_id=prepared.key_id)


class _Row:
    """A history row being written in bulk: its place in the column arrays and its links."""

    __slots__ = ("index", "prev_hash", "row_hash", "history_id")

    def __init__(self, index: int):
        self.index = index

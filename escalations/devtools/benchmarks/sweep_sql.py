"""bench_sweep's set-based comparison: the sweep's own writes in plain SQL, batch by batch.

After the sweep has run once, one escalated case and what the sweep wrote about it (its
history row, the handoff and the handoff's history row, the firing, the outbox rows) are
kept in temporary tables as templates. ``run`` then claims the due cases in batches of the
sweep's size and, per batch, one statement with data-modifying CTEs writes the same rows
as the sweep: the case update (the columns a round may change, version + 1), one case
history row, one handoff, one handoff history row, the firing and the outbox rows, and it
moves both chains' heads (the row the sweep locks). Each history row carries 64-character
``prev_hash``/``row_hash`` values: a SHA-256 of the row's content, each row's
``prev_hash`` the hash of the row before it. Unlike the sweep's HMAC chain the hashes are
computed by PostgreSQL, not Python, and the content is not canonicalised: the rows and the
bytes written are the same, the work to decide and hash them is not. JIT compilation is
off for the statement (compiling this many CTEs takes seconds, which is not write cost).

``lean_copy`` builds the same tables in a schema of their own with only primary keys, the
due index and the unique constraints (no other index, no foreign key, no trigger), so the
same statement there measures what the writes cost on a minimal schema.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connection, transaction

from escalations.audit.chain import locked_head
from escalations.audit.records import AuditHead
from escalations.models import Case, Escalation, Notification, RuleFiring
from escalations.workflow.automation import CASE_FIELDS

LEAN = "bench_lean"

# The case columns a sweep round may change (the workflow's own list; the version is
# bumped separately).
CASE_CHANGES = [Case._meta.get_field(f).column for f in CASE_FIELDS if f != "version"]
CHAINED = {"case": Case.history.model, "esc": Escalation.history.model}


def tables() -> list[str]:
    """The table set the comparison writes (and the lean copy holds)."""
    return [
        Case._meta.db_table,
        Case.history.model._meta.db_table,
        Escalation._meta.db_table,
        Escalation.history.model._meta.db_table,
        RuleFiring._meta.db_table,
        Notification._meta.db_table,
        AuditHead._meta.db_table,
    ]


def _cols(model, skip=()) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column not in skip and not f.primary_key]


def capture_templates(case_id: int) -> dict[str, int]:
    """Keep what the sweep wrote for ``case_id`` in temporary tables; returns the row count
    per kind (the raw statement writes as many per case)."""
    hcase, hesc = Case.history.model._meta.db_table, Escalation.history.model._meta.db_table
    sources = {
        "bench_t_case": f"SELECT * FROM {Case._meta.db_table} WHERE id = %(id)s",
        "bench_t_hcase": f"SELECT * FROM {hcase} WHERE id = %(id)s ORDER BY history_id DESC LIMIT 1",
        "bench_t_esc": f"SELECT * FROM {Escalation._meta.db_table} WHERE case_id = %(id)s",
        "bench_t_hesc": f"SELECT * FROM {hesc} WHERE case_id = %(id)s ORDER BY history_id DESC LIMIT 1",
        "bench_t_firing": f"SELECT * FROM {RuleFiring._meta.db_table} WHERE case_id = %(id)s",
        "bench_t_note": f"SELECT * FROM {Notification._meta.db_table} WHERE case_id = %(id)s",
    }
    counts = {}
    with connection.cursor() as cur:
        for name, select in sources.items():
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE TEMPORARY TABLE {name} AS {select}", {"id": case_id})
            cur.execute(f"ANALYZE {name}")
            cur.execute(f"SELECT count(*) FROM {name}")
            counts[name] = cur.fetchone()[0]
    for name in ("bench_t_case", "bench_t_hcase", "bench_t_esc", "bench_t_hesc"):
        if counts[name] != 1:
            raise RuntimeError(f"the sweep wrote {counts[name]} rows of {name[8:]} for case #{case_id}, not one")
    return counts


def _hashed_insert(table: str, cols: list[str], source: str, template: str, values: dict[str, str]) -> str:
    """``INSERT`` history rows for ``source`` (a CTE), copying history columns from the
    template and chaining 64-character hashes onto the table's head."""
    head = f"(SELECT last_hash FROM {AuditHead._meta.db_table} WHERE \"table\" = '{table}')"
    select = ", ".join(values.get(c, f"s.{c}") for c in cols)
    return f"""
        INSERT INTO {table} ({", ".join(cols)}, prev_hash, row_hash)
        SELECT {select}, COALESCE(lag(s.bench_hash) OVER w, {head}), s.bench_hash
        FROM (
            SELECT src.*, encode(sha256(convert_to(
                {head} || '|' || row_to_json(src)::text || t.history_change_reason, 'UTF8')), 'hex') AS bench_hash
            FROM {source} src, {template} t
        ) s, {template} t
        WINDOW w AS (ORDER BY s.id)
        ORDER BY s.id
        RETURNING history_id, row_hash"""


def _head_update(table: str, cte: str) -> str:
    return f"""
        UPDATE {AuditHead._meta.db_table} SET
            last_history_id = (SELECT max(history_id) FROM {cte}),
            last_hash = (SELECT row_hash FROM {cte} ORDER BY history_id DESC LIMIT 1),
            rows = rows + (SELECT count(*) FROM {cte})
        WHERE "table" = '{table}' AND EXISTS (SELECT 1 FROM {cte})"""


def statement() -> str:
    """One batch: claim, update the cases, write every row the sweep writes, move the heads."""
    hcase_model, hesc_model = Case.history.model, Escalation.history.model
    hcase, hesc = hcase_model._meta.db_table, hesc_model._meta.db_table
    history_only = {f.column for f in hcase_model._meta.concrete_fields} - {f.column for f in Case._meta.fields}
    hist_extra = sorted(history_only - {"history_id", "prev_hash", "row_hash"})
    case_hist_cols = _cols(hcase_model, skip={"history_id", "prev_hash", "row_hash"})
    esc_cols = _cols(Escalation)
    esc_hist_cols = _cols(hesc_model, skip={"history_id", "prev_hash", "row_hash"})
    case_set = ", ".join(f"{c} = t.{c}" for c in CASE_CHANGES)
    from_case = {
        "case_id": "u.id",
        "case_opened_at": "u.opened_at",
        "case_category_id": "u.category_id",
        "case_priority": "u.priority",
        "case_source": "u.source",
    }
    esc_select = ", ".join(from_case.get(c, f"te.{c}") for c in esc_cols)
    firing_cols = _cols(RuleFiring)
    firing_select = ", ".join("u.id" if c == "case_id" else f"tf.{c}" for c in firing_cols)
    note_cols = _cols(Notification)
    note_select = ", ".join(
        {"case_id": "u.id", "dedupe_key": "'raw:' || u.id || ':' || tn.dedupe_key"}.get(c, f"tn.{c}") for c in note_cols
    )
    from_history = {c: f"t.{c}" for c in hist_extra}
    return f"""
        WITH due AS (
            SELECT id FROM {Case._meta.db_table}
            WHERE next_check_at <= %(now)s AND next_check_at IS NOT NULL
            ORDER BY next_check_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
        ), u AS (
            UPDATE {Case._meta.db_table} c SET {case_set}, version = c.version + 1, updated_at = %(now)s
            FROM due, bench_t_case t WHERE c.id = due.id
            RETURNING c.*
        ), hc AS ({_hashed_insert(hcase, case_hist_cols, "u", "bench_t_hcase", from_history)}
        ), e AS (
            INSERT INTO {Escalation._meta.db_table} ({", ".join(esc_cols)})
            SELECT {esc_select} FROM u, bench_t_esc te ORDER BY u.id
            RETURNING *
        ), he AS ({_hashed_insert(hesc, esc_hist_cols, "e", "bench_t_hesc", from_history)}
        ), f AS (
            INSERT INTO {RuleFiring._meta.db_table} ({", ".join(firing_cols)})
            SELECT {firing_select} FROM u, bench_t_firing tf
        ), n AS (
            INSERT INTO {Notification._meta.db_table} ({", ".join(note_cols)})
            SELECT {note_select} FROM u, bench_t_note tn
        ), head_c AS ({_head_update(hcase, "hc")}
        ), head_e AS ({_head_update(hesc, "he")}
        )
        SELECT count(*) FROM u"""


def run(now: datetime, batch: int, schema: str | None = None) -> tuple[float, int]:
    """Sweep with the raw statement until nothing is due; seconds and cases escalated."""
    sql, total = statement(), 0
    with transaction.atomic():  # the head rows exist, as the sweep's first write makes sure
        for table in (Case.history.model._meta.db_table, Escalation.history.model._meta.db_table):
            locked_head(table)
    started = time.perf_counter()
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            # JIT would compile this many CTEs for seconds: compile time, not write cost.
            cur.execute("SET LOCAL jit = off")
            if schema:
                cur.execute(f"SET LOCAL search_path TO {schema}, public")
            cur.execute(sql, {"now": now, "batch": batch})
            done = cur.fetchone()[0]
        total += done
        if done < batch:
            return time.perf_counter() - started, total


def lean_copy() -> float:
    """The table set in schema ``bench_lean``: same columns and rows, only primary keys, the
    due index and unique constraints. Returns the seconds it took to build."""
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {LEAN} CASCADE")
        cur.execute(f"CREATE SCHEMA {LEAN}")
        for table in tables():
            cur.execute(
                f"CREATE TABLE {LEAN}.{table} (LIKE public.{table} INCLUDING DEFAULTS INCLUDING IDENTITY "
                "INCLUDING GENERATED INCLUDING CONSTRAINTS)"
            )
            cur.execute(f"INSERT INTO {LEAN}.{table} OVERRIDING SYSTEM VALUE SELECT * FROM public.{table}")
            cur.execute(
                """SELECT pg_get_indexdef(i.indexrelid), i.indisprimary FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace
                   WHERE s.nspname = 'public' AND c.relname = %s AND (i.indisunique OR i.indisprimary)""",
                [table],
            )
            for indexdef, _primary in cur.fetchall():
                cur.execute(indexdef.replace(" ON public.", f" ON {LEAN}."))
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{LEAN}.{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {LEAN}.{table}), 0) + 1, false)"
            )
        for history in CHAINED.values():
            table = history._meta.db_table
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{LEAN}.{table}', 'history_id'), "
                f"COALESCE((SELECT max(history_id) FROM {LEAN}.{table}), 0) + 1, false)"
            )
        cur.execute(
            f"CREATE INDEX case_next_check_due ON {LEAN}.{Case._meta.db_table} (next_check_at) "
            "WHERE next_check_at IS NOT NULL"
        )
        for table in tables():
            cur.execute(f"ANALYZE {LEAN}.{table}")
    return time.perf_counter() - started


def drop_lean() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {LEAN} CASCADE")


def index_count(schema: str = "public") -> dict[str, int]:
    """Indexes per table of the set (the README names them beside the figures)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tablename, count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s) "
            "GROUP BY tablename",
            [schema, tables()],
        )
        return dict(cur.fetchall())

"""The database triggers that keep ``CaseSearch`` (``models/search.py``) equal to the
cases' searched text, on PostgreSQL and SQLite.

Triggers rather than application code: cases are written by the workflow, the importers'
set-based inserts, the seeders and the sweep's one-statement batch updates, and the copy
must follow all of them. Only an insert, a delete, or an update naming one of the searched
columns fires one: the sweep's batch update names none, so it never touches the side table.
On PostgreSQL inserts and deletes are statement triggers over transition tables (one
statement for a whole set-based insert); an update is a row trigger that runs only when
the text changed."""

from __future__ import annotations

SEARCHED = ("title", "requester_name", "requester_email")
CASE = "escalations_case"
SEARCH = "escalations_casesearch"
_COLS = ", ".join(SEARCHED)
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SEARCHED)
_SETS = ", ".join(f"{c} = NEW.{c}" for c in SEARCHED)
_NAMES = ("case_search_insert", "case_search_update", "case_search_delete")


def _postgresql() -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION case_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {SEARCH} (case_id, {_COLS}) SELECT id, {_COLS} FROM new_cases;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION case_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {SEARCH} SET {_SETS} WHERE case_id = NEW.id;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION case_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {SEARCH} WHERE case_id IN (SELECT id FROM old_cases);
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER case_search_insert AFTER INSERT ON {CASE} REFERENCING NEW TABLE AS new_cases "
        "FOR EACH STATEMENT EXECUTE FUNCTION case_search_insert()",
        f"CREATE TRIGGER case_search_update AFTER UPDATE OF {_COLS} ON {CASE} FOR EACH ROW "
        f"WHEN ({_CHANGED}) EXECUTE FUNCTION case_search_update()",
        f"CREATE TRIGGER case_search_delete AFTER DELETE ON {CASE} REFERENCING OLD TABLE AS old_cases "
        "FOR EACH STATEMENT EXECUTE FUNCTION case_search_delete()",
    ]


def _sqlite() -> list[str]:
    news = ", ".join(f"NEW.{c}" for c in SEARCHED)
    return [
        f"CREATE TRIGGER case_search_insert AFTER INSERT ON {CASE} BEGIN "
        f"INSERT INTO {SEARCH} (case_id, {_COLS}) VALUES (NEW.id, {news}); END",
        f"CREATE TRIGGER case_search_update AFTER UPDATE OF {_COLS} ON {CASE} WHEN {_CHANGED} BEGIN "
        f"UPDATE {SEARCH} SET {_SETS} WHERE case_id = NEW.id; END",
        f"CREATE TRIGGER case_search_delete AFTER DELETE ON {CASE} BEGIN "
        f"DELETE FROM {SEARCH} WHERE case_id = OLD.id; END",
    ]


def install_sql(vendor: str) -> list[str]:
    """Fill the side table from the cases, then create the triggers."""
    fill = f"INSERT INTO {SEARCH} (case_id, {_COLS}) SELECT id, {_COLS} FROM {CASE}"
    return [
        *uninstall_sql(vendor),
        f"DELETE FROM {SEARCH}",
        fill,
        *(_postgresql() if vendor == "postgresql" else _sqlite()),
    ]


def uninstall_sql(vendor: str) -> list[str]:
    out = [f"DROP TRIGGER IF EXISTS {name}" + (f" ON {CASE}" if vendor == "postgresql" else "") for name in _NAMES]
    if vendor == "postgresql":
        out += [f"DROP FUNCTION IF EXISTS {name}()" for name in _NAMES]
    return out


def mismatched_sql() -> str:
    """Cases whose side row is missing or differs, plus side rows without a case."""
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM c.{c}" for c in SEARCHED)
    return (
        f"SELECT (SELECT count(*) FROM {CASE} c LEFT JOIN {SEARCH} s ON s.case_id = c.id "
        f"WHERE s.case_id IS NULL OR {differs}) + (SELECT count(*) FROM {SEARCH} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {CASE} c WHERE c.id = s.case_id))"
    )

"""PostgreSQL guards: history tables refuse UPDATE and DELETE outside maintenance.

The guard is lifted for one transaction only by a row in ``escalations_audit_unlock`` for
that transaction's id, and only ``escalations_audit_unlock(reason)`` writes one: a SECURITY
DEFINER function whose EXECUTE right is revoked from PUBLIC and granted to the dedicated
role ``escalations_audit_maintainer``. A session variable (the old way) lifts nothing. The
unlock rows stay as a log of every lift (transaction, role, reason, time).

This holds against the application's runtime login when that login neither owns the schema
nor is a member of the maintainer role (README "Audit trail"); a superuser can still drop a
trigger, which ``verify_audit`` reports (``guard_problems``) and the signed checkpoints
outside the database expose.
"""

from __future__ import annotations

from collections.abc import Iterable

MAINTAINER_ROLE = "escalations_audit_maintainer"
GUARD_NAME = "escalations_audit_append_only"

GUARD_BODY = """
BEGIN
    IF EXISTS (SELECT 1 FROM escalations_audit_unlock WHERE xid = txid_current()) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'history rows are append-only (% on %); only escalations_audit_unlock() lifts the guard',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
"""

UNLOCK_BODY = """
BEGIN
    IF coalesce(btrim(reason), '') = '' THEN
        RAISE EXCEPTION 'say why the audit trail is being changed';
    END IF;
    INSERT INTO escalations_audit_unlock (xid, by_role, reason)
    VALUES (txid_current(), session_user, reason) ON CONFLICT (xid) DO NOTHING;
END
"""


def _sql(body: str) -> str:
    return body.replace("%", "%%")  # schema_editor.execute formats its SQL


STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS escalations_audit_unlock (
        xid bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
        by_role text NOT NULL, reason text NOT NULL)""",
    "REVOKE ALL ON escalations_audit_unlock FROM PUBLIC",
    f"""CREATE OR REPLACE FUNCTION {GUARD_NAME}() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $guard${_sql(GUARD_BODY)}$guard$""",
    f"""CREATE OR REPLACE FUNCTION escalations_audit_unlock(reason text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $unlock${_sql(UNLOCK_BODY)}$unlock$""",
    "REVOKE ALL ON FUNCTION escalations_audit_unlock(text) FROM PUBLIC",
    # The role is cluster-wide: created once (another database may have made it first),
    # skipped with a notice when the migrating login may not create roles (the DBA then runs
    # CREATE ROLE and GRANT EXECUTE by hand, README "Audit trail").
    f"""DO $role$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MAINTAINER_ROLE}') THEN
            CREATE ROLE {MAINTAINER_ROLE} NOLOGIN;
        END IF;
        EXECUTE 'GRANT EXECUTE ON FUNCTION escalations_audit_unlock(text) TO {MAINTAINER_ROLE}';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION escalations_audit_unlock(text) TO {MAINTAINER_ROLE}';
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not create role {MAINTAINER_ROLE}; create it and grant EXECUTE by hand';
    END $role$""",
]


def install_guards(schema_editor, tables: Iterable[str]) -> None:
    """PostgreSQL: make each history table refuse UPDATE and DELETE outside maintenance."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in STATEMENTS:
        schema_editor.execute(statement)
    for table in tables:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_append_only ON "{table}"')
        schema_editor.execute(
            f'CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {GUARD_NAME}()"
        )


def guard_problems(connection, tables: Iterable[str]) -> list[str]:
    """What is wrong with the guards as installed (empty when none): a missing or disabled
    trigger, or a guard function that is not ours (e.g. put back to honour a session variable)."""
    if connection.vendor != "postgresql":
        return []
    problems = []
    with connection.cursor() as cur:
        cur.execute("SELECT prosrc, prosecdef FROM pg_proc WHERE proname = %s", [GUARD_NAME])
        found = cur.fetchall()
        if not found:
            problems.append(f"the guard function {GUARD_NAME} is missing")
        elif any(src.strip() != GUARD_BODY.strip() or not secdef for src, secdef in found):
            problems.append(f"the guard function {GUARD_NAME} was replaced: its body is not the released one")
        cur.execute(
            "SELECT c.relname, t.tgenabled FROM pg_class c LEFT JOIN pg_trigger t "
            "ON t.tgrelid = c.oid AND t.tgname = 'audit_append_only' "
            "WHERE c.relname = ANY(%s) AND c.relkind = 'r'",
            [list(tables)],
        )
        state = dict(cur.fetchall())
    for table in tables:
        if table not in state:
            continue  # no such table here (a model not migrated yet)
        if state[table] is None:
            problems.append(f"{table} has no append-only trigger")
        elif state[table] == "D":
            problems.append(f"{table}'s append-only trigger is disabled")
    return problems

"""PostgreSQL guards: history tables refuse UPDATE and DELETE outside maintenance."""

from __future__ import annotations

from collections.abc import Iterable

from escalations.audit.maintenance import MAINTENANCE_FLAG

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

"""Each handoff carries copies of its case's category, priority and source (as it carries its
opening moment since 0014), and the handoff rollups count every handoff twice: for all cases
and under its case's category, priority and source, so a report filtered on any of them,
alone or together, reads no handoff (issue 15: "whatever the range and filters").

The copies follow the case: on PostgreSQL a trigger fills them on insert when a writer
leaves them out (raw SQL in benchmarks), and on both databases a row trigger on the case
rewrites its handoffs' copies when its category, priority or source changes (a rule raising
the priority in the sweep, a reclassification), in the same statement; the Python write
paths set them at insert. ``check_invariants`` compares them with the cases.

On PostgreSQL the rollup triggers are dropped while the copies are filled in (the update
would otherwise count every handoff out and in again) and the two handoff rollups are
emptied; 0061 installs the triggers again and counts them by case filter.
"""

from django.db import migrations, models

COPIES = ("category_id", "priority", "source")
FILL = """
CREATE OR REPLACE FUNCTION escalations_escalation_case_opened_at() RETURNS trigger AS $$
BEGIN
    SELECT opened_at, category_id, priority, source
    INTO NEW.case_opened_at, NEW.case_category_id, NEW.case_priority, NEW.case_source
    FROM escalations_case WHERE id = NEW.case_id;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS escalation_case_opened_at ON escalations_escalation;
CREATE TRIGGER escalation_case_opened_at BEFORE INSERT ON escalations_escalation
    FOR EACH ROW WHEN (NEW.case_opened_at IS NULL OR NEW.case_category_id IS NULL OR NEW.case_priority IS NULL
                       OR NEW.case_source IS NULL)
    EXECUTE FUNCTION escalations_escalation_case_opened_at();
"""
CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COPIES)
CHANGED_SQLITE = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COPIES)
FOLLOW_PG = f"""
CREATE OR REPLACE FUNCTION escalations_case_copies() RETURNS trigger AS $$
BEGIN
    UPDATE escalations_escalation SET case_category_id = NEW.category_id, case_priority = NEW.priority,
        case_source = NEW.source
    WHERE case_id = NEW.id;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS escalation_case_copies ON escalations_case;
CREATE TRIGGER escalation_case_copies AFTER UPDATE OF {", ".join(COPIES)} ON escalations_case
    FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION escalations_case_copies();
"""
FOLLOW_SQLITE = f"""
CREATE TRIGGER IF NOT EXISTS escalation_case_copies AFTER UPDATE OF {", ".join(COPIES)} ON escalations_case
    FOR EACH ROW WHEN ({CHANGED_SQLITE}) BEGIN
    UPDATE escalations_escalation SET case_category_id = NEW.category_id, case_priority = NEW.priority,
        case_source = NEW.source
    WHERE case_id = NEW.id;
END
"""
HANDOFF_ROLLUPS = ("escalations_handoffrollup", "escalations_raiserrollup")


def backfill(apps, schema_editor):
    """The copies from the cases; on PostgreSQL with the rollup triggers dropped and the two
    handoff rollups emptied (0061 counts them again)."""
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            from escalations.rollups.schema import uninstall_sql  # the app's code: see 0061's ``build``

            for stmt in uninstall_sql():
                cur.execute(stmt)
            cur.execute(f"TRUNCATE {', '.join(HANDOFF_ROLLUPS)}")
            cur.execute(
                "UPDATE escalations_escalation e SET case_category_id = c.category_id, case_priority = c.priority, "
                "case_source = c.source FROM escalations_case c WHERE c.id = e.case_id"
            )
            # The update queued the deferred foreign-key checks of every row; run them now,
            # or the ALTER TABLE below refuses a table with pending trigger events.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        else:
            sets = ", ".join(
                f"case_{c} = (SELECT c.{c} FROM escalations_case c WHERE c.id = escalations_escalation.case_id)"
                for c in COPIES
            )
            cur.execute(f"UPDATE escalations_escalation SET {sets}")


def follow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL)
        schema_editor.execute(FOLLOW_PG)
    else:
        schema_editor.execute(FOLLOW_SQLITE)


def unfollow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS escalation_case_copies ON escalations_case")
        schema_editor.execute("DROP FUNCTION IF EXISTS escalations_case_copies()")
        schema_editor.execute(FILL_0014)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS escalation_case_copies")


# 0014's fill (the opening moment only), restored when this migration is reversed.
FILL_0014 = """
CREATE OR REPLACE FUNCTION escalations_escalation_case_opened_at() RETURNS trigger AS $$
BEGIN
    SELECT opened_at INTO NEW.case_opened_at FROM escalations_case WHERE id = NEW.case_id;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS escalation_case_opened_at ON escalations_escalation;
CREATE TRIGGER escalation_case_opened_at BEFORE INSERT ON escalations_escalation
    FOR EACH ROW WHEN (NEW.case_opened_at IS NULL) EXECUTE FUNCTION escalations_escalation_case_opened_at();
"""


def build(apps, schema_editor):
    """Nothing here any more, for the reason 0051 gives: the last migration that changes the
    rollups (now 0061) installs the triggers and counts the tables left empty (the two
    handoff rollups ``backfill`` emptied, or all of them on a fresh database)."""


def _case_filter_fields(model_name: str) -> list:
    """The rows counting all cases (``whole``) and those under a case's category, priority and
    source; the tables are empty here (``backfill``), so the defaults fill nothing."""
    fields = {
        "whole": models.BooleanField(default=True),
        "category_id": models.IntegerField(default=0),
        "priority": models.SmallIntegerField(default=0),
        "source": models.CharField(default="", max_length=16),
    }
    return [
        migrations.AddField(model_name=model_name, name=name, field=field, preserve_default=False)
        for name, field in fields.items()
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0058_raiser_rollup"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="case_category_id",
            field=models.IntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="escalation",
            name="case_priority",
            field=models.PositiveSmallIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="escalation",
            name="case_source",
            field=models.CharField(blank=True, editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="escalation",
            name="case_category_id",
            field=models.IntegerField(editable=False),
        ),
        migrations.AlterField(
            model_name="escalation",
            name="case_priority",
            field=models.PositiveSmallIntegerField(editable=False),
        ),
        migrations.AlterField(
            model_name="escalation",
            name="case_source",
            field=models.CharField(blank=True, editable=False, max_length=16),
        ),
        migrations.RunPython(follow, unfollow),
        migrations.RemoveConstraint(model_name="handoffrollup", name="handoffrollup_key"),
        migrations.RemoveConstraint(model_name="raiserrollup", name="raiserrollup_key"),
        *_case_filter_fields("handoffrollup"),
        *_case_filter_fields("raiserrollup"),
        migrations.AddConstraint(
            model_name="handoffrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "basis",
                    "grain",
                    "day",
                    "whole",
                    "category_id",
                    "priority",
                    "source",
                    "kind",
                    "status",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "bucket",
                ),
                name="handoffrollup_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="raiserrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "grain",
                    "day",
                    "whole",
                    "category_id",
                    "priority",
                    "source",
                    "kind",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "raised_by_id",
                ),
                name="raiserrollup_key",
            ),
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

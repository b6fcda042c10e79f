"""Each handoff carries its case's opening moment (``Escalation.case_opened_at``), so the
speed report selects "the handoffs of the cases opened in the range" and measures from
opening without joining them to a million cases; a covering index serves that read. Two
covering indexes on the cases: the eight columns the volume, resolution, speed and backlog
passes read (cheaper to scan than the twenty of ``case_report_cover``), and the open cases
(a few per cent) with what the bottlenecks report reads of them, instead of one ~1.8 kB
case row each.

Backfilled from the cases in one statement. On PostgreSQL a trigger fills the column on
insert when a writer leaves it out (raw SQL in benchmarks and scripts); the Python write
paths set it themselves.
"""

from django.db import migrations, models

FILL = """
CREATE OR REPLACE FUNCTION escalations_escalation_case_opened_at() RETURNS trigger AS $$
BEGIN
    SELECT opened_at INTO NEW.case_opened_at FROM escalations_case WHERE id = NEW.case_id;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS escalation_case_opened_at ON escalations_escalation;
CREATE TRIGGER escalation_case_opened_at BEFORE INSERT ON escalations_escalation
    FOR EACH ROW WHEN (NEW.case_opened_at IS NULL) EXECUTE FUNCTION escalations_escalation_case_opened_at();
"""
UNFILL = """
DROP TRIGGER IF EXISTS escalation_case_opened_at ON escalations_escalation;
DROP FUNCTION IF EXISTS escalations_escalation_case_opened_at();
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "UPDATE escalations_escalation e SET case_opened_at = c.opened_at FROM escalations_case c "
            "WHERE c.id = e.case_id"
        )
    else:
        schema_editor.execute(
            "UPDATE escalations_escalation SET case_opened_at = (SELECT c.opened_at FROM escalations_case c "
            "WHERE c.id = escalations_escalation.case_id)"
        )


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0013_case_search_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="case_opened_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="escalation",
            name="case_opened_at",
            field=models.DateTimeField(editable=False),
        ),
        migrations.RunPython(install_trigger, drop_trigger),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                fields=["case_opened_at"],
                include=("kind", "status", "from_level", "to_level", "created_at", "decided_at"),
                name="escalation_report_cover",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["opened_at"],
                include=(
                    "level",
                    "highest_level",
                    "team",
                    "category",
                    "priority",
                    "escalation_count",
                    "first_response_at",
                    "resolved_at",
                ),
                name="case_report_narrow",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("status__in", ("new", "in_progress", "awaiting_customer", "escalated"))),
                fields=["team"],
                include=("id", "opened_at", "level_entered_at", "level", "category", "priority", "source"),
                name="case_open_cover",
            ),
        ),
    ]

"""The duration histograms (``casedurationrollup``) count every case once more under all four
filters at once (slice "*", with team, category, priority and source columns), so the speed
report's medians under two or more filters (a team and a priority, say) read rollup rows
instead of every case of the range (issue 15: "whatever the range and filters").

This is now the last migration that changes the rollups, so it installs the trigger
functions and counts: every rollup on a fresh database (no ``RollupState`` row), else the
tables left empty (the histograms emptied here, and the two handoff rollups 0059 emptied on a
database that was at 0058). PostgreSQL only; the rest of the rollups are left as they are.
"""

from django.db import migrations, models

DURATIONS = "escalations_casedurationrollup"


def empty(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups.schema import uninstall_sql

    with schema_editor.connection.cursor() as cur:
        for stmt in uninstall_sql():
            cur.execute(stmt)
        cur.execute(f"TRUNCATE {DURATIONS}")


def build(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Imported here, not at the top (see ``empty``); the last migration that changes the
    # rollups is the one that installs and counts them.
    from escalations.rollups import build as rollups
    from escalations.rollups.schema import FACTS, all_rows, upsert

    rollups.install()
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM escalations_rollupstate")
        if cur.fetchone()[0] == 0:
            rollups.rebuild()
            return
        for fact, tables in FACTS.items():
            cur.execute(f"LOCK TABLE {fact} IN SHARE MODE")
            for table in tables:
                cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
                if not cur.fetchone()[0]:
                    cur.execute(upsert(table, all_rows(fact), rollups.STATE_TZ))


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0060_review_copies"),
    ]

    operations = [
        migrations.RunPython(empty, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="casedurationrollup", name="casedurationrollup_key"),
        migrations.AddField(
            model_name="casedurationrollup",
            name="team_id",
            field=models.IntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="casedurationrollup",
            name="category_id",
            field=models.IntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="casedurationrollup",
            name="priority",
            field=models.SmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="casedurationrollup",
            name="source",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="casedurationrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "grain",
                    "day",
                    "level_id",
                    "slice",
                    "value",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                    "measure",
                    "bucket",
                ),
                name="casedurationrollup_key",
            ),
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

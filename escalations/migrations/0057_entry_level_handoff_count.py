import django.db.models.deletion
from django.db import migrations, models

# Each case's first handoff (by when it was raised), its number of handoffs and of moves down.
FIRST_AND_COUNT = """
    SELECT case_id, COUNT(*) AS n, (array_agg(from_level_id ORDER BY created_at, id))[1] AS first_from,
        COUNT(*) FILTER (WHERE kind = 'de_escalate' OR status = 'returned') AS down
    FROM escalations_escalation GROUP BY case_id"""
DOWN = "(kind = 'de_escalate' OR status = 'returned')"


def backfill(apps, schema_editor):
    """Where each case entered the ladder (the origin of its first handoff, or the level
    holding it if it never had one), how many handoffs it has had and how often it was
    moved down (returned or de-escalated). On PostgreSQL the rollup triggers are dropped and
    the rollups switched off first (0061 installs and recounts them)."""
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            from escalations.rollups.schema import uninstall_sql  # the app's code: see ``build``

            for stmt in uninstall_sql():
                cur.execute(stmt)
            cur.execute("DELETE FROM escalations_rollupstate")  # off until 0061 recounts them
            cur.execute("UPDATE escalations_case SET entry_level_id = level_id")
            cur.execute(
                f"UPDATE escalations_case c SET entry_level_id = h.first_from, handoff_count = h.n, "
                f"moved_down_count = h.down "
                f"FROM ({FIRST_AND_COUNT}) h WHERE c.id = h.case_id"
            )
            # The updates queued the deferred foreign-key checks of every row; run them now,
            # or the ALTER TABLE below refuses a table with pending trigger events.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        else:
            cur.execute(
                "UPDATE escalations_case SET "
                "handoff_count = (SELECT COUNT(*) FROM escalations_escalation e WHERE e.case_id = escalations_case.id), "
                "moved_down_count = (SELECT COUNT(*) FROM escalations_escalation e "
                f"WHERE e.case_id = escalations_case.id AND {DOWN}), "
                "entry_level_id = COALESCE((SELECT e.from_level_id FROM escalations_escalation e "
                "WHERE e.case_id = escalations_case.id ORDER BY e.created_at, e.id LIMIT 1), level_id)"
            )


def build(apps, schema_editor):
    """Nothing here any more, for the reason 0051 gives: the last migration that changes the
    rollups (now 0061) installs the triggers and counts. ``backfill`` has switched the
    rollups off (no ``RollupState`` row), so 0061 recounts all of them."""


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0056_report_cache"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="entry_level",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="escalations.level",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="handoff_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="case",
            name="moved_down_count",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                help_text="Returns and de-escalations: the times the case went down a level.",
            ),
        ),
        migrations.CreateModel(
            name="EntryRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grain", models.CharField(choices=[("d", "day"), ("w", "week"), ("m", "month")], max_length=1)),
                ("day", models.DateField()),
                ("entry_level_id", models.IntegerField()),
                ("level_id", models.IntegerField()),
                ("team_id", models.IntegerField()),
                ("category_id", models.IntegerField()),
                ("priority", models.SmallIntegerField()),
                ("source", models.CharField(max_length=16)),
                ("n", models.BigIntegerField(default=0)),
                ("h1", models.BigIntegerField(default=0)),
                ("h2", models.BigIntegerField(default=0)),
                ("h3", models.BigIntegerField(default=0)),
                ("h4", models.BigIntegerField(default=0)),
                ("down", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "grain",
                            "day",
                            "entry_level_id",
                            "level_id",
                            "team_id",
                            "category_id",
                            "priority",
                            "source",
                        ),
                        name="entryrollup_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OpenRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level_id", models.IntegerField()),
                ("team_id", models.IntegerField()),
                ("category_id", models.IntegerField()),
                ("priority", models.SmallIntegerField()),
                ("source", models.CharField(max_length=16)),
                ("n", models.BigIntegerField(default=0)),
                ("unassigned", models.BigIntegerField(default=0)),
                ("breached", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("level_id", "team_id", "category_id", "priority", "source"), name="openrollup_key"
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["created_at"],
                include=("kind", "to_level", "to_team", "case"),
                name="escalation_pending",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="case",
            name="entry_level",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="escalations.level",
            ),
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

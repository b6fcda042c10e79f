"""Two changes to the rollups for reports under filters (issue 15):

* A handoff's rows "for all cases" (``whole``) are now kept per source, so a source filter
  alone reads them (through their covering index) instead of summing the rows under every
  category and priority; the two handoff rollups are emptied and counted again.
* The histogram rows crossed with every filter (slice "*", 0061), which two or more filters
  read, get covering indexes led by the category, the team and the priority.

It was the last migration that changed the rollups and counted what was empty; 0068 is now
(see ``build`` below). PostgreSQL only.
"""

from django.db import migrations, models


def empty(apps, schema_editor):
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups import build as rollups

    if schema_editor.connection.vendor == "postgresql":
        rollups.uninstall_and_empty("escalations_handoffrollup", "escalations_raiserrollup")


def build(apps, schema_editor):
    """Nothing here any more: 0068, now the last migration that changes the rollups, installs
    the triggers and counts what is empty (counting here would read the attribute rollup,
    which does not exist yet on a fresh database)."""


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0062_rollup_covering_indexes"),
    ]

    operations = [
        migrations.RunPython(empty, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="handoffrollup",
            name="handoffrollup_whole",
        ),
        migrations.RemoveIndex(
            model_name="raiserrollup",
            name="raiserrollup_whole",
        ),
        migrations.AddIndex(
            model_name="casedurationrollup",
            index=models.Index(
                condition=models.Q(("slice", "*")),
                fields=["category_id", "grain", "day"],
                include=("level_id", "team_id", "priority", "source", "measure", "bucket", "n", "s"),
                name="casedurationrollup_by_category",
            ),
        ),
        migrations.AddIndex(
            model_name="casedurationrollup",
            index=models.Index(
                condition=models.Q(("slice", "*")),
                fields=["team_id", "grain", "day"],
                include=("level_id", "category_id", "priority", "source", "measure", "bucket", "n", "s"),
                name="casedurationrollup_by_team",
            ),
        ),
        migrations.AddIndex(
            model_name="casedurationrollup",
            index=models.Index(
                condition=models.Q(("slice", "*")),
                fields=["priority", "grain", "day"],
                include=("level_id", "category_id", "team_id", "source", "measure", "bucket", "n", "s"),
                name="casedurationrollup_by_priority",
            ),
        ),
        migrations.AddIndex(
            model_name="handoffrollup",
            index=models.Index(
                condition=models.Q(("whole", True)),
                fields=["basis", "grain", "day"],
                include=(
                    "kind",
                    "status",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "bucket",
                    "source",
                    "n",
                    "raised_s",
                    "decided_s",
                    "wait_s",
                    "response_breached",
                    "work_breached",
                ),
                name="handoffrollup_whole",
            ),
        ),
        migrations.AddIndex(
            model_name="raiserrollup",
            index=models.Index(
                condition=models.Q(("whole", True)),
                fields=["grain", "day"],
                include=(
                    "kind",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "raised_by_id",
                    "source",
                    "n",
                    "returned",
                    "live",
                    "thin",
                ),
                name="raiserrollup_whole",
            ),
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

"""The duration histograms (``casedurationrollup``) count every case once more under all four
filters at once (slice "*", with team, category, priority and source columns), so the speed
report's medians under two or more filters (a team and a priority, say) read rollup rows
instead of every case of the range (issue 15: "whatever the range and filters").

It installed the trigger functions and counted what was empty; 0068 does that now (see
``build`` below).
"""

from django.db import migrations, models


def empty(apps, schema_editor):
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups import build as rollups

    if schema_editor.connection.vendor == "postgresql":
        rollups.uninstall_and_empty("escalations_casedurationrollup")


def build(apps, schema_editor):
    """Nothing here any more: 0068, now the last migration that changes the rollups, installs
    the triggers and counts what is empty (counting here would read the attribute rollup,
    which does not exist yet on a fresh database)."""


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

"""Attributes in the rollups (issue 15): the case-keyed rollups (cases, entries, open cases,
resolutions) and the handoff rollup count each fact again under each imported attribute of
its case (``attr_key``, ``attr_value``; "" for all cases, which lead every key), so a report
filtered by an attribute (``attr=country:C07``) reads the rows of that attribute instead of
every case of the range, and so does a breakdown by an attribute with a team, category,
priority or source filter (the case rollup's rows under its key; without those filters it
reads the attribute rollup of 0068, which is kept: some 25 times fewer rows to add up). The
open rollup gains the resolution clocks recorded as breached (``s_breached``), and the cases
an index of the resolution clocks running unmarked (``case_resolution_unmarked``), so the live
desk's breakdown by an attribute reads the open rollup's rows under the key and only the few
open cases past due that the sweep has not marked yet.

The five tables are emptied here and counted again by 0073, now the last migration that
changes the rollups: it installs the trigger functions (on the attributes for all five) and
counts what is empty (``rollups.build.install_and_fill``). PostgreSQL only.
"""

from django.db import migrations, models

TABLES = (
    "escalations_caserollup",
    "escalations_entryrollup",
    "escalations_openrollup",
    "escalations_resolvedrollup",
    "escalations_handoffrollup",
)


def empty(apps, schema_editor):
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups import build as rollups

    if schema_editor.connection.vendor == "postgresql":
        rollups.uninstall_and_empty(*TABLES)


def build(apps, schema_editor):
    """Nothing here any more: 0073, now the last migration that changes the rollups,
    installs the triggers and counts what is empty, these five tables included."""


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0068_attribute_rollup"),
    ]

    operations = [
        migrations.RunPython(empty, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="caserollup",
            name="caserollup_key",
        ),
        migrations.RemoveConstraint(
            model_name="entryrollup",
            name="entryrollup_key",
        ),
        migrations.RemoveConstraint(
            model_name="handoffrollup",
            name="handoffrollup_key",
        ),
        migrations.RemoveConstraint(
            model_name="openrollup",
            name="openrollup_key",
        ),
        migrations.RemoveConstraint(
            model_name="resolvedrollup",
            name="resolvedrollup_key",
        ),
        migrations.RemoveIndex(
            model_name="handoffrollup",
            name="handoffrollup_by_category",
        ),
        migrations.RemoveIndex(
            model_name="handoffrollup",
            name="handoffrollup_by_priority",
        ),
        migrations.AddField(
            model_name="caserollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="caserollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddField(
            model_name="entryrollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="entryrollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddField(
            model_name="handoffrollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="handoffrollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddField(
            model_name="openrollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="openrollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddField(
            model_name="openrollup",
            name="s_breached",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="resolvedrollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="resolvedrollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AddIndex(
            model_name="handoffrollup",
            index=models.Index(
                condition=models.Q(("attr_key", ""), ("whole", False)),
                fields=["category_id", "basis", "grain", "day"],
                include=(
                    "priority",
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
                name="handoffrollup_by_category",
            ),
        ),
        migrations.AddIndex(
            model_name="handoffrollup",
            index=models.Index(
                condition=models.Q(("attr_key", ""), ("whole", False)),
                fields=["priority", "basis", "grain", "day"],
                include=(
                    "category_id",
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
                name="handoffrollup_by_priority",
            ),
        ),
        migrations.AddConstraint(
            model_name="caserollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "level_id",
                    "highest_level_id",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                ),
                name="caserollup_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="entryrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "attr_key",
                    "attr_value",
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
            ),
        ),
        migrations.AddConstraint(
            model_name="handoffrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "attr_key",
                    "attr_value",
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
            model_name="openrollup",
            constraint=models.UniqueConstraint(
                fields=("attr_key", "attr_value", "level_id", "team_id", "category_id", "priority", "source"),
                name="openrollup_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="resolvedrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "level_id",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                ),
                name="resolvedrollup_key",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("resolution_breached_at__isnull", True), ("resolved_at__isnull", True)),
                fields=["resolution_due_at"],
                name="case_resolution_unmarked",
            ),
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

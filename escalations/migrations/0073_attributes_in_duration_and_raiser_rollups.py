"""Attributes in the last two rollups (issue 15): the histograms of time to first response
and to resolution count each case once more in the slice of each of its imported attributes
(``slice`` "attr:<key>", ``value`` the attribute's value), and the raiser rollup counts each
handoff once more under each attribute of its case (``attr_key``, ``attr_value``, leading the
key, as the handoff rollup since 0069). So `speed`'s medians and `quality`'s over-escalation
under an attribute filter read rollup rows instead of every case (or handoff) that has the
attribute: at 1M cases 36,000 cases per value, at 10M 360,000.

Nothing is counted again: the rows for all cases stay as they are; the rows under each
attribute are added from the attributes joined to their cases and handoffs
(``rollups.build.install_and_fill``, now run here, the last migration that changes the
rollups; 0069 no longer does). The slice and value columns grow to an attribute's key and
value (PostgreSQL changes a varchar's limit without rewriting the table). PostgreSQL only.
"""

from django.db import migrations, models


def build(apps, schema_editor):
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups import build as rollups

    if schema_editor.connection.vendor == "postgresql":
        rollups.install_and_fill(attributes_added=("escalations_casedurationrollup", "escalations_raiserrollup"))


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0072_policy_snapshot_table"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="raiserrollup",
            name="raiserrollup_key",
        ),
        migrations.RemoveIndex(
            model_name="raiserrollup",
            name="raiserrollup_by_category",
        ),
        migrations.RemoveIndex(
            model_name="raiserrollup",
            name="raiserrollup_by_priority",
        ),
        migrations.AddField(
            model_name="raiserrollup",
            name="attr_key",
            field=models.CharField(default="", max_length=40),
        ),
        migrations.AddField(
            model_name="raiserrollup",
            name="attr_value",
            field=models.CharField(default="", max_length=200),
        ),
        migrations.AlterField(
            model_name="casedurationrollup",
            name="slice",
            field=models.CharField(max_length=45),
        ),
        migrations.AlterField(
            model_name="casedurationrollup",
            name="value",
            field=models.CharField(max_length=200),
        ),
        migrations.AddIndex(
            model_name="raiserrollup",
            index=models.Index(
                condition=models.Q(("attr_key", ""), ("whole", False)),
                fields=["category_id", "grain", "day"],
                include=(
                    "priority",
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
                name="raiserrollup_by_category",
            ),
        ),
        migrations.AddIndex(
            model_name="raiserrollup",
            index=models.Index(
                condition=models.Q(("attr_key", ""), ("whole", False)),
                fields=["priority", "grain", "day"],
                include=(
                    "category_id",
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
                name="raiserrollup_by_priority",
            ),
        ),
        migrations.AddConstraint(
            model_name="raiserrollup",
            constraint=models.UniqueConstraint(
                fields=(
                    "attr_key",
                    "attr_value",
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

"""The attribute rollup (issue 15): cases per imported attribute value, so a breakdown by an
attribute (``by=attr:country``) reads a few rows per value and month instead of every case
of the range (about 1 s at 1M cases). The case rollup gains the seconds from opening to
resolution (``resolve_s``) and the cases open now (``open_now``, by status), which the
breakdown's "(none)" row needs (the cases without the attribute: all cases less those with
it); it is emptied and counted again.

This was the last migration that changed the rollups until 0069; 0073 now installs the trigger
functions and counts what is empty (``rollups.build.install_and_fill``):
every rollup on a fresh database, else the two tables emptied here and whatever an earlier
migration emptied (0061 and 0063 no longer count: their count would read every rollup the
code knows, and the attribute rollup does not exist yet at that point on a fresh database).
PostgreSQL only.
"""

from django.db import migrations, models


def empty(apps, schema_editor):
    # Imported here, not at the top, so the migration loads without the app's code elsewhere.
    from escalations.rollups import build as rollups

    if schema_editor.connection.vendor == "postgresql":
        rollups.uninstall_and_empty("escalations_caserollup")


def build(apps, schema_editor):
    """Nothing here any more: 0073, now the last migration that changes the rollups, installs
    the triggers (on the attributes for the case-keyed and handoff rollups too) and counts
    what is empty, this table included."""


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0067_case_lifetime"),
    ]

    operations = [
        migrations.RunPython(empty, migrations.RunPython.noop),
        migrations.AddField(
            model_name="caserollup",
            name="open_now",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="caserollup",
            name="resolve_s",
            field=models.FloatField(default=0),
        ),
        migrations.CreateModel(
            name="AttributeRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=40)),
                ("value", models.CharField(max_length=200)),
                ("grain", models.CharField(choices=[("d", "day"), ("w", "week"), ("m", "month")], max_length=1)),
                ("day", models.DateField()),
                ("level_id", models.IntegerField()),
                ("highest_level_id", models.IntegerField()),
                ("n", models.BigIntegerField(default=0)),
                ("escalated", models.BigIntegerField(default=0)),
                ("resolved", models.BigIntegerField(default=0)),
                ("reopened", models.BigIntegerField(default=0)),
                ("handoffs", models.BigIntegerField(default=0)),
                ("moves", models.BigIntegerField(default=0)),
                ("r_met", models.BigIntegerField(default=0)),
                ("r_late", models.BigIntegerField(default=0)),
                ("s_met", models.BigIntegerField(default=0)),
                ("s_late", models.BigIntegerField(default=0)),
                ("fr_n", models.BigIntegerField(default=0)),
                ("fr_s", models.FloatField(default=0)),
                ("resolve_s", models.FloatField(default=0)),
                ("made", models.BigIntegerField(default=0)),
                ("verdicts", models.BigIntegerField(default=0)),
                ("open_now", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key", "grain", "day", "value", "level_id", "highest_level_id"),
                        name="attributerollup_key",
                    )
                ],
            },
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]

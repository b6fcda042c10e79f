"""Each review keeps where its case stood when it was written (level, team, category,
priority, source), so the reviews report filters reviews without reading a case row per
review: with a level or team filter at ten million cases the planner read every case to
join them (3 s). A reviewed case is closed (or a resolved major incident), so these are its
final place; filled in here from the cases, set by ``workflow.case_review`` from now on."""

from django.db import migrations, models

COPIES = {
    "level_id": "level_id",
    "team_id": "team_id",
    "category_id": "category_id",
    "priority": "priority",
    "source": "source",
}


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            sets = ", ".join(f"case_{k} = c.{v}" for k, v in COPIES.items())
            cur.execute(f"UPDATE escalations_review r SET {sets} FROM escalations_case c WHERE c.id = r.case_id")
            # As in 0057: run the deferred foreign-key checks the update queued before the ALTERs.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        else:
            sets = ", ".join(
                f"case_{k} = (SELECT c.{v} FROM escalations_case c WHERE c.id = escalations_review.case_id)"
                for k, v in COPIES.items()
            )
            cur.execute(f"UPDATE escalations_review SET {sets}")


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0059_handoff_case_copies"),
    ]

    operations = [
        migrations.AddField(
            model_name="review", name="case_level_id", field=models.IntegerField(editable=False, null=True)
        ),
        migrations.AddField(
            model_name="review", name="case_team_id", field=models.IntegerField(editable=False, null=True)
        ),
        migrations.AddField(
            model_name="review", name="case_category_id", field=models.IntegerField(editable=False, null=True)
        ),
        migrations.AddField(
            model_name="review",
            name="case_priority",
            field=models.PositiveSmallIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="review",
            name="case_source",
            field=models.CharField(blank=True, editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(model_name="review", name="case_level_id", field=models.IntegerField(editable=False)),
        migrations.AlterField(model_name="review", name="case_category_id", field=models.IntegerField(editable=False)),
        migrations.AlterField(
            model_name="review", name="case_priority", field=models.PositiveSmallIntegerField(editable=False)
        ),
        migrations.AlterField(
            model_name="review",
            name="case_source",
            field=models.CharField(blank=True, editable=False, max_length=16),
        ),
    ]

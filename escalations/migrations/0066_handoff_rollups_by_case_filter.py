"""The handoff and raiser rollups' rows under each case's filters (``whole`` false), read
through an index led by the filter (issue 15): a category filter (with or without a
priority) through the category, a priority filter through the priority. Their key leads
with the day, so under a category or priority filter every filter's rows of the range were
read: at 10M cases 0.66-1.34 s for the handoff figures, and the raiser rows by a sequential
scan (196 ms at 1M)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0065_held_cases_index_only"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="handoffrollup",
            index=models.Index(
                condition=models.Q(("whole", False)),
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
                condition=models.Q(("whole", False)),
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
        migrations.AddIndex(
            model_name="raiserrollup",
            index=models.Index(
                condition=models.Q(("whole", False)),
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
                condition=models.Q(("whole", False)),
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
    ]

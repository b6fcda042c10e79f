"""The speed report's time at each level under a team filter joins the cases the team holds
to their handoffs. Only the cases with a handoff matter: ``case_team_status`` now carries the
handoff count (kept with the handoffs since 0057) and ``escalation_case_status`` what the
report reads of each handoff (its copies of the case's category, priority and source too, for
a team with a case filter), so the join probes the few cases with handoffs index-only
instead of hashing every handoff of the range (at 1M cases the query took 61 ms instead of
218; at 10M it read all 4 million handoffs). Neither index adds a write: both were already
rewritten by the moves that change what they now carry (a handoff changes the case's level,
an acceptance the handoff's status)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0064_case_team_status_covering"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="case",
            name="case_team_status",
        ),
        migrations.RemoveIndex(
            model_name="escalation",
            name="escalation_case_status",
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["team", "status"], include=("id", "level", "handoff_count"), name="case_team_status"
            ),
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                fields=["case", "status"],
                include=(
                    "kind",
                    "from_level",
                    "to_level",
                    "created_at",
                    "decided_at",
                    "case_opened_at",
                    "case_category_id",
                    "case_priority",
                    "case_source",
                ),
                name="escalation_case_status",
            ),
        ),
    ]

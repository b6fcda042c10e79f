"""``case_team_status`` carries the case ids and levels, so the speed report's time at each
level under a team filter (every handoff of the cases the team holds) reads the team's cases
index-only instead of every case of the range (issue 15: 436 to 144 ms at 1M cases). The case
table gets no new index: the one it replaces was already rewritten by any team or level move."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0063_rollups_whole_by_source"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="case",
            name="case_team_status",
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["team", "status"], include=("id", "level"), name="case_team_status"),
        ),
    ]

"""The cases open at a past moment, found by lifetime class and opening time (issue 15: the
bottlenecks report's backlog per team at the end of a range read every case opened before
it: 0.5 s at 1M cases). See ``escalations.models.lifetime``."""

import escalations.models.lifetime
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0066_handoff_rollups_by_case_filter"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                escalations.models.lifetime.LifetimeClass(),
                models.F("opened_at"),
                include=("resolved_at", "id", "team", "level", "category", "priority", "source", "level_entered_at"),
                name="case_lifetime",
            ),
        ),
    ]

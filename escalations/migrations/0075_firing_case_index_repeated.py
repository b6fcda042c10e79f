"""The rule firing's own index on its case goes (issue 18): it repeated the unique
constraint ``one_firing_per_case_rule_level``, which leads with the case and serves every
read by case and Case's CASCADE (tests/test_indexes.py). The sweep inserts a firing per
escalation, so each one now writes one index entry fewer."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0074_rollup_triggers_without_jit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rulefiring",
            name="case",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rule_firings",
                to="escalations.case",
            ),
        ),
    ]

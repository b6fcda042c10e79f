"""Declare the schedule that scores new open cases every 5 minutes (rules on the predicted
risk need a score soon after intake); idempotent by name."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0044_case_waits")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

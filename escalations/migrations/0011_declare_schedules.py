"""Declare schedules added since the defaults (the daily risk retraining); idempotent by name."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0010_intelligence_guards_and_roles")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

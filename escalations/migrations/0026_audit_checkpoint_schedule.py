"""Declare the hourly audit checkpoint schedule (idempotent by name)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0025_audit_key_ids_and_guard_role")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""The desk's own account (the system actor of automatic and channel actions), and the
schedules pointing at the tasks' new home (``escalations.automation.tasks``)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_schedules, ensure_system_actor

    ensure_system_actor(apps)
    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0015_similar_case_indexes"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Default data (levels, authority, calendars, policy, path, rules, groups, schedules).

Every step is get-or-create by a natural key, so running it again changes nothing.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_all, ensure_permissions

    ensure_permissions(apps)
    ensure_all(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

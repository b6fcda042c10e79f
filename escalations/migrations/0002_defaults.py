"""Default data (levels, authority, calendars, policy, path, rules, groups, schedules).

Every step is get-or-create by a natural key, so running it again changes nothing.
"""
from django.db import migrations


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    from escalations.defaults import ensure_all

    # Permissions normally appear after all migrations (post_migrate); the groups need them now.
    app_config = apps.get_app_config("escalations")
    app_config.models_module = True
    create_contenttypes(app_config, verbosity=0, apps=apps)
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    ensure_all(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Roles that read the desk's records may read each imported log's data range too."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_groups, ensure_permissions

    ensure_permissions(apps)
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0037_text_limits_merged")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

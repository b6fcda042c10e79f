"""Groups gain the audit models' view permission and managers may look up users."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_groups, ensure_permissions

    ensure_permissions(apps)
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0005_audit_guards")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

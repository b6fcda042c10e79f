"""The portal's history table gets the append-only guard, roles get its models' view
permissions, and the default low-satisfaction rule is declared (idempotent by name)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions, ensure_satisfaction_rule

    install_guards(schema_editor, [apps.get_model("escalations", "HistoricalSatisfactionSurvey")._meta.db_table])
    ensure_permissions(apps)
    ensure_groups(apps)
    ensure_satisfaction_rule(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0031_portal")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""New history tables get the append-only guard; roles get the new models' permissions."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions

    install_guards(
        schema_editor,
        [
            apps.get_model("escalations", name)._meta.db_table
            for name in ("HistoricalScoringPolicy", "HistoricalRoutingPolicy", "HistoricalCollaboration")
        ],
    )
    ensure_permissions(apps)
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0009_intelligence")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

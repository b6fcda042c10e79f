"""The API and monitoring tables' history gets the append-only guard, roles get the new
models' permissions, and the default severity mapping is written (idempotent)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_alert_severities, ensure_groups, ensure_permissions

    install_guards(
        schema_editor,
        [
            apps.get_model("escalations", name)._meta.db_table
            for name in (
                "HistoricalApiToken",
                "HistoricalAlertSeverity",
                "HistoricalAlertRule",
                "HistoricalTeamWebhook",
            )
        ],
    )
    ensure_permissions(apps)
    ensure_groups(apps)
    ensure_alert_severities(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0029_api_monitoring")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

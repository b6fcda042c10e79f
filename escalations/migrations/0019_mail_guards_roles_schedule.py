"""The mail channel's history tables get the append-only guard, roles get its models'
permissions, and the fetch_mail schedule is declared (idempotent by name)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions, ensure_schedules

    install_guards(
        schema_editor,
        [apps.get_model("escalations", name)._meta.db_table for name in ("HistoricalAttachment", "HistoricalMailbox")],
    )
    ensure_permissions(apps)
    ensure_groups(apps)
    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0018_mail_channel")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

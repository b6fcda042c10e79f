"""PostgreSQL: history tables refuse UPDATE and DELETE outside a maintenance transaction."""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards

    tables = [
        m._meta.db_table
        for m in apps.get_app_config("escalations").get_models()
        if any(f.name == "row_hash" for f in m._meta.fields)
    ]
    install_guards(schema_editor, tables)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for m in apps.get_app_config("escalations").get_models():
        if any(f.name == "row_hash" for f in m._meta.fields):
            schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_append_only ON "{m._meta.db_table}"')


class Migration(migrations.Migration):
    dependencies = [("escalations", "0004_audit_chain")]
    operations = [migrations.RunPython(forwards, backwards)]

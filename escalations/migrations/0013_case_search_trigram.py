"""Trigram indexes for the queue search box on PostgreSQL.

The queues search title, requester name and requester e-mail with ``icontains``, which
Django writes as ``UPPER(col) LIKE UPPER('%word%')``. A GIN trigram index on the same
``UPPER(col)`` expression answers that without reading the table at a million cases.
SQLite has no such index; there the search stays a scan, which is fine at demo sizes.
"""

from django.db import migrations

COLUMNS = ("title", "requester_name", "requester_email")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS case_{column}_trgm ON escalations_case "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS case_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0012_report_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]

"""The searched text in a side table the sweep never updates (issue 18).

The three trigram indexes of 0013 and the portal's ``UPPER(requester_email)`` index move
from the case table to ``escalations_casesearch``, which triggers keep equal to the cases'
text (``core/search_text.py``): a case update no longer writes four index entries for
text that did not change. The table is filled from the cases before its indexes are built.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from escalations.core import search_text

TRIGRAM = search_text.SEARCHED


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for stmt in search_text.install_sql(vendor):
        schema_editor.execute(stmt)
    if vendor != "postgresql":
        return
    for column in TRIGRAM:
        schema_editor.execute(f"DROP INDEX IF EXISTS case_{column}_trgm")
        schema_editor.execute(
            f"CREATE INDEX casesearch_{column}_trgm ON escalations_casesearch "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def analyze(apps, schema_editor):
    """Statistics for the new table and its expression indexes: without them the planner
    guesses that any word matches a few rows, and a word in most titles (every match then
    sorted by deadline) took seconds where walking the deadline index takes a fraction."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE escalations_casesearch")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for stmt in search_text.uninstall_sql(vendor):
        schema_editor.execute(stmt)
    if vendor != "postgresql":
        return
    for column in TRIGRAM:
        schema_editor.execute(f"DROP INDEX IF EXISTS casesearch_{column}_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS case_{column}_trgm ON escalations_case "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0069_attributes_in_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseSearch",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_text",
                        serialize=False,
                        to="escalations.case",
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("requester_name", models.CharField(max_length=120)),
                ("requester_email", models.EmailField(max_length=254)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="casesearch",
            index=models.Index(django.db.models.functions.text.Upper("requester_email"), name="casesearch_email_upper"),
        ),
        migrations.RemoveIndex(
            model_name="case",
            name="case_requester_email_upper",
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]

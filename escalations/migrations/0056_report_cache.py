"""The forecast's tables kept for the day (``ReportCache``), and the hourly schedule that
computes them ahead of the first page view; idempotent by name."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    # Imported here: the defaults module is read when the migration runs, not when loaded.
    from escalations.domain.defaults import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0054_rollup_figures"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReportCache",
            fields=[
                (
                    "key",
                    models.CharField(
                        help_text="SHA-256 of the report, filters, day and data.",
                        max_length=64,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("report", models.CharField(max_length=40)),
                ("day", models.DateField(help_text="The local day the tables were computed for.")),
                ("tables", models.BinaryField(help_text="The report's tables, pickled (written only by this desk).")),
                ("computed_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="reportcache_day")],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

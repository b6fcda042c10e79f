"""Following is audited: the table Django made for ``Case.watchers`` becomes the
``CaseWatcher`` model (state only: same table, columns and constraints), gains
``followed_at``, and gets a history table with the append-only guard."""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions

    install_guards(schema_editor, [apps.get_model("escalations", "HistoricalCaseWatcher")._meta.db_table])
    ensure_permissions(apps)
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0041_canned_replies_note_files"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="CaseWatcher",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "case",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="follows",
                                to="escalations.case",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="follows",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "follower",
                        "db_table": "escalations_case_watchers",
                        "unique_together": {("case", "user")},
                    },
                ),
                migrations.AlterField(
                    model_name="case",
                    name="watchers",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="watched_cases",
                        through="escalations.CaseWatcher",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="casewatcher",
            name="followed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.CreateModel(
            name="HistoricalCaseWatcher",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("prev_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                ("row_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                (
                    "history_action",
                    models.CharField(blank=True, db_default="", default="", editable=False, max_length=32),
                ),
                ("audit_key", models.CharField(blank=True, db_default="", default="", editable=False, max_length=16)),
                ("followed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.TextField(null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="escalations.case",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical follower",
                "verbose_name_plural": "historical followers",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

"""Canned replies per team (with their append-only history table and the roles'
permissions: everyone reads them, managers keep them), and the outbox row's link to
the public update whose files go out with the e-mail."""

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions

    install_guards(schema_editor, [apps.get_model("escalations", "HistoricalCannedReply")._meta.db_table])
    ensure_permissions(apps)
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0040_saved_queue_filters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="note",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="escalations.note",
            ),
        ),
        migrations.CreateModel(
            name="CannedReply",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="What the picker on the case page shows.", max_length=120)),
                (
                    "body",
                    models.TextField(
                        help_text="The text inserted into the public update. May name {requester_name} (the requester's name), {case_ref} (the case reference, e.g. [case #42]), {case_title} (the case's title), {agent_name} (your own name).",
                        max_length=10000,
                        validators=[django.core.validators.MaxLengthValidator(10000)],
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        help_text="Offered to this team's members; blank: to everyone.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="canned_replies",
                        to="escalations.team",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "canned replies",
                "ordering": ["name", "pk"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalCannedReply",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("prev_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                ("row_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                (
                    "history_action",
                    models.CharField(blank=True, db_default="", default="", editable=False, max_length=32),
                ),
                ("audit_key", models.CharField(blank=True, db_default="", default="", editable=False, max_length=16)),
                ("name", models.CharField(help_text="What the picker on the case page shows.", max_length=120)),
                (
                    "body",
                    models.TextField(
                        help_text="The text inserted into the public update. May name {requester_name} (the requester's name), {case_ref} (the case reference, e.g. [case #42]), {case_title} (the case's title), {agent_name} (your own name).",
                        max_length=10000,
                        validators=[django.core.validators.MaxLengthValidator(10000)],
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.TextField(null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
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
                    "team",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Offered to this team's members; blank: to everyone.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="escalations.team",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical canned reply",
                "verbose_name_plural": "historical canned replies",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

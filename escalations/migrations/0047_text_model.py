"""The text model (issue 17): stored coefficients, each case's suggestion and its decision
(with an append-only history table), the routing policy's "route straight to the
predicted level", and the daily retraining schedule."""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    from escalations.audit.guards import install_guards
    from escalations.domain.defaults import ensure_groups, ensure_permissions, ensure_schedules

    install_guards(schema_editor, [apps.get_model("escalations", "HistoricalCaseSuggestion")._meta.db_table])
    ensure_permissions(apps)
    ensure_groups(apps)
    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0045_lean_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TextModel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trained_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("is_active", models.BooleanField(default=True)),
                ("source", models.CharField(default="all", max_length=16)),
                (
                    "parameters",
                    models.JSONField(
                        default=dict, help_text="Per target: classes, coefficients by bucket, intercepts."
                    ),
                ),
                ("metrics", models.JSONField(default=dict)),
                ("n_train", models.PositiveIntegerField(default=0)),
                ("n_test", models.PositiveIntegerField(default=0)),
            ],
            options={
                "ordering": ["-trained_at"],
            },
        ),
        migrations.AddField(
            model_name="historicalroutingpolicy",
            name="predicted_level_confidence",
            field=models.FloatField(
                default=0.8, help_text="How confident (0-1) the text model must be to route a case straight up."
            ),
        ),
        migrations.AddField(
            model_name="historicalroutingpolicy",
            name="route_to_predicted_level",
            field=models.BooleanField(
                default=False,
                help_text="Route straight to the predicted level: a new case the text model is confident needs a higher level than its first step goes there at intake, with an automatic handoff saying why.",
            ),
        ),
        migrations.AddField(
            model_name="routingpolicy",
            name="predicted_level_confidence",
            field=models.FloatField(
                default=0.8, help_text="How confident (0-1) the text model must be to route a case straight up."
            ),
        ),
        migrations.AddField(
            model_name="routingpolicy",
            name="route_to_predicted_level",
            field=models.BooleanField(
                default=False,
                help_text="Route straight to the predicted level: a new case the text model is confident needs a higher level than its first step goes there at intake, with an automatic handoff saying why.",
            ),
        ),
        migrations.CreateModel(
            name="HistoricalCaseSuggestion",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("prev_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                ("row_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                (
                    "history_action",
                    models.CharField(blank=True, db_default="", default="", editable=False, max_length=32),
                ),
                ("audit_key", models.CharField(blank=True, db_default="", default="", editable=False, max_length=16)),
                ("category_confidence", models.FloatField(blank=True, null=True)),
                ("priority", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("priority_confidence", models.FloatField(blank=True, null=True)),
                ("level_confidence", models.FloatField(blank=True, null=True)),
                (
                    "words",
                    models.JSONField(blank=True, default=dict, help_text="Per target, the words that weighed most."),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[("pending", "Not decided yet"), ("accepted", "Accepted"), ("changed", "Changed")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("category_accepted", models.BooleanField(blank=True, null=True)),
                ("priority_accepted", models.BooleanField(blank=True, null=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "routed",
                    models.BooleanField(default=False, help_text="Sent straight to the suggested level at intake."),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
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
                    "category",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="escalations.category",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
                    "level",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="escalations.level",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="escalations.textmodel",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical case suggestion",
                "verbose_name_plural": "historical case suggestions",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="CaseSuggestion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("category_confidence", models.FloatField(blank=True, null=True)),
                ("priority", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("priority_confidence", models.FloatField(blank=True, null=True)),
                ("level_confidence", models.FloatField(blank=True, null=True)),
                (
                    "words",
                    models.JSONField(blank=True, default=dict, help_text="Per target, the words that weighed most."),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[("pending", "Not decided yet"), ("accepted", "Accepted"), ("changed", "Changed")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("category_accepted", models.BooleanField(blank=True, null=True)),
                ("priority_accepted", models.BooleanField(blank=True, null=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "routed",
                    models.BooleanField(default=False, help_text="Sent straight to the suggested level at intake."),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "case",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="suggestion", to="escalations.case"
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="escalations.category",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "level",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="escalations.level",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="escalations.textmodel",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["decision", "created_at"], name="suggestion_decision")],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

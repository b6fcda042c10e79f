"""Keys most rows leave unset are indexed only where set (issue 18, docs/indexes.md).

The case's ``created_by`` and ``follow_up_of``, the handoff's ``decided_by`` (unset while
it waits) and ``from_assignee`` (unset when nobody held the case), the case history's
``assignee`` and the notice's ``webhook`` and ``note`` had full indexes, so every row
without one wrote a NULL entry: each sweep escalation wrote five such entries (the case
update is not HOT, so each of its indexes gets one). Partial indexes ``WHERE key IS NOT
NULL`` serve every lookup by the key (an equality or ``IN`` implies it is set; the
``on_delete`` queries included, tests/test_indexes.py asks for their plans). The case
history's ``follow_up_of`` index goes: nothing reads the history by it. The notice's
``dedupe_key`` keeps its uniqueness as a constraint without the ``varchar_pattern_ops``
twin ``unique=True`` builds (no query uses ``LIKE`` on it)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0075_firing_case_index_repeated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="follow_up_of",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="follow_ups",
                to="escalations.case",
            ),
        ),
        migrations.AlterField(
            model_name="escalation",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="escalation",
            name="from_assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="follow_up_of",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="escalations.case",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="dedupe_key",
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name="notification",
            name="note",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="escalations.note",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="webhook",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="escalations.teamwebhook",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("created_by__isnull", False)), fields=["created_by"], name="case_created_by"
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("follow_up_of__isnull", False)), fields=["follow_up_of"], name="case_follow_up_of"
            ),
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                condition=models.Q(("decided_by__isnull", False)), fields=["decided_by"], name="escalation_decided_by"
            ),
        ),
        migrations.AddIndex(
            model_name="escalation",
            index=models.Index(
                condition=models.Q(("from_assignee__isnull", False)),
                fields=["from_assignee"],
                name="escalation_from_assignee",
            ),
        ),
        migrations.AddIndex(
            model_name="historicalcase",
            index=models.Index(
                condition=models.Q(("assignee__isnull", False)), fields=["assignee"], name="historicalcase_assignee"
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("webhook__isnull", False)), fields=["webhook"], name="notification_webhook"
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(condition=models.Q(("note__isnull", False)), fields=["note"], name="notification_note"),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(fields=("dedupe_key",), name="notification_dedupe_key"),
        ),
    ]

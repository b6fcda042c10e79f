"""Trigger conditions on the predicted risk; declare the schedule that scores new open cases every 5 minutes (rules on the predicted
risk need a score soon after intake); idempotent by name."""

from django.db import migrations, models

CONDITIONS = [
    ("sla_percent", "% of an SLA target used"),
    ("priority", "Priority at or above"),
    ("impact", "Impact at or above"),
    ("complexity", "Complexity is"),
    ("customer_tier", "Customer tier is"),
    ("reassignments", "Reassignments at this level at least"),
    ("reopens", "Reopens at least"),
    ("no_response", "No response within"),
    ("low_satisfaction", "Satisfaction answer at or below (when answered)"),
    ("breach_risk", "Predicted breach risk at least"),
    ("escalation_risk", "Predicted escalation risk at least"),
]


def forwards(apps, schema_editor):
    from escalations.domain.defaults import ensure_schedules

    ensure_schedules(apps)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0047_text_model")]
    operations = [
        migrations.AlterField(
            model_name="historicaltriggerrule",
            name="condition",
            field=models.CharField(choices=CONDITIONS, max_length=32),
        ),
        migrations.AlterField(
            model_name="triggerrule",
            name="condition",
            field=models.CharField(choices=CONDITIONS, max_length=32),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

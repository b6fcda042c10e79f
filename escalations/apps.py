from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalation desk"
    default_auto_field = "django.db.models.BigAutoField"

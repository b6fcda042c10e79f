from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalation desk"
    default_auto_field = "django.db.models.BigAutoField"

    # Saving or deleting any of these clears this process's configuration cache.
    CONFIG_MODELS = (
        "Level", "Category", "Team", "StaffProfile", "AuthorityGrant", "BusinessCalendar", "WorkingRange",
        "Holiday", "SlaPolicy", "SlaTarget", "EscalationPath", "PathStep", "TriggerRule", "ScoringPolicy",
        "RoutingPolicy",
    )

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .config_cache import clear

        for name in self.CONFIG_MODELS:
            model = self.get_model(name)
            post_save.connect(clear, sender=model, dispatch_uid=f"config-cache-save-{name}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"config-cache-delete-{name}")

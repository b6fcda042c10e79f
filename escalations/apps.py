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
        # Cached permission sets (auth_backend): users, groups and who belongs where.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed

        User = get_user_model()
        for model in (User, Group, Permission):
            post_save.connect(clear, sender=model, dispatch_uid=f"config-cache-save-{model.__name__}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"config-cache-delete-{model.__name__}")
        for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(clear, sender=through, dispatch_uid=f"config-cache-m2m-{through.__name__}")

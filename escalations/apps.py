from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save

from escalations.audit.chain import stamp_action
from escalations.core.config_cache import clear


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalation desk"
    default_auto_field = "django.db.models.BigAutoField"

    # Saving or deleting any of these clears this process's configuration cache.
    CONFIG_MODELS = (
        "Level",
        "Category",
        "Team",
        "StaffProfile",
        "AuthorityGrant",
        "BusinessCalendar",
        "WorkingRange",
        "Holiday",
        "SlaPolicy",
        "SlaTarget",
        "EscalationPath",
        "PathStep",
        "TriggerRule",
        "ScoringPolicy",
        "RoutingPolicy",
        "TeamWebhook",
        "AlertRule",
        "AlertSeverity",
    )

    def ready(self) -> None:
        # Model modules load only once the app registry is ready (Django's convention).
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from simple_history.signals import pre_create_historical_record

        from escalations.audit import checks  # noqa: F401 - registers the deploy checks

        pre_create_historical_record.connect(stamp_action, dispatch_uid="escalations-history-action")
        for name in self.CONFIG_MODELS:
            model = self.get_model(name)
            post_save.connect(clear, sender=model, dispatch_uid=f"config-cache-save-{name}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"config-cache-delete-{name}")
        # Cached permission sets (auth_backend): users, groups and who belongs where.
        User = get_user_model()
        for model in (User, Group, Permission):
            post_save.connect(clear, sender=model, dispatch_uid=f"config-cache-save-{model.__name__}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"config-cache-delete-{model.__name__}")
        Team = self.get_model("Team")  # a team's skills decide routing (cached per level)
        for through in (
            User.groups.through,
            User.user_permissions.through,
            Group.permissions.through,
            Team.skills.through,
        ):
            m2m_changed.connect(clear, sender=through, dispatch_uid=f"config-cache-m2m-{through.__name__}")

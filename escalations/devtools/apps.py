from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Benchmarks, load generators and data builders for development and CI; production
    settings do not install this app (``project/settings.py``), so none of it ships
    in a production process."""

    name = "escalations.devtools"
    label = "escalations_devtools"
    verbose_name = "Escalation desk: development tools"

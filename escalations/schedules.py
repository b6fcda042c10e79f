"""Declares the django-q2 schedules, idempotently by name."""
from __future__ import annotations

SCHEDULES = {
    # name: (function, minutes)
    "escalations.sweep": ("escalations.tasks.sweep", 1),
    "escalations.flush_outbox": ("escalations.tasks.flush_outbox", 1),
    "escalations.risk_retrain": ("escalations.tasks.risk_retrain", 24 * 60),  # daily
}


def ensure_schedules(Schedule=None) -> int:  # noqa: N803 - a model class
    """Create or update each schedule by its name; running it twice changes nothing.

    ``Schedule`` may be a migration's historical model."""
    if Schedule is None:
        from django_q.models import Schedule

    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )
    return len(SCHEDULES)

"""django-q2 entry points: stable dotted names, thin, safe to run twice."""
from __future__ import annotations

from . import notifications
from .sweep import run_sweep


def sweep() -> dict:
    result = run_sweep()
    return {"examined": result.examined, "actions": result.actions, "ms": round(result.duration_ms, 1)}


def flush_outbox() -> int:
    return notifications.flush()


def risk_retrain() -> dict:
    """Retrain both risk models on every closed case and rescore the open ones."""
    from .risk import retrain

    return retrain()

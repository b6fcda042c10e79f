"""django-q2 entry points: stable dotted names, thin, safe to run twice."""

from __future__ import annotations

import logging

from django.conf import settings

from escalations.audit import checkpoint
from escalations.automation import outbox
from escalations.automation.sweep import run_sweep
from escalations.channels.mail.fetch import fetch_all
from escalations.reports import warm

log = logging.getLogger("escalations.sweep")


def sweep() -> dict:
    """The scheduled sweep: starts ``SWEEPERS - 1`` more sweepers as tasks (other workers
    take them; SKIP LOCKED splits the due cases) and sweeps itself."""
    from django_q.tasks import async_task

    for _ in range(settings.ESCALATIONS["SWEEPERS"] - 1):
        async_task("escalations.automation.tasks.sweep_more", task_name="sweep_more", q_options={"group": "sweep"})
    result = run_sweep()
    log.info(
        "sweep: %d due cases checked, %d escalated, %d rule actions, %d notices, %.0f ms",
        result.examined,
        result.escalations,
        result.actions,
        result.notifications,
        result.duration_ms,
    )
    return {"examined": result.examined, "actions": result.actions, "ms": round(result.duration_ms, 1)}


def sweep_more() -> dict:
    """One more sweeper beside the scheduled one; the scheduled one records the heartbeat."""
    result = run_sweep(heartbeat="")
    return {"examined": result.examined, "actions": result.actions, "ms": round(result.duration_ms, 1)}


def flush_outbox() -> int:
    return outbox.flush()


def risk_retrain() -> dict:
    """Retrain both risk models on every closed case and rescore the open ones."""
    # Imported here: training loads NumPy and scikit-learn, which only this task needs.
    from escalations.intelligence.risk import retrain

    return retrain()


def text_retrain() -> dict:
    """Retrain the text model on every resolved case (too few: the previous model stays)."""
    # Imported here: training loads NumPy and scikit-learn, which only this task needs.
    from escalations.intelligence.text.train import retrain

    return retrain()


def risk_score_new() -> int:
    """Score the open cases not scored yet (every 5 minutes): a rule on the predicted risk
    sees a new case soon after intake, not after the daily retraining."""
    # Imported here: the risk package loads its training code (NumPy, scikit-learn) too.
    from escalations.intelligence.risk import score_open_cases

    return score_open_cases(unscored_only=True)


def fetch_mail() -> list[str]:
    """Poll the mailboxes in MAILBOX_URLS (every minute); a second overlapping run is harmless."""
    return [str(result) for result in fetch_all()]


def audit_checkpoint() -> str:
    """Sign every audit chain's head into AUDIT_CHECKPOINT_DIR (hourly); skipped when unset."""
    if not checkpoint.configured():
        return "skipped: AUDIT_CHECKPOINT_DIR is not set"
    return str(checkpoint.write_checkpoint())


def warm_reports() -> dict:
    """Compute the day's kept reports (the forecast) before a manager opens them (hourly)."""
    return warm.warm()

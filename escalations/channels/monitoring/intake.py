"""Alerts into cases, each exactly once, safe under concurrent deliveries.

The delivery keys (fingerprint, status, start, end) of a payload are looked up first in one
read: a redelivery of a recorded state changes nothing and takes no lock. Per other alert,
one transaction: a PostgreSQL advisory lock on its fingerprint serialises the deliveries of
one alert (different alerts run in parallel); then its key is looked up again under the lock. A firing
alert with an open case adds a note to it, else opens a case through the workflow as the
system actor (priority from the severity mapping, category and team from the first
matching rule). A resolved alert adds a note and, when its rule says so, resolves the
case. The ``AlertCase`` partial unique index (one open row per fingerprint) backs the
lock up on a database without advisory locks.

Everything that can refuse the payload (labels, rules) is checked for every alert
before the first is written, so bad input writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from escalations import workflow
from escalations.channels.monitoring.parse import Alert, Rejected
from escalations.core import config_cache
from escalations.models import AlertCase, AlertDelivery, AlertRule, AlertSeverity

OPENED, NOTED, RESOLVED, DUPLICATE, IGNORED = "opened", "noted", "resolved", "duplicate", "ignored"
RETRIES = 5
DEFAULT_SEVERITY = (2, 2)  # no severity label, or one the mapping does not know: medium/medium


@dataclass(frozen=True)
class Result:
    fingerprint: str
    status: str
    outcome: str
    case_id: int | None


def rule_for(labels: dict, rules: list[AlertRule]) -> AlertRule | None:
    return next((r for r in rules if r.matches(labels)), None)


def check(alerts: list[Alert]) -> dict[str, AlertRule]:
    """The rule of every alert, or ``Rejected`` naming the first that none matches."""
    rules = config_cache.cached(
        "alert_rules", lambda: list(AlertRule.objects.filter(is_active=True).select_related("category", "team"))
    )
    found = {}
    for i, alert in enumerate(alerts):
        rule = rule_for(alert.labels, rules)
        if rule is None:
            raise Rejected(
                f"alerts[{i}] ({alert.name}) matches no active alert rule; add one in the admin "
                "(Alert rules) or send the labels a rule expects."
            )
        found[alert.fingerprint] = rule
    return found


def receive(alerts: list[Alert]) -> list[Result]:
    rules = check(alerts)
    severities = config_cache.cached(
        "alert_severities", lambda: {s.label: (s.impact, s.urgency) for s in AlertSeverity.objects.all()}
    )
    # Redeliveries are most of the traffic (Alertmanager resends every group interval): the
    # states already recorded answer from one indexed read, outside any transaction or lock.
    # Delivery rows are only ever inserted, so a key found committed is final; a key not
    # found goes through the locked path, which looks again under the lock.
    seen = dict(
        AlertDelivery.objects.filter(key__in={a.delivery_key for a in alerts}).values_list("key", "alert_case__case_id")
    )
    return [
        Result(alert.fingerprint, alert.status, DUPLICATE, seen[alert.delivery_key])
        if alert.delivery_key in seen
        else _one(alert, rules[alert.fingerprint], severities)
        for alert in alerts
    ]


def _lock(fingerprint: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 13))", [fingerprint])


def _one(alert: Alert, rule: AlertRule, severities: dict) -> Result:
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                _lock(alert.fingerprint)
                seen = AlertDelivery.objects.filter(key=alert.delivery_key).values_list("alert_case__case_id").first()
                if seen is not None:
                    return Result(alert.fingerprint, alert.status, DUPLICATE, seen[0])
                outcome, row = _apply(alert, rule, severities)
                AlertDelivery.objects.create(key=alert.delivery_key, alert_case=row, outcome=outcome)
                return Result(alert.fingerprint, alert.status, outcome, row.case_id if row else None)
        except (IntegrityError, workflow.Conflict):
            # Without advisory locks (SQLite) two deliveries can race to the unique index;
            # a staff change in between is a Conflict. Either way: read again, act again.
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _open_row(alert: Alert) -> AlertCase | None:
    row = AlertCase.objects.filter(fingerprint=alert.fingerprint, is_open=True).select_related("case").first()
    if row is not None and not row.case.is_open:  # staff resolved or closed it: the next firing is a new case
        row.is_open = False
        row.save(update_fields=["is_open"])
        return None
    return row


def _apply(alert: Alert, rule: AlertRule, severities: dict) -> tuple[str, AlertCase | None]:
    system = workflow.system_actor()
    now = timezone.now()
    row = _open_row(alert)
    if alert.status == "firing":
        if row is not None:
            workflow.case_note(case_id=row.case_id, actor=system, body="The alert fired again.\n" + alert.describe())
            row.last_status, row.last_seen_at = "firing", now
            row.save(update_fields=["last_status", "last_seen_at"])
            return NOTED, row
        impact, urgency = severities.get(alert.severity, DEFAULT_SEVERITY)
        case = workflow.case_open(
            actor=system,
            title=f"[{alert.source}] {alert.name}"[:200],
            requester_name=rule.requester_name,
            requester_email=rule.requester_email,
            category=rule.category,
            team=rule.team,
            impact=impact,
            urgency=urgency,
            description=alert.describe(),
        )
        row = AlertCase.objects.create(
            source=alert.source,
            fingerprint=alert.fingerprint,
            case=case,
            alertname=alert.name,
            labels=alert.labels,
            opened_at=now,
            last_seen_at=now,
        )
        return OPENED, row
    if row is None:
        return IGNORED, None
    workflow.case_note(case_id=row.case_id, actor=system, body=alert.describe())
    outcome = NOTED
    if rule.resolve_on_resolved:
        try:
            workflow.case_resolve(
                case_id=row.case_id, actor=system, summary=f"The monitoring alert {alert.name} resolved."
            )
            outcome = RESOLVED
        except workflow.InvalidAction as exc:  # e.g. escalated and not yet accepted: people decide
            workflow.case_note(case_id=row.case_id, actor=system, body=f"Not resolved automatically: {exc.message}")
    # The case stays linked while it is open: the next firing notes it rather than opening another.
    row.is_open, row.last_status, row.last_seen_at = outcome != RESOLVED, "resolved", now
    row.save(update_fields=["is_open", "last_status", "last_seen_at"])
    return outcome, row

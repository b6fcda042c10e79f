"""Waits on the customer, a vendor or another team (``CaseWait``), kept in step with the case.

* Pausing for the customer (the SLA pause) opens a customer wait; anything that ends the
  pause (Resume, the customer's reply by mail or portal, resolving) closes it.
* A wait on a vendor or another team opens the same way from the Pause form, leaves the
  status "in progress" and the SLA clock running, and closes on Resume, when the case
  leaves "in progress" or its level changes (the level that waited is done waiting).
* ``near_breach``: see ``domain.waits``.

``save_case`` calls ``sync`` before every case save; the sweep calls ``end`` for the
cases it moves. Rows are facts for the reports; the case history records each start and
end (``waiting_on`` is a tracked case field).
"""

from __future__ import annotations

from datetime import datetime

from escalations.domain.waits import near_breach
from escalations.models import Case, CaseStatus, CaseWait, WaitKind


def start(case: Case, kind: str, reason: str, at: datetime) -> CaseWait:
    """Open a wait (closing one still open: the case now waits on something else)."""
    end(case, at)
    wait = CaseWait.objects.create(
        case=case,
        kind=kind,
        reason=reason[:500],
        level_id=case.level_id,
        team_id=case.team_id,
        started_at=at,
        stops_sla=kind == WaitKind.CUSTOMER,
        near_breach=near_breach(case, at),
    )
    case.waiting_on = kind
    return wait


def end(case: Case, at: datetime) -> int:
    """Close the case's open wait, if any."""
    if not case.waiting_on:
        return 0
    case.waiting_on = ""
    return CaseWait.objects.filter(case_id=case.pk, ended_at__isnull=True).update(ended_at=at)


def sync(case: Case, at: datetime) -> None:
    """Close the open wait when the case no longer waits: the pause ended (customer), or
    it left "in progress" or changed level (vendor, another team). No query otherwise."""
    if not case.waiting_on:
        return
    if case.waiting_on == WaitKind.CUSTOMER:
        if case.paused_at is None:
            end(case, at)
        return
    if case.status != CaseStatus.IN_PROGRESS:
        end(case, at)
        return
    level_id = (
        CaseWait.objects.filter(case_id=case.pk, ended_at__isnull=True).values_list("level_id", flat=True).first()
    )
    if level_id != case.level_id:
        end(case, at)

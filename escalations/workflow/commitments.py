"""The customer's commitment: the two actions that bear on the SLA besides a pause.

A priority change is the only way (with a pause for the customer) to move the SLA due
times: the new priority's targets count from the change, and the move is recorded with
who and why (``Case.sla_changes``, shown on the case page). A contact with the customer
by phone, recorded with a note, is a first response like a public update.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from escalations.models import Case, Note, NoteKind, Priority
from escalations.workflow.actors import Actor, is_system
from escalations.workflow.base import InvalidAction, action, lock_case, require, run, save, save_case


def _priority(value) -> int:
    try:
        priority = int(str(value).strip().upper().removeprefix("P"))
    except (TypeError, ValueError):
        priority = 0
    if priority not in Priority.values:
        raise InvalidAction("Choose a priority from P1 to P4.", {"priority": "Choose P1, P2, P3 or P4."})
    return priority


@action("change-priority")
def case_change_priority(*, case_id: int, actor: Actor, priority: int, reason: str, version: int | None = None) -> Case:
    """Set a new priority with a reason; the SLA is recomputed from now with the new
    priority's targets, and the case page says why it moved. Other features (a declared
    major incident) call this to change a case's priority."""
    priority = _priority(priority)
    reason = require(reason, "reason", "Say why the priority changes.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        old = case.priority
        run(case, "change_priority", actor, priority, now)
        who = "the system" if is_system(actor) else actor
        why = f"priority P{old}→P{priority} by {who}: {reason}"
        save_case(case, actor, f"Priority P{old} -> P{priority}: {reason}", now, sla_why=why)
    return case


@action("record-contact")
def case_record_contact(
    *, case_id: int, actor: Actor, note: str, channel: str = "phone", version: int | None = None
) -> Note:
    """The agent spoke with the customer (by phone): recorded as a note, it counts as
    contact with the customer, so the first one is the SLA's first response."""
    note_text = require(note, "note", "Say what you discussed with the customer.")
    channel = (channel or "phone").strip()[:20]
    with transaction.atomic():
        case = lock_case(case_id, version)
        if not case.is_open:
            raise InvalidAction(f"Case #{case.pk} is {case.get_status_display().lower()}; notes are closed.")
        now = timezone.now()
        first = case.first_response_at is None
        run(case, "record_response", actor, now)
        row = Note(
            case=case,
            kind=NoteKind.INTERNAL,
            author=actor,
            body=f"Customer contact ({channel}): {note_text}",
            created_at=now,
        )
        save(row, actor, f"Customer contact ({channel})")
        what = "First response" if first else "Customer contact"
        save_case(case, actor, f"{what}: {channel} contact with the requester recorded", now)
    return row

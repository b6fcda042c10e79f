"""Approval requests routed by the authority matrix, and their decisions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from escalations.domain import authority
from escalations.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from escalations.selectors import approvals
from escalations.workflow import major, notices
from escalations.workflow.actors import Actor, may
from escalations.workflow.base import InvalidAction, NotAllowed, action, lock, lock_case, require, save


def _amount(kind: str, amount) -> Decimal | None:
    if amount in (None, ""):
        if kind == ApprovalKind.SPEND:
            raise InvalidAction("A spend approval needs an amount.", {"amount": "Enter the amount to spend."})
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise InvalidAction(f"'{amount}' is not an amount.", {"amount": "Enter a number, e.g. 1250.00."}) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise InvalidAction(
            "The amount must be a positive number below 1,000,000,000,000.", {"amount": "Enter a positive amount."}
        )
    return value.quantize(Decimal("0.01"))


@action("request-approval")
def approval_request(*, case_id: int, actor: Actor, kind: str, description: str, amount=None) -> ApprovalRequest:
    """Ask for a decision; the lowest level whose grant covers it is the one to decide."""
    if kind not in ApprovalKind.values:
        raise InvalidAction(f"Unknown approval kind '{kind}'.", {"kind": "Choose a kind."})
    description = require(description, "description", "Describe what needs approving and why.")
    value = _amount(kind, amount)
    with transaction.atomic():
        case = lock_case(case_id, None)
        if not may(actor, authority.can_work, case):
            raise NotAllowed(f"You may not request approvals on case #{case.pk}.")
        if not case.is_open:
            raise InvalidAction(f"Case #{case.pk} is {case.get_status_display().lower()}; nothing to approve.")
        level = approvals.lowest_level_allowed(kind, value)
        if level is None:
            raise InvalidAction("No level of the authority matrix may approve this; ask a manager.")
        req = ApprovalRequest(
            case=case,
            kind=kind,
            amount=value,
            description=description,
            required_level=level,
            requested_by=actor,
            created_at=timezone.now(),
        )
        save(req, actor, f"Requested {req.get_kind_display().lower()} approval from {level.code}")
        emails = notices.level_addresses(level)
        notices.queue(
            case,
            notices.Message(
                "approval_requested", f"Approval needed on case #{case.pk}", f"{actor} asks for {req}: {description}"
            ),
            emails,
            key=f"approval:{req.pk}",
        )
    return req


@action("decide")
def approval_decide(*, approval_id: int, actor: Actor, approve: bool, note: str = "") -> ApprovalRequest:
    """Approve or reject; only a level whose grant covers the kind and amount may."""
    with transaction.atomic():
        req = lock(ApprovalRequest, approval_id, "approval request")
        if req.status != ApprovalStatus.PENDING:
            raise InvalidAction(f"This request is already {req.get_status_display().lower()}.")
        if not authority.can_decide(req.kind, req.amount, actor):
            level = authority.user_level(actor)
            raise NotAllowed(
                f"Your level ({level.code if level else 'none'}) may not decide "
                f"{req.get_kind_display().lower()}{f' of {req.amount}' if req.amount is not None else ''}; "
                f"it needs {req.required_level.code} or above."
            )
        if not approve:
            note = require(note, "note", "Say why the request is rejected.")
        now = timezone.now()
        (req.approve if approve else req.reject)(actor, note, now)
        save(req, actor, f"{'Approved' if approve else 'Rejected'}: {note}".strip(": "))
        if approve and req.kind == ApprovalKind.MAJOR_INCIDENT:
            major.declare(req, actor, now)
        if req.requested_by_id and req.requested_by.email:
            notices.queue(
                req.case,
                notices.Message(
                    "approval_decided",
                    f"Approval {req.get_status_display().lower()} on case #{req.case_id}",
                    f"{actor}: {note or 'approved'}",
                ),
                [req.requested_by.email],
                key=f"approval_decided:{req.pk}",
            )
    return req

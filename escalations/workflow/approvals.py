"""Approval requests routed by the authority matrix, and their decisions, with separation
of duties.

* Nobody decides a request they asked for, nor one on a case they are assigned to or
  opened (``authority.conflict_of_interest``). A level where everyone who could decide
  has such a conflict is passed over at routing, and the request names why.
* The limit applies to the sum: what is approved or pending of the kind on the case and
  what the requester had approved in the rolling window, plus this request
  (``selectors.approvals.total_for``).
* Decisions belong to open cases: a resolved or closed case's requests are not decided
  (and a case with a pending request is not resolved; see ``pending_block``).
* A pending request follows its case: when the case changes hands or level so that
  nobody at the request's level may decide it any more (the new assignee was the only
  one free there, or the case moved above that level), it is re-routed to the level that
  now may, recorded and announced (``reroute_pending``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from escalations.core import money as _money
from escalations.domain import authority
from escalations.models import ApprovalKind, ApprovalRequest, ApprovalStatus, Case
from escalations.selectors import approvals
from escalations.workflow import major, notices
from escalations.workflow.actors import Actor, is_system, may
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, lock, lock_case, require, save


def _amount(kind: str, amount) -> Decimal | None:
    if amount in (None, ""):
        if kind == ApprovalKind.SPEND:
            raise InvalidAction("A spend approval needs an amount.", {"amount": "Enter the amount to spend."})
        return None
    try:
        value = Decimal(str(amount).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise InvalidAction(f"'{amount}' is not an amount.", {"amount": "Enter a number, e.g. 1250.00."}) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise InvalidAction(
            "The amount must be a positive number below 1,000,000,000,000.", {"amount": "Enter a positive amount."}
        )
    return value.quantize(Decimal("0.01"))


def money(req: ApprovalRequest, value: Decimal | None = None) -> str:
    return _money.money(req.amount if value is None else value, req.currency)


@action("request-approval")
def approval_request(*, case_id: int, actor: Actor, kind: str, description: str, amount=None) -> ApprovalRequest:
    """Ask for a decision; the lowest level whose grant covers the sum and where someone
    without a conflict of interest may decide is the one to decide."""
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
        now = timezone.now()
        requester = None if is_system(actor) else actor.pk
        total = approvals.total_for(case, kind, value, requester, now)
        route = approvals.route(kind, total.amount, authority.conflicted_ids(requester, case), case.level.rank)
        if route.level is None:
            why = (
                "nobody who may decide it is free of a conflict of interest"
                if route.passed_over
                else "no level of the authority matrix may approve this"
            )
            counted = f" It counts as {approvals.currency()} {total.amount:,.2f} ({total.explained})." if value else ""
            raise InvalidAction(f"This request cannot be routed: {why}.{counted} Ask a manager.")
        req = ApprovalRequest(
            case=case,
            kind=kind,
            amount=value,
            currency=approvals.currency(),
            description=description,
            required_level=route.level,
            requested_by=actor,
            created_at=now,
        )
        counted = f"; counts as {money(req, total.amount)}: {total.explained}" if value is not None else ""
        save(
            req,
            actor,
            f"Requested {req.get_kind_display().lower()} approval from {route.level.code}{route.note}{counted}",
        )
        notices.queue(
            case,
            notices.Message(
                "approval_requested", f"Approval needed on case #{case.pk}", f"{actor} asks for {req}: {description}"
            ),
            notices.level_addresses(route.level),
            key=f"approval:{req.pk}",
        )
    return req


def _lock_request(approval_id) -> tuple[Case, ApprovalRequest]:
    """Lock the case before the request (the order ``case_resolve`` locks them in)."""
    pk = as_id(approval_id, "approval request")
    case_id = ApprovalRequest.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if case_id is None:
        raise InvalidAction(f"There is no approval request #{pk}.")
    case = lock_case(case_id, None)
    return case, lock(ApprovalRequest, pk, "approval request")


@action("decide")
def approval_decide(*, approval_id: int, actor: Actor, approve: bool, note: str = "") -> ApprovalRequest:
    """Approve or reject; only an independent level whose grant covers the sum may."""
    with transaction.atomic():
        case, req = _lock_request(approval_id)
        if req.status != ApprovalStatus.PENDING:
            raise InvalidAction(f"This request is already {req.get_status_display().lower()}.")
        if not case.is_open:
            raise InvalidAction(
                f"Case #{case.pk} is {case.get_status_display().lower()}; its approval requests can no longer "
                "be decided (reopen the case first)."
            )
        if not may(actor, authority.can_work, case):
            raise NotAllowed(
                f"You may not decide approvals on case #{case.pk} at {case.level.code}; request #{req.pk} "
                f"needs someone at {req.required_level.code} or above who works the case."
            )
        conflict = authority.conflict_of_interest(req.requested_by_id, case, actor)
        if conflict:
            raise NotAllowed(
                f"You may not decide request #{req.pk}: {conflict} (separation of duties). "
                f"Someone else at {req.required_level.code} or above decides it."
            )
        total = approvals.total_for(
            case,
            req.kind,
            req.amount,
            req.requested_by_id,
            req.created_at,
            statuses=(ApprovalStatus.APPROVED,),
            exclude_pk=req.pk,
        )
        level = authority.user_level(actor)
        if not authority.can_decide(req.kind, total.amount, actor) or (level and level.rank < req.required_level.rank):
            sum_text = f" of {money(req, total.amount)} ({total.explained})" if req.amount is not None else ""
            raise NotAllowed(
                f"Your level ({level.code if level else 'none'}) may not decide "
                f"{req.get_kind_display().lower()}{sum_text}; it needs {req.required_level.code} or above."
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
                case,
                notices.Message(
                    "approval_decided",
                    f"Approval {req.get_status_display().lower()} on case #{req.case_id}",
                    f"{actor}: {note or 'approved'}",
                ),
                [req.requested_by.email],
                key=f"approval_decided:{req.pk}",
            )
    return req


@action("withdraw-approval")
def approval_withdraw(*, approval_id: int, actor: Actor, reason: str) -> ApprovalRequest:
    """The requester takes a pending request back (e.g. to resolve the case without it)."""
    reason = require(reason, "reason", "Say why the request is withdrawn.")
    with transaction.atomic():
        case, req = _lock_request(approval_id)
        if req.status != ApprovalStatus.PENDING:
            raise InvalidAction(f"This request is already {req.get_status_display().lower()}.")
        if not is_system(actor) and req.requested_by_id != actor.pk:
            raise NotAllowed(f"Only the person who requested #{req.pk} may withdraw it.")
        req.cancel(actor, reason, timezone.now())
        save(req, actor, f"Withdrawn: {reason}")
    return req


def reroute_pending(cases: list[Case], actor: Actor, now) -> list[ApprovalRequest]:
    """Re-route the pending requests of ``cases`` (already moved and saved, locked by the
    caller) whose level can no longer decide them; one query when none is pending."""
    moved = []
    by_case = {case.pk: case for case in cases}
    pending = (
        ApprovalRequest.objects.select_for_update()
        .filter(case_id__in=by_case, status=ApprovalStatus.PENDING)
        .select_related("required_level")
        .order_by("pk")
    )
    for req in pending:
        case = by_case[req.case_id]
        excluded = authority.conflicted_ids(req.requested_by_id, case)
        level = req.required_level
        if level.rank >= case.level.rank and not approvals.all_conflicted(level, excluded):
            continue  # someone at its level may still decide it
        total = approvals.total_for(case, req.kind, req.amount, req.requested_by_id, req.created_at, exclude_pk=req.pk)
        route = approvals.route(req.kind, total.amount, excluded, case.level.rank)
        if route.level is None or route.level == level:
            continue  # nowhere better: it waits, and the requester may withdraw it
        why = (
            f"the case is now at {case.level.code}"
            if level.rank < case.level.rank
            else f"nobody at {level.code} may decide it without a conflict of interest now"
        )
        req.required_level = route.level
        save(req, actor, f"Re-routed {level.code} -> {route.level.code}: {why}")
        notices.queue(
            case,
            notices.Message(
                "approval_requested",
                f"Approval needed on case #{case.pk}",
                f"Request {approvals.describe(req)} was re-routed to {route.level.code}: {why}.",
            ),
            notices.level_addresses(route.level),
            key=f"approval:{req.pk}:{route.level.code}",
        )
        moved.append(req)
    return moved


def pending_block(case: Case, doing: str) -> None:
    """Refuse to resolve or close a case while approvals on it are pending, naming them."""
    pending = approvals.pending_on(case)
    if pending:
        listed = "; ".join(approvals.describe(r) for r in pending)
        raise InvalidAction(
            f"You cannot {doing} case #{case.pk} while approvals are pending: {listed}. "
            "Have them decided, or the requester withdraws them first."
        )

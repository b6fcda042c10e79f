"""Reads about approvals: where a request is routed by the authority matrix, and what it
adds up to.

The authority limit applies to a **sum**, not to one request: what was already approved
(or is still pending) of the same kind on the case, and what the same requester had
approved of that kind within the rolling window (``APPROVAL_WINDOW_DAYS``), plus this
request. Splitting 5,000 into five requests of 1,000 thus still needs the level that may
approve 5,000. A level whose every decider has a conflict of interest is passed over,
and the request says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, Sum

from escalations.core import money as _money
from escalations.models import ApprovalRequest, ApprovalStatus, AuthorityGrant, Case, Escalation, Level
from escalations.selectors.cases import approvals_to_decide_qs

COUNTED = (ApprovalStatus.APPROVED, ApprovalStatus.PENDING)


def lowest_level_allowed(kind: str, amount: Decimal | None) -> Level | None:
    """The lowest level whose grant covers the request, conflicts aside."""
    grant = AuthorityGrant.objects.covering(kind, amount).select_related("level").order_by("level__rank").first()
    return grant.level if grant else None


def window_days() -> int:
    return max(int(getattr(settings, "APPROVAL_WINDOW_DAYS", 30)), 0)


def currency() -> str:
    return _money.currency()


def _sum(qs) -> Decimal:
    return qs.aggregate(total=Sum("amount"))["total"] or Decimal("0")


@dataclass(frozen=True)
class Total:
    """What a request adds up to, and which of the two sums is the larger (for messages)."""

    amount: Decimal | None
    on_case: Decimal
    in_window: Decimal

    @property
    def explained(self) -> str:
        if self.amount is None:
            return ""
        return (
            f"{self.on_case:,.2f} of this kind on the case and {self.in_window:,.2f} by the requester "
            f"in the last {window_days()} days, including this request"
        )


def total_for(
    case: Case,
    kind: str,
    amount: Decimal | None,
    requested_by_id: int | None,
    now: datetime,
    *,
    statuses=COUNTED,
    exclude_pk: int | None = None,
) -> Total:
    """This request's amount plus what is already counted on the case and in the requester's window."""
    if amount is None:
        return Total(None, Decimal("0"), Decimal("0"))
    others = ApprovalRequest.objects.filter(kind=kind, status__in=statuses, amount__isnull=False)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    on_case = _sum(others.filter(case=case)) + amount
    in_window = amount
    if requested_by_id is not None:
        since = now - timedelta(days=window_days())
        in_window += _sum(others.filter(requested_by_id=requested_by_id, created_at__gte=since))
    return Total(max(on_case, in_window), on_case, in_window)


def _deciders_at(level: Level):
    perm = Q(groups__permissions__codename="decide_approval") | Q(user_permissions__codename="decide_approval")
    return get_user_model().objects.filter(Q(is_superuser=True) | perm, is_active=True, staff_profile__level=level)


def all_conflicted(level: Level, excluded: set[int]) -> bool:
    """Everyone at ``level`` who could decide is ruled out (and there is someone): the level
    is passed over. A level nobody is at yet is not: the levels above it decide meanwhile."""
    deciders = set(_deciders_at(level).values_list("pk", flat=True).distinct()[:200])
    return bool(deciders) and deciders <= excluded


@dataclass(frozen=True)
class Route:
    level: Level | None
    passed_over: list[Level]  # levels that could decide but where everyone has a conflict

    @property
    def note(self) -> str:
        if not self.passed_over or self.level is None:
            return ""
        codes = ", ".join(lv.code for lv in self.passed_over)
        return f" (passed up to {self.level.code}: nobody at {codes} may decide it without a conflict of interest)"


def route(kind: str, amount: Decimal | None, excluded: set[int], min_rank: int = 0) -> Route:
    """The lowest level, at the case's level or above (a lower level cannot see the case),
    that may decide ``amount`` and has someone there without a conflict of interest."""
    passed = []
    grants = (
        AuthorityGrant.objects.covering(kind, amount)
        .filter(level__rank__gte=min_rank)
        .select_related("level")
        .order_by("level__rank")
    )
    for grant in grants:
        if not all_conflicted(grant.level, excluded):
            return Route(grant.level, passed)
        passed.append(grant.level)
    return Route(None, passed)


def pending_on(case: Case) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(case=case, status=ApprovalStatus.PENDING)
        .select_related("required_level", "requested_by")
        .order_by("created_at", "pk")
    )


def describe(req: ApprovalRequest) -> str:
    """One line naming a request, for refusals and lists."""
    amount = f" of {req.currency} {req.amount:,.2f}" if req.amount is not None else ""
    who = req.requested_by.get_username() if req.requested_by_id else "the system"
    return f"#{req.pk} {req.get_kind_display().lower()}{amount} (requested by {who}, for {req.required_level.code})"


def approvals_waiting_count(user) -> int | None:
    """How many pending requests the user could decide now, for the menu; None when the
    user may decide none at all (no level, no right), so the menu hides the entry."""
    qs = approvals_to_decide_qs(user)
    return None if qs is None else qs.count()


def latest_handoffs(case_ids: list[int]) -> dict:
    """The most recent handoff of each case (what the approver reads beside the request)."""
    out = {}
    for handoff in Escalation.objects.filter(case_id__in=case_ids).order_by("case_id", "-created_at", "-pk"):
        out.setdefault(handoff.case_id, handoff)
    return out

"""Who sees which cases, the queues, and what a user may do on a case.

Queues are read in SLA-urgency order through the partial index on ``next_check_at``
(the next moment a rule or a deadline needs the case) and paged by keyset, never with
``COUNT(*)``: a page costs the same at the first row as at the millionth case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from escalations.core.bounds import EARLIEST, LATEST, MAX_ID
from escalations.domain import authority
from escalations.domain.clock import _span
from escalations.models import (
    OPEN_STATUSES,
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    Level,
    Review,
    ReviewStatus,
    Team,
)
from escalations.selectors import paths
from escalations.selectors.swarming import collaborating_cases, collaborators_of

# Columns a queue row needs: the frozen policy (a few KB of JSON) and the description stay behind.
QUEUE_COLUMNS = (
    "id",
    "version",  # the take shortcut posts it and the row checkboxes carry it: stale rows are refused
    "title",
    "status",
    "priority",
    "level__code",
    "level__rank",
    "team__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "next_check_at",
    "opened_at",
    "response_due_at",
    "resolution_due_at",
    "responded_at",
    "first_response_at",
    "resolved_at",
    "paused_at",
    "waiting_on",
    "response_breached_at",
    "resolution_breached_at",
    "requester_name",
    "breach_risk",
    "escalation_risk",
    "risk_reasons",
    "is_major",
    "major_declared_at",
)
PAGE_SIZE = 25
# Statuses whose cases the scheduler never looks at (``triggers.is_watched``): their
# ``next_check_at`` is empty, so a queue filtered to them skips the index walk.
UNSCHEDULED = {CaseStatus.AWAITING_CUSTOMER, CaseStatus.RESOLVED, CaseStatus.CLOSED}


# -- who sees what ---------------------------------------------------------------------------


def sees_everything(user) -> bool:
    return authority.is_manager(user) or user.has_perm("escalations.view_audit")


def visible_levels(user) -> list[Level]:
    """The levels whose cases the user may see: all for managers and auditors, else their
    own level and those below it."""
    ladder = list(Level.objects.ladder())
    if sees_everything(user):
        return ladder
    level = authority.user_level(user)
    return [lv for lv in ladder if level is not None and lv.rank <= level.rank]


def visible_cases(user) -> QuerySet[Case]:
    """Cases the user may see (``CaseQuerySet.visible_to``)."""
    return Case.objects.visible_to(user)


def case_for(user, pk: int) -> Case:
    """The case if ``user`` may see it (``visible_cases``), else 404. Most reads are of a
    case at a level the user sees: that is decided from the row itself; only the others
    ask the full visibility query (invited, followed)."""
    case = Case.objects.select_related("level", "team", "assignee", "category", "created_by").filter(pk=pk).first()
    if case is None:
        raise Http404("No such case, or not one you may see.")
    levels = Case.objects.visible_levels(user)
    if levels is not None and case.level_id not in levels and not visible_cases(user).filter(pk=pk).exists():
        raise Http404("No such case, or not one you may see.")
    return case


def is_read_only(user) -> bool:
    return not user.has_perm(authority.PERM_WORK)


# -- queues ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    status: str = ""
    priority: int | None = None
    level_id: int | None = None
    team_id: int | None = None
    assigned: str = ""  # "" any, "me", "unassigned"


@dataclass(frozen=True)
class QueueRow:
    case: Case
    time_left: str
    urgency: str  # "breached", "soon", "ok", "paused", "stopped": a CSS hook; the text says it too


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    is_first: bool


def sla_text(case: Case, now: datetime) -> tuple[str, str]:
    """The nearest running deadline in words, and an urgency word for styling."""
    if case.status not in OPEN_STATUSES:
        return f"{CaseStatus(case.status).label}: no clock running", "stopped"
    if case.paused_at is not None:
        return f"Paused since {case.paused_at:%Y-%m-%d %H:%M} (awaiting customer)", "paused"
    if case.first_response_at is None and case.response_due_at is not None:
        name, due = "Response", case.response_due_at
    elif case.resolution_due_at is not None:
        name, due = "Resolution", case.resolution_due_at
    else:
        return "No deadline set", "ok"
    if due < now:
        return f"{name} overdue by {_span(now - due)}", "breached"
    left = due - now
    return f"{name} due in {_span(left)}", "soon" if left.total_seconds() < 3600 else "ok"


def _search(qs: QuerySet[Case], q: str) -> QuerySet[Case]:
    q = q.strip()
    number = re.fullmatch(r"#?\s*(\d{1,18})", q)
    if number:
        return qs.filter(pk=int(number.group(1)))
    # The text is read from its side table (``models/search.py``), where the trigram indexes are.
    for word in q.split()[:6]:
        qs = qs.filter(
            Q(search_text__title__icontains=word)
            | Q(search_text__requester_name__icontains=word)
            | Q(search_text__requester_email__icontains=word)
        )
    return qs


def _filtered(user, scope: str, f: QueueFilters) -> QuerySet[Case]:
    qs = visible_cases(user)
    if scope == "mine":
        qs = qs.filter(assignee=user)
    elif f.level_id is None and not sees_everything(user):
        own = authority.user_level(user)
        qs = qs.filter(level_id=own.pk) if own else qs.none()
    qs = qs.filter(status=f.status) if f.status else qs.filter(status__in=OPEN_STATUSES)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.level_id:
        qs = qs.filter(level_id=f.level_id)
    if f.team_id:
        qs = qs.filter(team_id=f.team_id)
    if f.assigned == "me":
        qs = qs.filter(assignee=user)
    elif f.assigned == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    return _search(qs, f.q) if f.q else qs


def parse_cursor(cursor: str | None) -> tuple[int, datetime, int] | None:
    """``0|<major_declared_at>|<id>`` pages the major incidents, ``1|<next_check_at>|<id>``
    the scheduled cases, ``2|<opened_at>|<id>`` the rest."""
    try:
        phase, at, pk = (cursor or "").split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        phase, pk, moment = int(phase), int(pk), moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError):
        return None
    # A forged cursor must not reach the database: ids within bigint, moments PostgreSQL keeps.
    if phase not in (0, 1, 2) or not 0 <= pk <= MAX_ID or not EARLIEST.year <= moment.year <= LATEST.year:
        return None
    return phase, moment, pk


def _after(qs: QuerySet[Case], field: str, at: datetime, pk: int) -> QuerySet[Case]:
    return qs.filter(**{f"{field}__gte": at}).filter(Q(**{f"{field}__gt": at}) | Q(pk__gt=pk))


def _cursor_of(case: Case) -> str:
    if case.is_major:
        return f"0|{case.major_declared_at.isoformat()}|{case.pk}"
    if case.next_check_at is not None:
        return f"1|{case.next_check_at.isoformat()}|{case.pk}"
    return f"2|{case.opened_at.isoformat()}|{case.pk}"


def queue_page(
    user, *, scope: str, filters: QueueFilters, now: datetime, cursor: str | None = None, per_page: int = PAGE_SIZE
) -> QueuePage:
    """One page of a queue, most urgent first.

    Declared major incidents come first (a partial index holds the few there are), oldest
    declaration first. Then the scheduled cases, in ``next_check_at`` order (the index's
    order, so the database stops after a page); then the unscheduled ones (paused, or with
    no rule or deadline left to check) oldest first. Fetching one row more than a page says
    whether there is a next page without counting.
    """
    base = _filtered(user, scope, filters).select_related("level", "team", "assignee").only(*QUEUE_COLUMNS)
    parsed = parse_cursor(cursor)
    phase, rows = (parsed[0] if parsed else 0), []
    if phase == 0:
        qs = base.filter(is_major=True)
        if parsed:
            qs = _after(qs, "major_declared_at", parsed[1], parsed[2])
        rows = list(qs.order_by("major_declared_at", "pk")[: per_page + 1])
    rest = base.filter(is_major=False)
    if len(rows) <= per_page and phase <= 1 and filters.status not in UNSCHEDULED:
        qs = rest.filter(next_check_at__isnull=False)
        if parsed and phase == 1:
            qs = _after(qs, "next_check_at", parsed[1], parsed[2])
        rows += list(qs.order_by("next_check_at", "pk")[: per_page + 1 - len(rows)])
    if len(rows) <= per_page:
        qs = rest.filter(next_check_at__isnull=True)
        if parsed and phase == 2:
            qs = _after(qs, "opened_at", parsed[1], parsed[2])
        rows += list(qs.order_by("opened_at", "pk")[: per_page + 1 - len(rows)])
    more, rows = len(rows) > per_page, rows[:per_page]
    next_cursor = _cursor_of(rows[-1]) if more else None
    return QueuePage([QueueRow(c, *sla_text(c, now)) for c in rows], next_cursor, parsed is None)


def awaiting_acceptance(user, limit: int = 20) -> list[Case]:
    """Escalations handed to the user's level that nobody has accepted or returned yet."""
    level = authority.user_level(user)
    if level is None or not user.has_perm(authority.PERM_ACCEPT):
        return []
    return list(
        Case.objects.filter(level=level, status=CaseStatus.ESCALATED)
        .select_related("level", "team")
        .only(*QUEUE_COLUMNS)
        .order_by("-is_major", "level_entered_at", "pk")[:limit]
    )


def approvals_to_decide_qs(user) -> QuerySet[ApprovalRequest] | None:
    """Pending requests routed to the user's level or below, on cases the user may see (the
    decision re-checks the matrix; a case above the user's level is not theirs to decide on).
    None when the user decides no approvals at all."""
    level = authority.user_level(user)
    if level is None or not user.has_perm(authority.PERM_DECIDE) or is_read_only(user):
        return None
    return (
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING,
            required_level__rank__lte=level.rank,
            case__level__rank__lte=level.rank,  # followed cases above the user's level are read-only
            case__in=visible_cases(user).values("pk"),
        )
        .exclude(requested_by=user)  # separation of duties: never one's own request or case
        .exclude(case__assignee=user)
        .exclude(case__created_by=user)
    )


def approvals_to_decide(user, limit: int = 20) -> list[ApprovalRequest]:
    qs = approvals_to_decide_qs(user)
    if qs is None:
        return []
    return list(
        qs.select_related("case", "case__level", "required_level", "requested_by").order_by("created_at")[:limit]
    )


def filter_teams(user) -> QuerySet[Team]:
    return Team.objects.filter(level__in=visible_levels(user)).select_related("level")


# -- what the user may do on a case ----------------------------------------------------------


def can_review(case: Case, user) -> bool:
    major_done = case.major_declared_at is not None and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    escalated_closed = case.status == CaseStatus.CLOSED and case.escalation_count > 0
    if not (major_done or escalated_closed) or not authority.can_review(case, user):
        return False
    return not Review.objects.filter(case=case, status=ReviewStatus.COMPLETED).exists()


@dataclass(frozen=True)
class Colleague:
    user: object
    level_code: str
    open_cases: int
    capacity: int

    @property
    def label(self) -> str:
        name = self.user.get_full_name() or self.user.username
        return f"{name} ({self.level_code}, {self.open_cases} of {self.capacity} open cases)"


def colleagues_with_capacity(case: Case, limit: int = 50) -> list[Colleague]:
    """On-duty staff at the case's level carrying fewer open cases than their capacity,
    the least loaded first (a higher level gets a case by escalation, not assignment).
    The open cases are counted per candidate through the ``(assignee, status)`` index."""
    users = list(
        get_user_model()
        .objects.filter(is_active=True, staff_profile__on_duty=True, staff_profile__level=case.level_id)
        .select_related("staff_profile__level")
        .order_by("staff_profile__level__rank", "username")[:limit]
    )
    counts = dict(
        Case.objects.filter(assignee_id__in=[u.pk for u in users], status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    found = [Colleague(u, u.staff_profile.level.code, counts.get(u.pk, 0), u.staff_profile.capacity) for u in users]
    return sorted(
        (c for c in found if c.open_cases < c.capacity),
        key=lambda c: (c.user.staff_profile.level.rank, c.open_cases, c.user.username),
    )


@dataclass(frozen=True)
class Target:
    level: Level
    team: Team | None
    skip: bool

    @property
    def label(self) -> str:
        team = f" / {self.team.name}" if self.team else ""
        how = "skip-level jump, needs a justification" if self.skip else "next step"
        return f"{self.level.code} {self.level.name}{team} ({how})"


def escalation_targets(case: Case) -> list[Target]:
    """Where the case may go up: the next step of its path, then higher steps (jumps)."""
    steps = paths.steps_of(case.path_id)
    nxt = paths.next_step(case, steps)
    if nxt is None:
        return []
    higher = (
        [(lv, t) for lv, t in steps if lv.rank > nxt[0].rank]
        if steps
        else [(lv, None) for lv in Level.objects.ladder() if lv.rank > nxt[0].rank]
    )
    return [Target(nxt[0], nxt[1], False)] + [Target(lv, t, True) for lv, t in higher]


def decidable(approval: ApprovalRequest, user) -> bool:
    """Offer the decision form? Not to the requester, the case's assignee or opener
    (separation of duties), nor on a case the user only follows; the workflow also
    checks the sum against the user's grant."""
    case = approval.case
    return (
        not is_read_only(user)
        and case.is_open
        and authority.can_work(case, user)
        and authority.conflict_of_interest(approval.requested_by_id, case, user) is None
        and authority.can_decide(approval.kind, approval.amount, user)
    )


def invitees(case: Case, user, limit: int = 100) -> list[tuple[str, str]]:
    """People and teams who could help on the case (not already helping, not its owner)."""
    taken = {("u", c.user_id) for c in collaborators_of(case) if c.user_id}
    taken |= {("t", c.team_id) for c in collaborators_of(case) if c.team_id}
    people = (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__isnull=False)
        .exclude(pk__in=[user.pk, case.assignee_id or 0])
        .select_related("staff_profile__level")
        .order_by("staff_profile__level__rank", "username")[:limit]
    )
    choices = [(f"t{t.pk}", f"Team {t}") for t in Team.objects.select_related("level") if ("t", t.pk) not in taken]
    choices += [
        (f"u{p.pk}", f"{p.get_full_name() or p.username} at {p.staff_profile.level.code}")
        for p in people
        if ("u", p.pk) not in taken
    ]
    return choices


def collaborating_rows(user, now: datetime, limit: int = 100) -> list[QueueRow]:
    """The "collaborating" queue: open cases the user or their team was invited to."""
    cases = collaborating_cases(user).only(*QUEUE_COLUMNS)[:limit]
    return [QueueRow(c, *sla_text(c, now)) for c in cases]


def following_rows(user, now: datetime, limit: int = 100) -> list[QueueRow]:
    """The "Following" queue: cases the user follows (opened, escalated or pressed
    "Follow"), closed ones left out, with their current level, owner and SLA state."""
    cases = (
        Case.objects.filter(watchers=user)
        .exclude(status=CaseStatus.CLOSED)
        .select_related("level", "team", "assignee")
        .only(*QUEUE_COLUMNS)
        .order_by("priority", "opened_at", "pk")[:limit]
    )
    return [QueueRow(c, *sla_text(c, now)) for c in cases]

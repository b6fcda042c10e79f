"""What the requester portal shows, in the requester's words: their cases (by address,
nothing else), the status in plain language, who has it (a tier in words and a name only
as each staff member allows), the next update to expect, and the public side of the
conversation. Internal notes, handoffs, approvals and reviews are never read here, so no
template can leak them by mistake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404

from escalations.models import Attachment, Case, CaseStatus, Note, NoteKind, SatisfactionSurvey

STATUS_WORDS = {
    CaseStatus.NEW: "Received: we will look at it soon",
    CaseStatus.IN_PROGRESS: "We are working on it",
    CaseStatus.AWAITING_CUSTOMER: "Waiting for your answer",
    CaseStatus.ESCALATED: "Being passed to more experienced colleagues",
    CaseStatus.RESOLVED: "Solved: tell us if it is not",
    CaseStatus.CLOSED: "Closed",
}
# The ladder in a customer's words, by rank (L1 = 1); above the last: the last.
TIER_WORDS = [
    "with our support team",
    "with our specialists",
    "with our senior specialists",
    "with our expert engineers",
    "with our management team",
]
OUR_TEAM = "our team"


def _address(email: str) -> str:
    return (email or "").strip().lower()


def staff_name(user) -> str:
    """A staff member as a customer may see them: the first name by default, the full name
    or nothing ("our team") as their profile says (``StaffProfile.customer_name``)."""
    if user is None:
        return OUR_TEAM
    profile = getattr(user, "staff_profile", None)
    choice = profile.customer_name if profile is not None else "first"
    if choice == "full" and user.get_full_name():
        return user.get_full_name()
    if choice == "first" and user.first_name:
        return user.first_name
    return OUR_TEAM


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def who_has_it(case: Case) -> str:
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return ""
    rank = max(1, min(case.level.rank, len(TIER_WORDS)))
    words = TIER_WORDS[rank - 1]
    name = staff_name(case.assignee) if case.assignee_id else OUR_TEAM
    return f"{_upper_first(words)} ({name})" if name != OUR_TEAM else _upper_first(words)


@dataclass(frozen=True)
class NextUpdate:
    text: str
    at: datetime | None = None


def next_update(case: Case) -> NextUpdate:
    if case.status == CaseStatus.AWAITING_CUSTOMER:
        return NextUpdate("We are waiting for your answer; the clock stops until you write.")
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return NextUpdate("")
    if case.first_response_at is None and case.response_due_at is not None:
        return NextUpdate("You will hear from us by", case.response_due_at)
    if case.resolution_due_at is not None:
        return NextUpdate("We aim to solve it by", case.resolution_due_at)
    return NextUpdate("We will write as soon as there is news.")


def requester_cases(email: str) -> list[Case]:
    """Open first, then the newest; a requester has tens of cases, not thousands."""
    cases = list(
        Case.objects.filter(search_text__requester_email__iexact=_address(email))  # indexed there
        .select_related("level", "assignee__staff_profile")
        .order_by("-opened_at", "-pk")[:200]
    )
    cases.sort(key=lambda c: c.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED))
    return cases


def requester_case(email: str, pk) -> Case:
    """Their case, or 404 (another requester's case does not exist for them)."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such request.") from None
    case = (
        Case.objects.filter(pk=number, requester_email__iexact=_address(email))
        .select_related("level", "assignee__staff_profile")
        .first()
        if 0 < number < 2**63
        else None
    )
    if case is None:
        raise Http404("No such request.")
    return case


@dataclass(frozen=True)
class PublicEntry:
    at: datetime
    who: str
    mine: bool
    body: str
    attachments: list[Attachment]


def conversation(case: Case) -> list[PublicEntry]:
    """Public updates and the requester's own messages, oldest first."""
    notes = list(
        Note.objects.filter(case=case, kind__in=[NoteKind.PUBLIC, NoteKind.CUSTOMER])
        .select_related("author__staff_profile")
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )
    return [
        PublicEntry(
            n.created_at,
            "You" if n.kind == NoteKind.CUSTOMER else _upper_first(staff_name(n.author)),
            n.kind == NoteKind.CUSTOMER,
            n.body,
            list(n.attachments.all()),  # only public and customer notes are read above
        )
        for n in notes
    ]


def attachment_of(case: Case, pk) -> Attachment:
    """Files of the public conversation only: what the requester sent and what staff sent
    with a public update (an internal note's files never reach the portal)."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such file.") from None
    found = Attachment.objects.filter(pk=number, case=case, note__kind__in=[NoteKind.CUSTOMER, NoteKind.PUBLIC]).first()
    if found is None:
        raise Http404("No such file.")
    return found


def survey_due(case: Case) -> bool:
    """Resolved (or closed after a resolution) and this resolution not rated yet."""
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.resolved_at is None:
        return False
    return not SatisfactionSurvey.objects.filter(case=case, resolved_at=case.resolved_at).exists()


def survey_of(case: Case) -> SatisfactionSurvey | None:
    if case.resolved_at is None:
        return None
    return SatisfactionSurvey.objects.filter(case=case, resolved_at=case.resolved_at).first()

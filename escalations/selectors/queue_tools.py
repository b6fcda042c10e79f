"""What the queue pages' tools read: how many cases joined a queue since the page was
opened (live updates), whom a bulk "assign" may offer, and a user's saved filters.

The live count reads the same querysets as the queue pages (``cases._filtered`` for My
queue and Team queue, the swarming and following querysets for the others), narrowed to
cases numbered above the page's mark: an index range on the primary key, capped, never a
count over the whole queue."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from escalations.domain import authority
from escalations.models import Case, CaseStatus, SavedQueueFilter
from escalations.selectors.cases import QueueFilters, _filtered, visible_levels
from escalations.selectors.swarming import collaborating_cases

NEW_CAP = 100  # "99+ new cases": the count stops here
LIVE_SCOPES = ("mine", "team", "collab", "following")


def case_mark() -> int:
    """The newest case number now: cases above it are new to a page opened now."""
    return Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _queue_cases(user, scope: str, filters: QueueFilters) -> QuerySet[Case]:
    if scope in ("mine", "team"):
        return _filtered(user, scope, filters)
    if scope == "collab":
        return collaborating_cases(user)
    if scope == "following":
        return Case.objects.filter(watchers=user).exclude(status=CaseStatus.CLOSED)
    raise ValueError(f"No queue '{scope}'.")


def new_cases_since(user, scope: str, filters: QueueFilters, mark: int) -> tuple[int, bool]:
    """Cases in the queue (as the page filters it) opened after ``mark``, counted up to
    ``NEW_CAP``; the flag says the count stopped there."""
    pks = list(_queue_cases(user, scope, filters).filter(pk__gt=mark).order_by().values_list("pk", flat=True)[:NEW_CAP])
    return len(pks), len(pks) >= NEW_CAP


def assignable_colleagues(user, limit: int = 300) -> list[tuple[int, str]]:
    """People a bulk "assign" may offer: active staff at the levels the user sees, labelled
    with their level. The workflow still refuses anyone not at the case's own level."""
    if not user.has_perm(authority.PERM_WORK):
        return []
    levels = [lv.pk for lv in visible_levels(user)]
    people = (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__level_id__in=levels)
        .select_related("staff_profile__level")
        .order_by("staff_profile__level__rank", "first_name", "username")[:limit]
    )
    return [(p.pk, f"{p.get_full_name() or p.username} ({p.username}) at {p.staff_profile.level.code}") for p in people]


def saved_filters(user, queue: str) -> list[SavedQueueFilter]:
    """The user's named filters of a queue, by name (the last-used one is not listed)."""
    return list(SavedQueueFilter.objects.filter(user=user, queue=queue).exclude(name="").order_by("name"))


def last_used_query(user, queue: str) -> str | None:
    """The filter the user last used on the queue (``None``: never filtered it)."""
    return SavedQueueFilter.objects.filter(user=user, queue=queue, name="").values_list("query", flat=True).first()

"""Following a case: read access and notices without working it.

Whoever opens a case or escalates it follows it automatically, and anyone who may see a
case can press "Follow". Followers (``Case.watchers``) keep read access to the case page
after it moved above their level (``CaseQuerySet.visible_to``; the opener and the
escalator keep it even after unfollowing), see it in their "Following" queue, and are
told when it is accepted, returned, resolved or reopened. Following changes nothing
anyone works with, so it takes no case version; each follow and unfollow is a history row
of its own (``CaseWatcher``) with who and why, so an auditor sees who could read a case.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from escalations.models import Case, CaseWatcher
from escalations.workflow import notices
from escalations.workflow.actors import Actor, is_system, require_actor
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, save

FOLLOWED_EVENTS = ("accepted", "returned", "resolved", "reopened")


def _visible_case(case_id, actor: Actor) -> Case:
    pk = as_id(case_id, "case")
    if not Case.objects.filter(pk=pk).exists():
        raise InvalidAction(f"There is no case #{pk}.")
    case = Case.objects.visible_to(actor).filter(pk=pk).first()
    if case is None:
        raise NotAllowed(f"You may not follow case #{pk}: it is outside what you may see.")
    return case


@action("follow")
def case_follow(*, case_id: int, actor: Actor) -> Case:
    require_actor(actor)
    if is_system(actor) or not actor.is_active:
        raise NotAllowed("Only staff members follow cases.")
    with transaction.atomic():
        case = _visible_case(case_id, actor)
        if case.watchers.filter(pk=actor.pk).exists():
            raise InvalidAction(f"You already follow case #{case.pk}.")
        _start(case, actor, "Followed")
    return case


@action("unfollow")
def case_unfollow(*, case_id: int, actor: Actor) -> Case:
    require_actor(actor)
    with transaction.atomic():
        case = _visible_case(case_id, actor)
        follow = CaseWatcher.objects.select_for_update().filter(case=case, user=actor).first()
        if follow is None:
            raise InvalidAction(f"You do not follow case #{case.pk}.")
        follow._history_user, follow._history_action = actor, "unfollow"
        follow._change_reason = "Unfollowed"
        follow.delete()
    return case


def follow_automatically(case: Case, actor: Actor, why: str) -> None:
    """The opener and the escalator follow the case (the desk itself follows nothing);
    ``why`` names the action, e.g. "Follows as the one who escalated it"."""
    if not is_system(actor) and actor.is_active and not case.watchers.filter(pk=actor.pk).exists():
        _start(case, actor, why)


def _start(case: Case, actor: Actor, why: str) -> None:
    """One follow row, written with its history row (a second one at once meets the
    unique constraint and is refused, never duplicated)."""
    try:
        with transaction.atomic():
            save(CaseWatcher(case=case, user=actor), actor, why)
    except IntegrityError:
        raise InvalidAction(f"You already follow case #{case.pk}.") from None


def tell_followers(case: Case, actor: Actor, event: str, body: str, key: str, told: list[str] = ()) -> None:
    """A notice to every follower but the one who acted (they know) and those ``told``
    about the same event already (the assignee and team of a returned case)."""
    if event not in FOLLOWED_EVENTS:
        raise ValueError(f"Followers are not told about '{event}'.")
    followers = case.watchers.filter(is_active=True).exclude(pk=actor.pk)
    emails = [e for e in followers.values_list("email", flat=True) if e and e not in told]
    subject = f"[following] Case #{case.pk} {event}: {case.title}"
    body = f"{body}\n\nCase #{case.pk} is now {case.get_status_display().lower()} at {case.level.code}."
    notices.queue(case, notices.Message(f"following_{event}", subject, body), emails, key=f"follow:{key}")

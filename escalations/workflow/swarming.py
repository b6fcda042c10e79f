"""Swarming: invite other people or teams to work on a case without handing it off.

The owner (the assignee at the case's level) stays accountable; collaborators see the
case in their "collaborating" queue and may add internal notes (``authority.can_note``)
but run no transitions. A collaboration is its own audited record, so inviting and
leaving write a collaboration history row, not a case one: the case itself (its
version, its clocks) does not change, and nobody's open form goes stale.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from escalations.domain import authority
from escalations.models import Collaboration, Team
from escalations.workflow import notices
from escalations.workflow.actors import Actor, is_system, may
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, lock, lock_case, require, save


def _invitee(user_id, team_id):
    if (user_id in (None, "")) == (team_id in (None, "")):
        raise InvalidAction("Invite either a person or a team.", {"user": "Choose a person or a team, not both."})
    if user_id not in (None, ""):
        try:
            pk = as_id(user_id, "colleague")
        except InvalidAction:
            pk = 0
        user = get_user_model().objects.filter(pk=pk, is_active=True, staff_profile__isnull=False).first()
        if user is None:
            raise InvalidAction("Invite an active staff member.", {"user": "Unknown, inactive or not staff."})
        return user, None
    try:
        pk = as_id(team_id, "team")
    except InvalidAction:
        pk = 0
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise InvalidAction(f"There is no team #{team_id}.", {"team": "Unknown team."})
    return None, team


@action("invite")
def case_invite(
    *, case_id: int, actor: Actor, reason: str, user_id: int | None = None, team_id: int | None = None
) -> Collaboration:
    """Ask a person or a team to help on a case; they are told, the owner does not change."""
    reason = require(reason, "reason", "Say what help you need.")
    user, team = _invitee(user_id, team_id)
    with transaction.atomic():
        case = lock_case(case_id, None)  # serialises invitations: no duplicate slips in between
        if not may(actor, authority.can_work, case):
            raise NotAllowed(f"You may not invite collaborators on case #{case.pk} at {case.level.code}.")
        if not case.is_open:
            raise InvalidAction(f"Case #{case.pk} is {case.get_status_display().lower()}; nobody to invite.")
        if user is not None and user.pk == case.assignee_id:
            raise InvalidAction(f"{user} owns case #{case.pk} already.", {"user": "The owner is not a collaborator."})
        who = Q(user=user) if user is not None else Q(team=team)
        if case.collaborations.filter(who, is_active=True).exists():
            raise InvalidAction(
                f"{user or team.name} is already collaborating on case #{case.pk}.",
                {"user" if user is not None else "team": "Already invited."},
            )
        now = timezone.now()
        collab = Collaboration(case=case, user=user, team=team, invited_by=actor, reason=reason, created_at=now)
        name = str(user) if user is not None else f"team {team.name}"
        save(collab, actor, f"Invited {name} to case #{case.pk}: {reason}")
        emails = (
            [user.email]
            if user is not None and user.email
            else notices.team_addresses(team)
            if team is not None
            else []
        )
        notices.queue(
            case,
            notices.Message(
                "collaboration_invited",
                f"Your help is asked on case #{case.pk} {case.title}",
                f"{actor} invites {name} to work on case #{case.pk} ({case.level.code}, "
                f"P{case.priority}) without taking it over: {reason}\n\nThe case stays with "
                f"{case.assignee or 'its current owner'}; add your findings as internal notes.",
            ),
            [e for e in emails if e],
            key=f"collab:{collab.pk}",
        )
    return collab


def is_invitee(collab: Collaboration, user) -> bool:
    if collab.user_id is not None:
        return collab.user_id == user.pk
    return collab.team.members.filter(pk=user.pk).exists()


def _end(collaboration_id: int, actor: Actor, reason: str, *, leaving: bool) -> Collaboration:
    with transaction.atomic():
        collab = lock(Collaboration, collaboration_id, "collaboration")
        if not collab.is_active:
            raise InvalidAction("This collaboration has ended already.")
        case = collab.case
        if not is_system(actor):
            invitee = is_invitee(collab, actor)
            allowed = invitee if leaving else (invitee or authority.can_work(case, actor))
            if not allowed:
                raise NotAllowed(
                    "Only the invitee (or a member of the invited team) may leave this collaboration."
                    if leaving
                    else f"You may not end collaborations on case #{case.pk}."
                )
        collab.is_active = False
        collab.ended_at = timezone.now()
        verb = "Left" if leaving else "Ended"
        save(collab, actor, f"{verb} by {actor}{f': {reason}' if reason else ''}")
    return collab


@action("leave")
def case_leave(*, collaboration_id: int, actor: Actor, reason: str = "") -> Collaboration:
    """The invitee (or a member of the invited team) steps out; the owner carries on."""
    return _end(collaboration_id, actor, reason, leaving=True)


@action("end-collaboration")
def case_end_collaboration(*, collaboration_id: int, actor: Actor, reason: str = "") -> Collaboration:
    """Whoever works the case (or the invitee) ends a collaboration, e.g. once the help is in."""
    return _end(collaboration_id, actor, reason, leaving=False)

"""Four-eyes changes to authority: a staff member's level, a grant of the authority
matrix, a level's rank.

A manager proposes; a second manager approves (which applies the change) or rejects.
Nobody approves their own proposal, and nobody proposes or approves a change to their
own authority (their own level, or the grants of the level they are at): a manager
cannot raise themselves. The proposal, the decision and the change it applies are each
saved with the acting user and a reason, so the trail shows both pairs of eyes.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalations.domain import authority
from escalations.models import (
    ApprovalKind,
    AuthorityChange,
    AuthorityChangeKind,
    AuthorityGrant,
    Level,
    StaffProfile,
)
from escalations.workflow.actors import Actor, is_system, require_actor
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, lock, require, save

K = AuthorityChangeKind


def _manager(actor: Actor, doing: str) -> None:
    require_actor(actor)
    if is_system(actor) or not authority.is_manager(actor):
        raise NotAllowed(f"Only managers {doing} changes to authority.")


def _own_authority(actor: Actor, what: str, level: Level, profile: StaffProfile | None) -> str | None:
    """Why this change would touch ``actor``'s own authority, or None."""
    if what == K.STAFF_LEVEL and profile is not None and profile.user_id == actor.pk:
        return "it changes your own level"
    own = authority.user_level(actor)
    if what in (K.GRANT, K.GRANT_REMOVE, K.LEVEL_RANK) and own is not None and own.pk == level.pk:
        return f"it changes the authority of your own level ({level.code})"
    return None


def check_proposal(
    *,
    actor: Actor,
    what: str,
    level: Level | None,
    profile: StaffProfile | None = None,
    kind: str = "",
    limit: Decimal | None = None,
    rank: int | None = None,
) -> str:
    """Validate a proposal and return its one-line summary (raises ``WorkflowError``)."""
    _manager(actor, "propose")
    if what not in K.values:
        raise InvalidAction("Choose what to change.", {"what": "Choose what to change."})
    if level is None:
        raise InvalidAction("Choose the level.", {"level": "Choose the level."})
    if what == K.STAFF_LEVEL:
        if profile is None:
            raise InvalidAction("Choose the staff member.", {"profile": "Choose whose level changes."})
        if profile.level_id == level.pk:
            raise InvalidAction(f"{profile.user} is already at {level.code}.", {"level": "Choose another level."})
        summary = f"{profile.user}: level {profile.level.code} -> {level.code}"
    elif what in (K.GRANT, K.GRANT_REMOVE):
        if kind not in ApprovalKind.values:
            raise InvalidAction("Choose the kind of approval.", {"kind": "Choose a kind."})
        label = ApprovalKind(kind).label.lower()
        if what == K.GRANT_REMOVE:
            if not AuthorityGrant.objects.filter(level=level, kind=kind).exists():
                raise InvalidAction(f"{level.code} holds no grant for {label}.", {"kind": "No such grant."})
            summary = f"{level.code}: remove the grant for {label}"
        else:
            if limit is not None and (not limit.is_finite() or limit < 0 or limit >= Decimal("1e12")):
                raise InvalidAction("The limit must be a positive amount.", {"limit": "Enter a positive amount."})
            shown = "no limit" if limit is None else f"up to {limit:,.2f}"
            summary = f"{level.code}: may decide {label} {shown}"
    else:
        if rank is None or not 0 < rank < 1000:
            raise InvalidAction("Give the new rank (1-999).", {"rank": "Enter a rank from 1 to 999."})
        if Level.objects.filter(rank=rank).exclude(pk=level.pk).exists():
            raise InvalidAction(f"Another level already has rank {rank}.", {"rank": "Choose a free rank."})
        summary = f"{level.code}: rank {level.rank} -> {rank}"
    own = _own_authority(actor, what, level, profile)
    if own:
        raise NotAllowed(f"You may not propose this: {own}. Another manager must propose it.")
    return summary


@action("propose-authority-change")
def authority_change_propose(
    *,
    actor: Actor,
    what: str,
    reason: str,
    level: Level | None,
    profile: StaffProfile | None = None,
    kind: str = "",
    limit: Decimal | None = None,
    rank: int | None = None,
) -> AuthorityChange:
    """Record a pending change; nothing changes until a second manager approves it."""
    reason = require(reason, "reason", "Say why the change is needed.")
    with transaction.atomic():
        summary = check_proposal(
            actor=actor, what=what, level=level, profile=profile, kind=kind, limit=limit, rank=rank
        )
        change = AuthorityChange(
            what=what,
            profile=profile if what == K.STAFF_LEVEL else None,
            level=level,
            kind=kind if what in (K.GRANT, K.GRANT_REMOVE) else "",
            limit=limit if what == K.GRANT else None,
            rank=rank if what == K.LEVEL_RANK else None,
            summary=summary[:300],
            reason=reason,
            proposed_by=actor,
            proposed_at=timezone.now(),
        )
        save(change, actor, f"Proposed (needs a second manager): {summary}: {reason}")
    return change


def _apply(change: AuthorityChange, actor: Actor, why: str) -> None:
    if change.what == K.STAFF_LEVEL:
        profile = lock(StaffProfile, change.profile_id, "staff profile")
        profile.level = change.level
        save(profile, actor, why)
    elif change.what == K.GRANT:
        grant = AuthorityGrant.objects.select_for_update().filter(level=change.level, kind=change.kind).first()
        grant = grant or AuthorityGrant(level=change.level, kind=change.kind)
        grant.limit = change.limit
        save(grant, actor, why)
    elif change.what == K.GRANT_REMOVE:
        grant = AuthorityGrant.objects.select_for_update().filter(level=change.level, kind=change.kind).first()
        if grant is not None:
            grant._history_user, grant._history_action = actor, "decide-authority-change"
            grant._change_reason = why[:1000]
            grant.delete()
    else:
        level = lock(Level, change.level_id, "level")
        level.rank = change.rank
        try:
            with transaction.atomic():
                save(level, actor, why)
        except IntegrityError:
            raise InvalidAction(f"Another level already has rank {change.rank}; reject this change.") from None


@action("decide-authority-change")
def authority_change_decide(*, change_id: int, actor: Actor, approve: bool, note: str = "") -> AuthorityChange:
    """The second pair of eyes: approve (the change is applied now) or reject."""
    _manager(actor, "decide")
    with transaction.atomic():
        change = lock(AuthorityChange, as_id(change_id, "authority change"), "authority change")
        if change.status != "pending":
            raise InvalidAction(f"This change is already {change.get_status_display().lower()}.")
        if change.proposed_by_id == actor.pk:
            raise NotAllowed("You proposed this change; a second manager must decide it (four-eyes).")
        own = _own_authority(actor, change.what, change.level, change.profile)
        if own:
            raise NotAllowed(f"You may not decide this change: {own}.")
        if not approve:
            note = require(note, "note", "Say why the change is rejected.")
        now = timezone.now()
        if approve:
            change.apply(actor, note, now)
            _apply(change, actor, f"{change.summary} (proposed by {change.proposed_by}, approved by {actor})")
        else:
            change.reject(actor, note, now)
        save(change, actor, f"{'Approved and applied' if approve else 'Rejected'}: {change.summary}. {note}".strip())
    return change

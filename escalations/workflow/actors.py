"""Who acts: a staff user, or the desk itself.

Every workflow function takes an ``actor``. People act as themselves; the sweep, the
importers, the channels (mail, webhooks) and the requester's signed links act as the
``system`` user, a dedicated account that cannot sign in. It is recorded as the history
user like anyone else, so the audit trail never has an anonymous row, and the caller
has already established its authority (a rule, a signed link, a token), so the
permission check is not asked of it. ``None`` is refused: an action with nobody behind
it is a bug, not the system.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from escalations.core.config_cache import cached

Actor = AbstractBaseUser
SYSTEM_USERNAME = "system"


def _load_system():
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "Desk", "last_name": "automation"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def system_actor() -> Actor:
    """The desk's own account (created by a migration; made again if a test wiped it)."""
    return cached("system_actor", _load_system)


def is_system(actor: Actor) -> bool:
    return getattr(actor, "username", None) == SYSTEM_USERNAME and not actor.is_active


def require_actor(actor: Actor | None) -> Actor:
    if actor is None or not hasattr(actor, "pk"):
        raise TypeError("A workflow action needs an actor: a user, or workflow.system_actor() for the desk.")
    return actor


def may(actor: Actor, allowed: Callable[..., bool], *args) -> bool:
    """``allowed(*args, actor)`` for people; the system's authority was checked by its caller."""
    require_actor(actor)
    return is_system(actor) or allowed(*args, actor)

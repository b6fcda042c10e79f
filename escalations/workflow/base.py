"""What every workflow action shares: errors, row locks, permission checks, saving
with the history user and a reason, and rescheduling the SLA clock."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed, has_transition_perm

from escalations.domain import clock, rules
from escalations.models import Case
from escalations.workflow import waits
from escalations.workflow.actors import Actor, is_system, require_actor

_ACTION: ContextVar[str] = ContextVar("escalations_workflow_action", default="")


def action(slug: str) -> Callable:
    """Declares a workflow function as the action ``slug``. History rows written while it
    runs record the slug (``history_action``; an action called inside another records the
    outer one), and the action catalogue takes the slug from here."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def act(*args, **kwargs):
            token = _ACTION.set(_ACTION.get() or slug)
            try:
                return fn(*args, **kwargs)
            finally:
                _ACTION.reset(token)

        act.slug = slug
        return act

    return decorate


class WorkflowError(Exception):
    """A refusal the user should read. ``errors`` maps form fields to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAllowed(WorkflowError):
    """The actor lacks the role, level or authority for this action."""


class InvalidAction(WorkflowError):
    """The action does not fit the case's state or the input is incomplete."""


class Conflict(WorkflowError):
    """Someone else changed the object between reading it and acting on it."""


def from_validation_error(exc: ValidationError) -> InvalidAction:
    if hasattr(exc, "error_dict"):
        errors = {field: " ".join(m for e in errs for m in e.messages) for field, errs in exc.error_dict.items()}
        return InvalidAction(" ".join(errors.values()), errors)
    return InvalidAction(" ".join(exc.messages))


def lock_case(case_id: int, seen_version: int | None) -> Case:
    """Lock the case row for this transaction and check nobody changed it since it was read.

    With no version from the caller (a form carries one), the version is read just
    before locking: two actions that start together both read it, one commits first,
    and the other then sees a newer version and gets ``Conflict`` instead of acting on
    a case it never saw.
    """
    case_id = as_id(case_id, "case")
    if seen_version is None:
        seen_version = Case.objects.filter(pk=case_id).values_list("version", flat=True).first()
    try:
        # No joins in the locking query: PostgreSQL re-checks a join after waiting for
        # the lock, and a winner that changed the level would make the row vanish.
        case = Case.objects.select_for_update().get(pk=case_id)
    except Case.DoesNotExist:
        raise InvalidAction(f"There is no case #{case_id}.") from None
    if case.version != seen_version:
        raise Conflict(
            f"Case #{case.pk} changed since you opened it (it is now {case.get_status_display().lower()} "
            f"at {case.level.code}); review it and try again."
        )
    return case


def as_id(value, what: str) -> int:
    """A primary key from user input, or a clear refusal (never a crash)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise InvalidAction(f"There is no {what} #{value}.")
    number = int(value)
    if not 0 < number < 2**63:
        raise InvalidAction(f"There is no {what} #{value}.")
    return number


def lock(model: type[models.Model], pk: int, what: str) -> models.Model:
    pk = as_id(pk, what)
    try:
        return model.objects.select_for_update().get(pk=pk)
    except model.DoesNotExist:
        raise InvalidAction(f"There is no {what} #{pk}.") from None


def verb_of(obj: models.Model | type[models.Model], name: str) -> str:
    """The verb a transition declares (``custom={"verb": ...}``), for messages and the catalogue."""
    model = obj if isinstance(obj, type) else type(obj)
    meta = getattr(getattr(model, name, None), "_django_fsm", None)
    declared = next(iter(meta.transitions.values())).custom if meta and meta.transitions else None
    return (declared or {}).get("verb", name.replace("_", " "))


def run(obj: models.Model, name: str, actor: Actor, *args) -> None:
    """Run a transition after checking that it fits the state and the actor may do it.

    django-fsm does not enforce ``permission=`` when a transition is called; this does.
    The system actor's authority was established by its caller (a rule, a signed link).
    """
    require_actor(actor)
    bound = getattr(obj, name)
    if isinstance(obj, Case):  # a breach that happened before this action belongs to the old state
        clock.mark_breaches(obj, timezone.now())
    label = f"{obj._meta.verbose_name} #{obj.pk}"
    verb = verb_of(obj, name)
    if not can_proceed(bound):
        state = obj.get_status_display().lower()
        raise InvalidAction(f"You cannot {verb} {label}: it is {state}.")
    if not is_system(actor) and not has_transition_perm(bound, actor):
        raise NotAllowed(f"You may not {verb} {label} (your role or level does not allow it).")
    try:
        bound(*args)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
    except TransitionNotAllowed as exc:
        raise InvalidAction(f"You cannot {verb} {label}: {exc}") from exc


def save(obj: models.Model, actor: Actor, reason: str) -> None:
    """Save with the acting user and the reason on the history row."""
    obj._history_user = require_actor(actor)
    obj._history_action = _ACTION.get()
    obj._change_reason = reason[:1000]
    try:
        obj.save()
    except ConcurrentTransition:
        raise Conflict(f"{obj._meta.verbose_name.capitalize()} #{obj.pk} changed while you acted; try again.") from None


def save_case(case: Case, actor: Actor, reason: str, now: datetime, sla_why: str = "") -> None:
    """Bump the version, bring the clocks and the next check up to date, save.

    The SLA due times move only through a priority change (the caller says why in
    ``sla_why``) or the end of a pause; each move is recorded on the case."""
    case.version += 1
    before = clock.sla_due(case)
    clock.recompute_due(case)
    clock.log_moves(case, before, now, sla_why)
    clock.mark_breaches(case, now)
    case.next_check_at = rules.next_check_at(case, now)
    waits.sync(case, now)
    save(case, actor, reason)


def require(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidAction(message, {field: message})
    return value

"""A staff member's own queue filters: save one under a name, delete one, remember the
one last used on each queue.

These change no case and no shared record, so they are not staff actions in the
catalogue (nothing to offer on a case page, no history row): each function acts only on
rows of the user it is given, and refuses with a reason the page shows."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalations.models import FilterQueue, SavedQueueFilter
from escalations.models.preferences import NAME_MAX, QUERY_MAX, SAVED_PER_QUEUE
from escalations.workflow.base import InvalidAction, NotAllowed, as_id


def _check(user, queue: str, query: str) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed("Sign in to keep filters.")
    if queue not in FilterQueue.values:
        raise InvalidAction("Filters are kept for My queue and Team queue only.")
    if len(query) > QUERY_MAX:
        raise InvalidAction(f"This filter is too long to keep (at most {QUERY_MAX} characters).")


def filter_save(user, queue: str, name: str, query: str) -> tuple[SavedQueueFilter, bool]:
    """Keep ``query`` under ``name`` (the same name again replaces it). Returns the row and
    whether it is new."""
    name = " ".join((name or "").split())
    _check(user, queue, query)
    if not name:
        raise InvalidAction("Name the filter.", {"name": "Name the filter."})
    if len(name) > NAME_MAX:
        raise InvalidAction(f"A filter's name has at most {NAME_MAX} characters.", {"name": "Shorten the name."})
    with transaction.atomic():
        row = SavedQueueFilter.objects.select_for_update().filter(user=user, queue=queue, name=name).first()
        if row is not None:
            row.query, row.updated_at = query, timezone.now()
            row.save(update_fields=["query", "updated_at"])
            return row, False
        kept = SavedQueueFilter.objects.filter(user=user, queue=queue).exclude(name="").count()
        if kept >= SAVED_PER_QUEUE:
            raise InvalidAction(
                f"You keep {kept} filters on this queue already (at most {SAVED_PER_QUEUE}); delete one."
            )
        try:
            with transaction.atomic():
                row = SavedQueueFilter.objects.create(user=user, queue=queue, name=name, query=query)
        except IntegrityError:  # saved at the same moment in another tab: that one stands
            raise InvalidAction(f"A filter named “{name}” was just saved; try again.") from None
    return row, True


def filter_delete(user, filter_id) -> SavedQueueFilter:
    """Delete one of the user's own named filters (anyone else's is "no such filter")."""
    pk = as_id(filter_id, "saved filter")
    with transaction.atomic():
        row = SavedQueueFilter.objects.select_for_update().filter(pk=pk, user=user).exclude(name="").first()
        if row is None:
            raise InvalidAction(f"There is no saved filter #{pk} of yours.")
        row.delete()
    return row


def filter_remember(user, queue: str, query: str) -> None:
    """Remember ``query`` as the filter last used on the queue (written only when it changed)."""
    if not user.is_authenticated or queue not in FilterQueue.values or len(query) > QUERY_MAX:
        return
    updated = (
        SavedQueueFilter.objects.filter(user=user, queue=queue, name="")
        .exclude(query=query)
        .update(query=query, updated_at=timezone.now())
    )
    if updated:
        return
    try:
        with transaction.atomic():
            SavedQueueFilter.objects.get_or_create(user=user, queue=queue, name="", defaults={"query": query})
    except IntegrityError:  # two tabs at once: either one is the last used
        pass

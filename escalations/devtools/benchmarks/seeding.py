"""What the data builders of the benchmarks share."""

from __future__ import annotations

from django.db import transaction

from escalations.audit.chain import bulk_history
from escalations.models import Case


def creation_history(source: str, first_pk: int, reason: str, chunk: int = 20_000) -> None:
    """One creation row per case of ``source`` from ``first_pk`` on, through ``bulk_history``
    and so on the audit chain, dated at the batch's first opening: every case has a
    history, as the invariants expect."""
    last = first_pk - 1
    while True:
        batch = list(Case.objects.filter(source=source, pk__gt=last).order_by("pk")[:chunk])
        if not batch:
            return
        last = batch[-1].pk
        for case in batch:
            case._change_reason = reason
        with transaction.atomic():
            bulk_history(batch, "+", batch[0].opened_at)

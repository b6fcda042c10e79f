"""Index shapes shared by the models."""

from __future__ import annotations

from django.db import models


def where_set(field: str, name: str) -> models.Index:
    """An index on a nullable key that holds only the rows that have one.

    Every lookup by the key (``= x``, ``IN (...)``, an ``on_delete``'s) implies the key is set,
    so the planner uses it as it used the full index; the rows without one (a case nobody
    follows up, a handoff not decided yet, an e-mail notice without a webhook) write no entry,
    on insert and on every update PostgreSQL cannot make HOT (docs/indexes.md)."""
    return models.Index(fields=[field], name=name, condition=models.Q(**{f"{field}__isnull": False}))

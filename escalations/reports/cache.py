"""The day's tables of a report that keeps them (``Report.daily``): looked up by a key of
the report, its filters, the local day and what the data depends on beyond the day (the
imported logs' import times, the ladder), stored after the first computation of the day.

Pickle is safe here: only this module writes the rows, from tables this desk computed."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import astuple
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalations.models import ReportCache

KEEP_DAYS = 2  # rows for older days are removed by ``prune``


def key(name: str, scope) -> str:
    """What the tables depend on: the same key means the same tables."""
    parts = (
        name,
        astuple(scope.f),
        timezone.localdate(scope.now),
        sorted((s.source, s.imported_at.isoformat(), s.cases) for s in scope.imported.values()),
        sorted((lv.pk, lv.code, lv.rank) for lv in scope.levels.values()),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def get(digest: str) -> list | None:
    row = ReportCache.objects.filter(key=digest).values_list("tables", flat=True).first()
    return None if row is None else pickle.loads(bytes(row))


def put(digest: str, name: str, scope, tables: list) -> None:
    """Keep the tables; a second process that computed them too at the same moment is fine."""
    row = ReportCache(
        key=digest,
        report=name,
        day=timezone.localdate(scope.now),
        tables=pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL),
        computed_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        pass  # computed by someone else meanwhile: the same tables


def clear() -> int:
    """Forget every kept table (seed commands, which write past days without an import)."""
    return ReportCache.objects.all().delete()[0]


def prune() -> int:
    """Remove the rows of days before yesterday."""
    return ReportCache.objects.filter(day__lt=timezone.localdate() - timedelta(days=KEEP_DAYS - 1)).delete()[0]

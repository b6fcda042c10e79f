"""Compute the day's kept reports ahead of the first manager who opens them: each report
that keeps its tables (``Report.daily``), over its default range, for all cases and for
each imported log; and remove the rows of past days. Run hourly by django-q2, so soon after
midnight (or an import) the first page view reads a kept table instead of waiting."""

from __future__ import annotations

from django.utils import timezone

from escalations.models import ImportedSource
from escalations.reports import cache
from escalations.reports.base import REGISTRY, SOURCES, Filters, default_range


def warm() -> dict:
    today = timezone.localdate()
    imported = ImportedSource.objects.order_by("source").values_list("source", flat=True)
    sources = [None, *(s for s in imported if s in SOURCES)]
    done = 0
    for report in (r for r in REGISTRY.values() if r.daily):
        for source in sources:
            first, last = default_range(source, today, report.default_days or 30)
            report.run(Filters(date_from=min(first, last), date_to=last, source=source))
            done += 1
    return {"computed_or_kept": done, "pruned": cache.prune()}

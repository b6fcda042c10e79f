"""Records the data range of an imported log once its cases are written (``ImportedSource``).

The range runs from the earliest opening to the latest moment anything happened in the
log (an opening, a resolution, a closing, a handoff raised or decided). Functions take the
models as arguments so migration 0035 can fill the table with its historical models."""

from __future__ import annotations

from django.db.models import Count, Max, Min

from escalations.models import Case, Escalation, ImportedSource


def data_range(case_model, escalation_model, source: str) -> tuple | None:
    """(first, last, cases) of one imported source, or None when it has no cases."""
    cases = case_model.objects.filter(source=source).order_by()
    c = cases.aggregate(
        n=Count("pk"),
        first=Min("opened_at"),
        opened=Max("opened_at"),
        resolved=Max("resolved_at"),
        closed=Max("closed_at"),
    )
    if not c["n"]:
        return None
    handoffs = escalation_model.objects.filter(case__source=source).order_by()
    h = handoffs.aggregate(raised=Max("created_at"), decided=Max("decided_at"))
    moments = [m for m in (c["opened"], c["resolved"], c["closed"], h["raised"], h["decided"]) if m is not None]
    return c["first"], max(moments), c["n"]


def record(source: str) -> ImportedSource | None:
    """Write (or refresh) the source's row after an import."""
    found = data_range(Case, Escalation, source)
    if found is None:
        ImportedSource.objects.filter(source=source).delete()
        return None
    first, last, n = found
    row, _ = ImportedSource.objects.update_or_create(
        source=source, defaults={"first_at": first, "last_at": last, "cases": n}
    )
    return row

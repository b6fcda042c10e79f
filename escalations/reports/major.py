"""Major incidents: how many were declared, how long they took to resolve, and their reviews."""

from __future__ import annotations

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q

from escalations.models import Review, ReviewStatus
from escalations.reports.base import Column, Scope, Table, hours, period_key, report

LATEST = 200


def _declared(scope: Scope):
    """Cases declared major in the range (whatever happened since), matching the filters."""
    return scope.cases(date_field="major_declared_at").filter(major_declared_at__isnull=False)


@report(
    "major",
    "Major incidents",
    "Cases declared a major incident in the range: how many, how many are still major, how "
    "long they took to resolve from the declaration, and whether their post-incident review is done.",
    compare=("cases", "resolved", "hours_to_resolve"),
)
def major(scope: Scope) -> list[Table]:
    qs = _declared(scope)
    to_resolve = ExpressionWrapper(F("resolved_at") - F("major_declared_at"), output_field=DurationField())
    figures = qs.aggregate(
        declared=Count("pk"),
        active=Count("pk", filter=Q(is_major=True)),
        ended=Count("pk", filter=Q(major_ended_at__isnull=False)),
        resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
        reviewed=Count("pk", filter=Q(review__status=ReviewStatus.COMPLETED)),
        mean=Avg(to_resolve, filter=Q(resolved_at__isnull=False)),
        longest=Max(to_resolve, filter=Q(resolved_at__isnull=False)),
    )
    summary = Table(
        "summary",
        "Major incidents declared in the range",
        [
            Column("declared", "Declared"),
            Column("active", "Still major"),
            Column("ended", "Ended by an Executive"),
            Column("resolved", "Resolved"),
            Column("mean_hours", "Mean time to resolve (h)", "hours"),
            Column("longest_hours", "Longest time to resolve (h)", "hours"),
            Column("reviewed", "Reviews completed"),
            Column("review_due", "Reviews outstanding"),
        ],
        [
            [
                figures["declared"],
                figures["active"],
                figures["ended"],
                figures["resolved"],
                hours(figures["mean"].total_seconds()) if figures["mean"] is not None else None,
                hours(figures["longest"].total_seconds()) if figures["longest"] is not None else None,
                figures["reviewed"],
                figures["resolved"] - figures["reviewed"],
            ]
        ],
        note="Time to resolve runs from the declaration to the resolution, in wall-clock hours.",
    )
    rows = list(
        qs.annotate(took=to_resolve)
        .order_by("-major_declared_at", "-pk")
        .values_list("pk", "major_declared_at", "level__code", "status", "major_ended_at", "resolved_at", "took")[
            :LATEST
        ]
    )
    done = set(
        Review.objects.filter(case_id__in=[r[0] for r in rows], status=ReviewStatus.COMPLETED).values_list(
            "case_id", flat=True
        )
    )
    listing = Table(
        "incidents",
        "Major incidents (latest declared)",
        [
            Column("case", "Case"),
            Column("declared", "Declared", "date"),
            Column("level", "Level", "text"),
            Column("status", "Status", "text"),
            Column("ended", "Ended", "date"),
            Column("resolved", "Resolved", "date"),
            Column("hours_to_resolve", "Hours to resolve", "hours"),
            Column("review", "Review", "text"),
        ],
        [
            [
                pk,
                period_key(declared),
                level,
                status,
                period_key(ended),
                period_key(resolved),
                hours(took.total_seconds()) if took is not None else None,
                "done" if pk in done else ("due" if resolved else "-"),
            ]
            for pk, declared, level, status, ended, resolved, took in rows
        ],
        note=f"The {LATEST} most recently declared in the range.",
    )
    return [summary, listing]

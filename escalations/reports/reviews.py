"""Reviews: root causes and prevention actions from post-escalation reviews."""

from __future__ import annotations

from django.db.models import Count, Q
from django.db.models.functions import Lower, Trim

from escalations.models import Case, Review, ReviewStatus
from escalations.reports.base import SOURCES, Chart, Column, Scope, Table, pct, period_key, report

LATEST = 100


def _reviews(scope: Scope):
    """Completed reviews written in the range, of cases matching the filters where the case
    stood when reviewed (the copies each review keeps: no case row is read)."""
    qs = Review.objects.filter(
        status=ReviewStatus.COMPLETED, completed_at__gte=scope.f.start, completed_at__lt=scope.f.end
    ).order_by()
    copies = {
        "case_level_id": scope.level,
        "case_team_id": scope.team,
        "case_category_id": scope.category,
        "case_priority": scope.f.priority,
        "case_source": None if scope.f.source is None else SOURCES[scope.f.source],
    }
    q = Q(**{k: getattr(v, "pk", v) for k, v in copies.items() if v is not None}) & scope.attribute_filter("case__")
    return qs.filter(q) if q else qs


@report(
    "reviews",
    "Reviews",
    "Completed post-escalation reviews in the range: root causes, whether the escalation was "
    "warranted, and the prevention actions agreed.",
    compare=("cases", "escalated", "resolved"),
)
def reviews(scope: Scope) -> list[Table]:
    qs = _reviews(scope)
    causes = (
        qs.annotate(cause=Lower(Trim("root_cause")))
        .values("cause")
        .annotate(
            n=Count("pk"),
            yes=Count("pk", filter=Q(escalation_warranted=True)),
            no=Count("pk", filter=Q(escalation_warranted=False)),
        )
        .order_by("-n", "cause")
    )
    total = sum(c["n"] for c in causes)
    cause_rows = [
        [c["cause"], c["n"], pct(c["n"], total), c["yes"], c["no"], c["n"] - c["yes"] - c["no"]] for c in causes
    ]
    by_cause = Table(
        "root_causes",
        "Root causes",
        [
            Column("root_cause", "Root cause", "text"),
            Column("reviews", "Reviews"),
            Column("share", "Share %", "pct"),
            Column("warranted", "Escalation warranted"),
            Column("not_warranted", "Not warranted"),
            Column("unknown", "Not judged"),
        ],
        cause_rows,
        Chart("bar", "root_cause", ["warranted", "not_warranted", "unknown"], stacked=True),
        note="Root causes as written, compared without case or surrounding spaces. The level, team and "
        "case filters match where the case stood when it was reviewed.",
    )
    latest = list(
        qs.order_by("-completed_at", "-pk").values_list(
            "case_id", "completed_at", "root_cause", "escalation_warranted", "prevention_actions"
        )[:LATEST]
    )
    levels = dict(Case.objects.filter(pk__in=[r[0] for r in latest]).order_by().values_list("pk", "level__code"))
    actions = Table(
        "prevention",
        "Prevention actions (latest reviews)",
        [
            Column("case", "Case"),
            Column("completed", "Completed", "date"),
            Column("level", "Level", "text"),
            Column("root_cause", "Root cause", "text"),
            Column("warranted", "Warranted", "text"),
            Column("prevention_actions", "Prevention actions", "text"),
        ],
        [
            [
                case_id,
                period_key(done),
                levels.get(case_id),
                cause,
                {True: "yes", False: "no"}.get(warranted, "-"),
                prevention,
            ]
            for case_id, done, cause, warranted, prevention in latest
        ],
        note=f"The {LATEST} most recent reviews in the range.",
    )
    return [by_cause, actions]

"""How the suggestions fared: what staff did with them, and how often routing a case
straight to the predicted level was right. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q

from escalations.models import CaseStatus, CaseSuggestion, Escalation, EscalationStatus, SuggestionDecision

SETTLED = [CaseStatus.RESOLVED, CaseStatus.CLOSED]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Decisions:
    suggested: int
    decided: int
    accepted: int
    changed: int
    category_decided: int
    category_accepted: int
    priority_decided: int
    priority_accepted: int
    level_resolved: int  # suggestions with a level on cases resolved since
    level_right: int  # ... resolved at the suggested level

    def as_dict(self) -> dict:
        return {
            "suggested": self.suggested,
            "decided": self.decided,
            "accepted": self.accepted,
            "changed": self.changed,
            "accepted_rate": _rate(self.accepted, self.decided),
            "category_accepted_rate": _rate(self.category_accepted, self.category_decided),
            "priority_accepted_rate": _rate(self.priority_accepted, self.priority_decided),
            "level_right_rate": _rate(self.level_right, self.level_resolved),
        }


def decisions(qs=None) -> Decisions:
    qs = CaseSuggestion.objects.all() if qs is None else qs
    agg = qs.aggregate(
        suggested=Count("pk"),
        decided=Count("pk", filter=~Q(decision=SuggestionDecision.PENDING)),
        accepted=Count("pk", filter=Q(decision=SuggestionDecision.ACCEPTED)),
        changed=Count("pk", filter=Q(decision=SuggestionDecision.CHANGED)),
        category_decided=Count("pk", filter=Q(category_accepted__isnull=False)),
        category_accepted=Count("pk", filter=Q(category_accepted=True)),
        priority_decided=Count("pk", filter=Q(priority_accepted__isnull=False)),
        priority_accepted=Count("pk", filter=Q(priority_accepted=True)),
        level_resolved=Count("pk", filter=Q(level__isnull=False, case__status__in=SETTLED)),
        level_right=Count("pk", filter=Q(level__isnull=False, case__status__in=SETTLED, case__level=F("level"))),
    )
    return Decisions(**agg)


@dataclass(frozen=True)
class Routed:
    routed: int
    settled: int  # resolved, or the routing handoff returned
    right: int  # not returned, and resolved at the level it was routed to
    returned: int

    @property
    def right_rate(self) -> float | None:
        return _rate(self.right, self.settled)

    def as_dict(self) -> dict:
        return {
            "routed": self.routed,
            "settled": self.settled,
            "right": self.right,
            "returned": self.returned,
            "right_rate": self.right_rate,
        }


def routed(qs=None) -> Routed:
    """Cases routed straight to the predicted level at intake. Right: the routing handoff was
    not returned and the case was resolved at that level. Settled: resolved, or returned."""
    qs = CaseSuggestion.objects.all() if qs is None else qs
    returned = Escalation.objects.filter(
        case=OuterRef("case"), status=EscalationStatus.RETURNED, to_level=OuterRef("level")
    )
    rows = qs.filter(routed=True).annotate(was_returned=Exists(returned))
    agg = rows.aggregate(
        routed=Count("pk"),
        returned=Count("pk", filter=Q(was_returned=True)),
        resolved=Count("pk", filter=Q(case__status__in=SETTLED, was_returned=False)),
        right=Count("pk", filter=Q(case__status__in=SETTLED, was_returned=False, case__level=F("level"))),
    )
    return Routed(agg["routed"], agg["resolved"] + agg["returned"], agg["right"], agg["returned"])

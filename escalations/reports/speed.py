"""Speed: time to first response and to resolve, time to accept an escalation, and the time
spent at each level.

Time at a level needs no per-case timeline. Measured from each case's opening, a level's
total time is the sum of the moments cases left it minus the sum of the moments they
entered it; opening is moment 0, so the first level's entry adds nothing. Entries and
exits are the handoff rows (an escalation leaves ``from`` and enters ``to`` when raised;
a returned one leaves ``to`` and re-enters ``from`` when decided) plus the case itself,
which leaves its last level when resolved (or is still there now). So two grouped sums
give every level's total, and the number of exits is the number of visits.
"""
from __future__ import annotations

from collections import Counter

from django.db.models import Avg, Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from ..models import EscalationKind, EscalationStatus
from .base import Chart, Column, Scope, Table, hours, pct, report
from .sql import Median, Seconds

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)


def _case_speed(scope: Scope) -> Table:
    first = Seconds("first_response_at", "opened_at")
    resolve = Seconds("resolved_at", "opened_at")
    groups = {g["level_id"]: g for g in scope.cases().values("level_id").annotate(
        cases=Count("pk"), responded=Count("first_response_at"), resolved=Count("resolved_at"),
        first_avg=Avg(first), first_med=Median(first), resolve_avg=Avg(resolve), resolve_med=Median(resolve),
    )}
    rows = [[lv.code, g["cases"], g["responded"], hours(g["first_avg"]), hours(g["first_med"]), g["resolved"],
             hours(g["resolve_avg"]), hours(g["resolve_med"])]
            for lv in scope.ladder() if (g := groups.get(lv.pk))]
    return Table(
        "response_resolution", "Time to first response and to resolve",
        [Column("level", "Level", "text"), Column("cases", "Cases"), Column("responded", "Responded"),
         Column("first_response_mean_h", "First response mean h", "hours"),
         Column("first_response_median_h", "First response median h", "hours"), Column("resolved", "Resolved"),
         Column("resolve_mean_h", "Resolve mean h", "hours"), Column("resolve_median_h", "Resolve median h", "hours")],
        rows, Chart("bar", "level", ["first_response_median_h", "resolve_median_h"]),
        note="Cases opened in the range, by the level holding them now (or when resolved); hours from opening.",
    )


def _accept_speed(scope: Scope) -> Table:
    wait = Seconds("decided_at", "created_at")
    accepted = Q(status=EscalationStatus.ACCEPTED)
    groups = {g["to_level_id"]: g for g in scope.escalations().filter(kind__in=UP).values("to_level_id").annotate(
        handoffs=Count("pk"), accepted=Count("pk", filter=accepted),
        returned=Count("pk", filter=Q(status=EscalationStatus.RETURNED)),
        pending=Count("pk", filter=Q(status=EscalationStatus.PENDING)),
        avg=Avg(wait, filter=accepted), med=Median(wait, filter=accepted),
    )}
    rows = [[lv.code, g["handoffs"], g["accepted"], g["returned"], g["pending"], hours(g["avg"]), hours(g["med"])]
            for lv in scope.ladder() if (g := groups.get(lv.pk))]
    return Table(
        "accept", "Time to accept an escalation",
        [Column("level", "Receiving level", "text"), Column("handoffs", "Escalations"),
         Column("accepted", "Accepted"), Column("returned", "Returned"), Column("pending", "Pending"),
         Column("accept_mean_h", "Accept mean h", "hours"), Column("accept_median_h", "Accept median h", "hours")],
        rows, Chart("bar", "level", ["accept_mean_h", "accept_median_h"]),
    )


def _time_at_levels(scope: Scope) -> Table:
    end = Coalesce("resolved_at", Value(scope.now))
    cases = {g["level_id"]: g for g in scope.cases().values("level_id").annotate(
        exits=Count("pk"), leave=Sum(Seconds(end, "opened_at")))}
    # Handoffs of the same cases (whenever raised), grouped by their two ends and outcome.
    moves = (scope.handoffs_of_cases().values("from_level_id", "to_level_id", "status")
             .annotate(n=Count("pk"), raised=Sum(Seconds("created_at", "case__opened_at")),
                       decided=Sum(Seconds("decided_at", "case__opened_at"))))
    total, exits = Counter(), Counter()
    for lv_id, g in cases.items():
        total[lv_id] += g["leave"] or 0
        exits[lv_id] += g["exits"]
    for m in moves:
        raised = m["raised"] or 0
        total[m["from_level_id"]] += raised
        total[m["to_level_id"]] -= raised
        exits[m["from_level_id"]] += m["n"]
        if m["status"] == EscalationStatus.RETURNED:
            decided = m["decided"] or 0
            total[m["to_level_id"]] += decided
            total[m["from_level_id"]] -= decided
            exits[m["to_level_id"]] += m["n"]
    grand = sum(total.values())
    rows = [[lv.code, exits[lv.pk], hours(total[lv.pk]), hours(total[lv.pk] / exits[lv.pk]) if exits[lv.pk] else None,
             pct(total[lv.pk], grand)] for lv in scope.ladder() if exits[lv.pk]]
    return Table(
        "time_at_level", "Time spent at each level",
        [Column("level", "Level", "text"), Column("visits", "Visits"), Column("total_h", "Total h", "hours"),
         Column("mean_h", "Mean h per visit", "hours"), Column("share", "Share of time %", "pct")],
        rows, Chart("bar", "level", ["mean_h"]),
        note="Cases opened in the range, from opening to resolution (or now), wall-clock time. A visit "
             "starts when the case arrives at the level (opening, escalation, return, de-escalation).",
    )


@report("speed", "Speed",
        "Mean and median time to first response, to accept an escalation and to resolve, per level; "
        "time spent at each level.")
def speed(scope: Scope) -> list[Table]:
    return [_case_speed(scope), _accept_speed(scope), _time_at_levels(scope)]

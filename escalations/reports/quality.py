"""Escalation quality: over-escalation (returned escalations per team and agent), handoffs
missing information, under-escalation (breaches left at the level where they happened)
and the reopen rate."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q

from escalations.models import EscalationKind, EscalationStatus
from escalations.models.sources import IMPORTED_REASON
from escalations.reports.base import Chart, Column, Scope, Table, pct, report
from escalations.rollups import read as rollups

UP = (EscalationKind.ESCALATE, EscalationKind.JUMP)
MAX_AGENTS = 100
HANDOFF_FIELDS = ("summary", "steps_tried", "customer_impact", "knowledge_consulted")


def _raisers(scope: Scope) -> list[dict]:
    """Per (team left, raiser): escalations raised, returned, raised in this desk, and of
    those missing information; from the rollups when they can answer the filters."""
    if rollups.usable(scope):
        return rollups.raisers(scope)
    thin = Q()
    for name in HANDOFF_FIELDS:
        thin |= Q(**{name: ""})
    # Raised here = by a person or a rule; an imported handoff names the log's person as its
    # raiser (per-agent figures), but carries no handoff text to judge.
    here = (Q(raised_by__isnull=False) | Q(rule__isnull=False)) & ~Q(reason__startswith=IMPORTED_REASON)
    return list(
        scope.escalations()
        .filter(kind__in=UP)
        .values("from_team_id", "raised_by_id")
        .annotate(
            raised=Count("pk"),
            returned=Count("pk", filter=Q(status=EscalationStatus.RETURNED)),
            live=Count("pk", filter=here),
            thin=Count("pk", filter=thin & here),
        )
    )


def _over_escalation(scope: Scope) -> list[Table]:
    groups = _raisers(scope)
    teams, agents = defaultdict(Counter), defaultdict(Counter)
    for g in groups:
        for bucket, key in ((teams, g["from_team_id"]), (agents, g["raised_by_id"])):
            for k in ("raised", "returned", "live", "thin"):
                bucket[key][k] += g[k]
    names = scope.team_names(teams)
    users = dict(get_user_model().objects.filter(pk__in=[a for a in agents if a]).values_list("pk", "username"))

    def rows(bucket, label):
        out = [
            [
                label(key),
                c["raised"],
                c["returned"],
                pct(c["returned"], c["raised"]),
                c["live"],
                c["thin"],
                pct(c["thin"], c["live"]),
            ]
            for key, c in bucket.items()
        ]
        return sorted(out, key=lambda r: (-r[2], -r[1], str(r[0])))

    cols = [
        Column("raised", "Escalations raised"),
        Column("returned", "Returned"),
        Column("return_rate", "Returned %", "pct"),
        Column("live", "Raised in this desk"),
        Column("thin_handoff", "Handoff missing information"),
        Column("thin_rate", "Missing %", "pct"),
    ]
    note = (
        "Returned = sent back by the receiving level (over-escalation). A handoff misses information "
        "when its summary, what was tried, the customer impact or the knowledge consulted is blank; "
        "imported logs carry no handoff text, so only escalations raised in this desk (by a person or "
        "a rule) are judged."
    )
    by_team = Table(
        "over_by_team",
        "Over-escalation by team",
        [Column("team", "From team", "text"), *cols],
        rows(teams, lambda k: names.get(k, "(no team)")),
        Chart("bar", "team", ["return_rate"]),
        note=note,
    )
    agent_rows = rows(agents, lambda k: users.get(k, "(rule or imported)"))
    by_agent = Table(
        "over_by_agent",
        "Over-escalation by agent",
        [Column("agent", "Raised by", "text"), *cols],
        agent_rows[:MAX_AGENTS],
        note=f"The {MAX_AGENTS} agents with most returns." if len(agent_rows) > MAX_AGENTS else "",
    )
    return [by_team, by_agent]


def _case_groups(scope: Scope, top) -> list[dict]:
    """Per (level, team): cases, breached, breached and left at a level below ``top``,
    resolved at least once, reopened; from the rollups when they can answer the filters."""
    if rollups.usable(scope):
        return rollups.quality_groups(scope, top)
    # An OLA response breach is always at the level holding the case (moving resets it);
    # an SLA resolution breach was left there when the case entered its level before it.
    under = Q(ola_response_breached_at__isnull=False) | Q(
        resolution_breached_at__isnull=False, level_entered_at__lte=F("resolution_breached_at")
    )
    return list(
        scope.cases()
        .values("level_id", "team_id")
        .annotate(
            cases=Count("pk"),
            breached=Count(
                "pk", filter=Q(ola_response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False)
            ),
            under=Count("pk", filter=under & ~Q(level_id=top)),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False) | Q(reopen_count__gt=0)),
            reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        )
    )


def _under_escalation_and_reopens(scope: Scope) -> list[Table]:
    top = scope.ladder()[-1].pk if scope.levels else None
    groups = _case_groups(scope, top)
    names = scope.team_names({g["team_id"] for g in groups})
    per_level = defaultdict(Counter)
    team_rows = []
    for g in groups:
        for k in ("cases", "breached", "under", "resolved", "reopened"):
            per_level[g["level_id"]][k] += g[k]
        if g["breached"]:
            team_rows.append(
                [
                    scope.level_code(g["level_id"]),
                    names.get(g["team_id"], "(no team)"),
                    g["cases"],
                    g["breached"],
                    g["under"],
                    pct(g["under"], g["cases"]),
                ]
            )
    team_rows.sort(key=lambda r: (-r[4], r[0], r[1]))
    under_table = Table(
        "under_escalation",
        "Under-escalation: breaches left at their level",
        [
            Column("level", "Level", "text"),
            Column("team", "Team", "text"),
            Column("cases", "Cases"),
            Column("breached", "Breached"),
            Column("not_escalated", "Breached, not escalated after"),
            Column("rate", "% of cases", "pct"),
        ],
        team_rows,
        Chart("bar", "team", ["not_escalated"]),
        note="Cases opened in the range that breached a target at the level holding them and were not "
        "moved up afterwards (the top level cannot escalate and is not counted).",
    )
    reopen_rows = [
        [lv.code, c["resolved"], c["reopened"], pct(c["reopened"], c["resolved"])]
        for lv in scope.ladder()
        if (c := per_level.get(lv.pk))
    ]
    reopen_table = Table(
        "reopens",
        "Reopen rate",
        [
            Column("level", "Level", "text"),
            Column("resolved", "Resolved at least once"),
            Column("reopened", "Reopened"),
            Column("rate", "Reopen rate %", "pct"),
        ],
        reopen_rows,
        Chart("bar", "level", ["rate"]),
        note="Cases opened in the range, by the level holding them now (or when resolved).",
    )
    return [under_table, reopen_table]


@report(
    "quality",
    "Escalation quality",
    "Over-escalation (returned escalations per team and agent), handoffs missing information, "
    "under-escalation (breaches with no escalation after them) and the reopen rate.",
    compare=("cases", "escalated", "reopened", "resolution_met"),
)
def quality(scope: Scope) -> list[Table]:
    return [*_over_escalation(scope), *_under_escalation_and_reopens(scope)]

"""Workload-aware routing: which team and person at a level should take a case, and why.

``route`` is a selector (it reads, never writes). ``apply`` is the workflow's hook: under
the active ``RoutingPolicy`` it sets the in-memory case's ``routing_note`` (mode
*suggest*) or also its team and assignee (mode *assign*) before the workflow saves it.

How a candidate is chosen:

* Teams: the team the escalation path names for the level, when it names one (the
  manager's explicit choice); otherwise the teams at the level whose skills include the
  case's category, or every team at the level when none has the skill. Teams at or over
  capacity (open cases held by the team) are passed over while another has room.
* People: members of the candidate teams whose staff profile is at the level, who are
  on duty, working now by their own calendar (no calendar: available) and carry fewer
  open cases than their capacity.
* The lowest load ratio (open cases / capacity) wins. Among equals the one least
  recently active on an assigned case wins (the newest case-history row naming them as
  assignee: a routed or taken case writes one), then the lowest id: a round robin that
  needs no extra bookkeeping column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Max

from escalations.core.config_cache import cached
from escalations.domain import clock
from escalations.models import OPEN_STATUSES, Case, Level, RoutingPolicy, StaffProfile, Team


@dataclass(frozen=True)
class Candidate:
    user: object
    team: Team
    load: int
    capacity: int

    @property
    def ratio(self) -> float:
        return self.load / self.capacity if self.capacity else float("inf")


@dataclass(frozen=True)
class Route:
    team: Team | None
    user: object | None
    reason: str
    others: list[Candidate] = field(default_factory=list)


DEFAULT_MODE = RoutingPolicy.Mode.SUGGEST  # routing is on unless a manager switches it off


def active_policy() -> RoutingPolicy | None:
    """The active routing policy (``escalations.config_cache``: a few seconds per process)."""
    return cached("routing_policy", lambda: RoutingPolicy.objects.filter(is_active=True).first())


def _team_loads(teams: list[Team], exact: bool = False) -> dict[int, int]:
    """Open cases per team. Unless ``exact``, each team's count stops at capacity + 1:
    whether a team has room is all most routing needs, and a team far over capacity
    (hundreds of thousands of open cases) would otherwise be counted at every intake."""
    if exact:
        rows = Case.objects.open().filter(team__in=teams).values("team").annotate(n=Count("pk"))
        return {r["team"]: r["n"] for r in rows}
    return _capped_loads(teams)


def _capped_loads(teams: list[Team]) -> dict[int, int]:
    """Each team's open cases counted up to its capacity + 1, in one statement (a branch
    per team, each an index-only range of at most capacity + 1 entries): one round trip
    and no per-team query building, which cost more than the counting itself."""
    if not teams:
        return {}
    team_col, status_col = (Case._meta.get_field(name).column for name in ("team", "status"))
    statuses = [str(s) for s in OPEN_STATUSES]
    branch = (
        f"SELECT %s, (SELECT COUNT(*) FROM (SELECT 1 FROM {Case._meta.db_table} WHERE {team_col} = %s"
        f" AND {status_col} IN ({', '.join(['%s'] * len(statuses))}) LIMIT %s) capped)"
    )
    params = [p for t in teams for p in (t.pk, t.pk, *statuses, t.capacity + 1)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join([branch] * len(teams)), params)
        return {team: n for team, n in cursor.fetchall()}


def _shown(load: int, capacity: int) -> str:
    """``load/capacity``; a count cut at capacity + 1 reads "over capacity"."""
    return f"{load}/{capacity}" if load <= capacity else f"over {capacity}/{capacity}"


def _level_teams(level: Level) -> list[Team]:
    """The level's teams with their skills (``config_cache``: a few seconds per process)."""
    return cached(
        ("routing_teams", level.pk),
        lambda: list(Team.objects.filter(level=level).prefetch_related("skills").order_by("name")),
    )


def candidate_teams(case: Case, level: Level) -> tuple[list[Team], str]:
    """The teams that may take the case at ``level`` and why those."""
    if case.team_id and case.team.level_id == level.pk:
        return [case.team], f"the path names team {case.team.name}"
    teams = _level_teams(level)
    skilled = [t for t in teams if case.category_id in {c.pk for c in t.skills.all()}] if case.category_id else []
    if skilled:
        return skilled, f"skilled in {case.category.name}"
    return (
        teams,
        f"no {level.code} team lists {case.category.name if case.category_id else 'the category'}"
        " among its skills; any team at the level",
    )


def _working(profile: StaffProfile, now: datetime, cache: dict) -> bool:
    if profile.calendar_id is None:
        return True
    cal = cache.get(profile.calendar_id)
    if cal is None:
        cal = cache[profile.calendar_id] = clock.calendar_from_spec(profile.calendar.as_spec())
    return cal.is_working(now)


_batch: ContextVar[dict | None] = ContextVar("routing_batch", default=None)


@contextmanager
def one_batch() -> Iterator[None]:
    """Inside, ``route`` answers each distinct question once: for a batch that writes
    nothing until its end (the sweep), the loads it reads cannot change in between, so the
    same level, named team and category at the same moment get the same route."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def route(case: Case, level: Level, now: datetime) -> Route:
    """The team and person at ``level`` best placed to take ``case`` now (either may be None)."""
    memo = _batch.get()
    if memo is None:
        return _route(case, level, now)
    named = case.team_id if case.team_id and case.team.level_id == level.pk else None
    key = (level.pk, named, None if named else case.category_id, now)
    if key not in memo:
        memo[key] = _route(case, level, now)
    return memo[key]


def _route(case: Case, level: Level, now: datetime) -> Route:
    teams, why_teams = candidate_teams(case, level)
    if not teams:
        return Route(None, None, f"No team works at {level.code}; nobody to route to.")
    team_load = _team_loads(teams)
    roomy = [t for t in teams if team_load.get(t.pk, 0) < t.capacity]
    if not roomy and len(teams) > 1:
        team_load = _team_loads(teams, exact=True)  # every team is full: the least overloaded wins
    if roomy and len(roomy) < len(teams):
        full = [t for t in teams if t not in roomy]
        why_teams += f"; passed over at capacity: {', '.join(f'{t.name} {_shown(team_load.get(t.pk, 0), t.capacity)}' for t in full)}"
    teams = roomy or teams

    User = get_user_model()
    members = (
        User.objects.filter(teams__in=teams, is_active=True, staff_profile__level=level)
        .select_related("staff_profile__calendar")
        .prefetch_related("teams")
        .prefetch_related("staff_profile__calendar__ranges", "staff_profile__calendar__holidays")
        .distinct()
        .order_by("pk")
    )
    members = list(members)
    ids = [u.pk for u in members]
    loads = {
        r["assignee"]: r["n"]
        for r in Case.objects.open().filter(assignee__in=ids).values("assignee").annotate(n=Count("pk"))
    }
    last = {
        r["assignee_id"]: r["last"]
        for r in Case.history.filter(assignee_id__in=ids).values("assignee_id").annotate(last=Max("history_date"))
    }
    team_ids = {t.pk: t for t in teams}
    calendars: dict = {}
    available: list[Candidate] = []
    skipped: list[str] = []
    for user in members:
        profile = user.staff_profile
        load = loads.get(user.pk, 0)
        if not profile.on_duty:
            skipped.append(f"{user} off duty")
        elif not _working(profile, now, calendars):
            skipped.append(f"{user} outside working hours")
        elif load >= profile.capacity:
            skipped.append(f"{user} at capacity {load}/{profile.capacity}")
        else:
            # The member's least loaded candidate team (a person may be in several).
            team = min(
                (t for t in user.teams.all() if t.pk in team_ids),
                key=lambda t: (team_load.get(t.pk, 0) / (t.capacity or 1), t.name),
            )
            available.append(Candidate(user, team, load, profile.capacity))

    def rank(c: Candidate):
        seen = last.get(c.user.pk)
        return (c.ratio, seen is not None, seen or now, c.user.pk)

    available.sort(key=rank)
    if not available:
        team = min(teams, key=lambda t: (team_load.get(t.pk, 0) / (t.capacity or 1), t.name))
        nobody = (
            f"; nobody at {level.code} is available ({', '.join(skipped)})"
            if skipped
            else f"; no member of it works at {level.code}"
        )
        return Route(
            team,
            None,
            f"Team {team.name} ({why_teams}; {_shown(team_load.get(team.pk, 0), team.capacity)} open){nobody}.",
        )
    best = available[0]
    reason = (
        f"Team {best.team.name} ({why_teams}; {_shown(team_load.get(best.team.pk, 0), best.team.capacity)} open), "
        f"{best.user} ({best.load}/{best.capacity} open cases, on duty, in working hours"
    )
    equals = [c for c in available[1:] if c.ratio == best.ratio]
    reason += f"; least recently assigned of {len(equals) + 1} equally loaded)" if equals else "; lowest load)"
    if len(available) > 1:
        reason += "; also available: " + ", ".join(f"{c.user} {c.load}/{c.capacity}" for c in available[1:4])
    if skipped:
        reason += "; not available: " + ", ".join(skipped[:5])
    return Route(best.team, best.user, reason + ".", available[1:])


def explain(case: Case) -> str:
    """Why the case is where it is, for the case page ('' when routing never ran)."""
    return case.routing_note


def suggest(case: Case, now: datetime | None = None) -> Route:
    """The route for the case at its current level now (e.g. a 'who should take this?' hint)."""
    from django.utils import timezone

    return route(case, case.level, now or timezone.now())


def apply(case: Case, level: Level, now: datetime, *, escalation: bool = False) -> Route | None:
    """The workflow hook: route the in-memory case under the active policy (unsaved).

    At intake, mode *assign* sets team and assignee. On an escalation only the team is
    set (the receiving level accepts the handoff itself) and the person is a suggestion.
    With no active policy the desk suggests (``DEFAULT_MODE``); an active policy in mode
    *off* switches routing off.
    """
    policy = active_policy()
    mode = policy.mode if policy is not None else DEFAULT_MODE
    if mode == RoutingPolicy.Mode.OFF:
        return None
    result = route(case, level, now)
    assign = mode == RoutingPolicy.Mode.ASSIGN
    if assign and result.team is not None:
        case.team = result.team
    if assign and not escalation and result.user is not None:
        case.assignee = result.user
        verb = "Routed"
    elif assign:
        verb = "Routed to the team; suggested person" if escalation else "Routed"
    else:
        verb = "Suggested"
    case.routing_note = f"{verb} at {level.code} on {now:%Y-%m-%d %H:%M %Z}: {result.reason}"[:4000]
    return result

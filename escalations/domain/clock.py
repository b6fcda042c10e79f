"""The SLA clock of a case: due times, % used and the clock in words.

Reads only the case's frozen ``policy_snapshot`` (never the live policy), so editing a
policy does not rewrite running cases. Business-time arithmetic is ``escalations.sla``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.dateparse import parse_datetime

from escalations.domain import sla
from escalations.models import Case, Level, SlaPolicy

PRIORITY_RESPONSE_FACTOR = {1: 1, 2: 1, 3: 2, 4: 4}
PRIORITY_RESOLUTION_FACTOR = {1: 1, 2: 2, 3: 3, 4: 5}


def freeze_policy(policy: SlaPolicy | None) -> dict:
    """A JSON snapshot of a policy: calendar, every level x priority target, warnings.

    Levels without an explicit target fall back to the level's own targets scaled by
    priority (documented in the README), so a snapshot always answers every question.
    """
    levels = list(Level.objects.all())
    explicit = {}
    if policy is not None:
        explicit = {(t.level_id, t.priority): t for t in policy.targets.all()}
    targets: dict[str, dict[str, list[int]]] = {}
    for level in levels:
        row = {}
        for priority in (1, 2, 3, 4):
            t = explicit.get((level.pk, priority))
            if t is not None:
                row[str(priority)] = [int(t.response.total_seconds()), int(t.resolution.total_seconds())]
            else:
                row[str(priority)] = [
                    int(level.response_target.total_seconds() * PRIORITY_RESPONSE_FACTOR[priority]),
                    int(level.resolution_target.total_seconds() * PRIORITY_RESOLUTION_FACTOR[priority]),
                ]
        targets[level.code] = row
    calendar = (
        policy.calendar.as_spec()
        if policy is not None
        else {
            "name": "24x7",
            "timezone": "UTC",
            "weekly_hours": {str(d): [["00:00", "24:00"]] for d in range(7)},
            "holidays": [],
        }
    )
    return {
        # The calendar's content hash: many cases share one precomputed calendar object.
        "calendar_key": hashlib.sha1(json.dumps(calendar, sort_keys=True).encode()).hexdigest(),
        "policy": policy.name if policy is not None else "built-in 24x7",
        "policy_id": policy.pk if policy is not None else None,
        "calendar": calendar,
        "targets": targets,
    }


_calendars: dict[str, sla.BusinessCalendar] = {}


def calendar_from_spec(spec: dict) -> sla.BusinessCalendar:
    return sla.BusinessCalendar(
        timezone=spec["timezone"],
        weekly_hours={int(d): [tuple(r) for r in ranges] for d, ranges in spec["weekly_hours"].items()},
        holidays=[date.fromisoformat(h) for h in spec["holidays"]],
    )


def calendar_of(case: Case) -> sla.BusinessCalendar:
    """The case's frozen calendar, built once per process per distinct content."""
    snapshot = case.policy_snapshot
    key = snapshot.get("calendar_key") or json.dumps(snapshot["calendar"], sort_keys=True)
    cal = _calendars.get(key)
    if cal is None:
        if len(_calendars) > 256:
            _calendars.clear()
        cal = _calendars[key] = calendar_from_spec(snapshot["calendar"])
    return cal


def targets_of(case: Case, level_code: str | None = None, priority: int | None = None) -> tuple[timedelta, timedelta]:
    row = case.policy_snapshot["targets"][level_code or case.level.code][str(priority or case.priority)]
    return timedelta(seconds=row[0]), timedelta(seconds=row[1])


def pauses_of(case: Case, now: datetime | None = None) -> list[tuple[datetime, datetime | None]]:
    intervals = [(parse_datetime(a), parse_datetime(b)) for a, b in case.pauses]
    if case.paused_at is not None:
        intervals.append((case.paused_at, now))
    return intervals


@dataclass(frozen=True)
class Clock:
    """One of a case's two clocks."""

    name: str  # "response" or "resolution"
    start: datetime
    target: timedelta
    due: datetime | None
    stopped_at: datetime | None  # responded / resolved


def starts(case: Case) -> tuple[datetime, datetime]:
    """Where the response and resolution clocks start. A declared major incident restarts
    both at the declaration (the case became P1 then; counting P1 targets from intake would
    put the deadline in the past for a case that was P3 until now)."""
    response, resolution = case.level_entered_at, case.opened_at
    declared = case.major_declared_at
    if declared is not None:
        response, resolution = max(response, declared), max(resolution, declared)
    return response, resolution


def clocks(case: Case) -> list[Clock]:
    response, resolution = targets_of(case)
    response_start, resolution_start = starts(case)
    return [
        Clock("response", response_start, response, case.response_due_at, case.responded_at),
        Clock("resolution", resolution_start, resolution, case.resolution_due_at, case.resolved_at),
    ]


def recompute_due(case: Case) -> None:
    """Set both due times from the snapshot, the current level and priority, and the pauses.

    While the case is paused the due times are unknown (the pause has no end yet): they
    are left as they were and the scheduler does not look at the case.
    """
    if case.paused_at is not None:
        return
    cal = calendar_of(case)
    pauses = pauses_of(case)
    response, resolution = targets_of(case)
    response_start, resolution_start = starts(case)
    case.response_due_at = cal.add(response_start, response, exclude=pauses)
    case.resolution_due_at = cal.add(resolution_start, resolution, exclude=pauses)


def moment_at_percent(case: Case, clock: Clock, percent: float) -> datetime:
    cal = calendar_of(case)
    return cal.add(clock.start, clock.target * (percent / 100.0), exclude=pauses_of(case))


def percent_used(case: Case, clock: Clock, now: datetime) -> float:
    end = clock.stopped_at or now
    used = calendar_of(case).elapsed(clock.start, end, exclude=pauses_of(case, now))
    return 100.0 * used / clock.target


def mark_breaches(case: Case, now: datetime) -> list[str]:
    """Record breaches that have happened by ``now``; returns the names of new ones."""
    new = []
    if case.response_breached_at is None and case.response_due_at and case.paused_at is None:
        if (case.responded_at or now) > case.response_due_at:
            case.response_breached_at = case.response_due_at
            new.append("response")
    if case.resolution_breached_at is None and case.resolution_due_at and case.paused_at is None:
        if (case.resolved_at or now) > case.resolution_due_at:
            case.resolution_breached_at = case.resolution_due_at
            new.append("resolution")
    return new


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts[:2]) if days or hours else parts[-1]


def describe(case: Case, now: datetime) -> list[str]:
    """The clock in words, for the case page and the admin."""
    lines = [
        f"Policy {case.policy_snapshot.get('policy')} on calendar "
        f"{case.policy_snapshot.get('calendar', {}).get('name')}; targets for {case.level.code} "
        f"P{case.priority}."
    ]
    if case.paused_at is not None:
        lines.append(f"Paused since {case.paused_at:%Y-%m-%d %H:%M %Z} (awaiting the customer); the clocks do not run.")
    for c in clocks(case):
        if c.stopped_at is not None:
            met = "met" if c.due is None or c.stopped_at <= c.due else "missed"
            lines.append(f"{c.name.capitalize()} target {_span(c.target)}: {met} at {c.stopped_at:%Y-%m-%d %H:%M %Z}.")
            continue
        if c.due is None:
            continue
        pct = percent_used(case, c, now)
        if now <= c.due:
            lines.append(
                f"{c.name.capitalize()} target {_span(c.target)}: {pct:.0f}% used, "
                f"due {c.due:%Y-%m-%d %H:%M %Z} ({_span(c.due - now)} left in calendar time)."
            )
        else:
            lines.append(
                f"{c.name.capitalize()} target {_span(c.target)}: BREACHED, was due "
                f"{c.due:%Y-%m-%d %H:%M %Z} ({_span(now - c.due)} ago, {pct:.0f}% used)."
            )
    last = (
        case.escalations.select_related("from_level", "to_level", "rule", "raised_by").order_by("-pk").first()
        if case.pk
        else None
    )
    if last is not None:
        who = f"by rule '{last.rule.name}'" if last.rule_id else f"by {last.raised_by or 'the system'}"
        why = last.justification or last.summary or last.reason
        lines.append(
            f"Last moved {last.from_level.code} -> {last.to_level.code} {who} on "
            f"{last.created_at:%Y-%m-%d %H:%M %Z}: {why}"
        )
    return lines

"""The clocks of a case: the customer's SLA and the level's OLA (docs/counting-time.md):
due times, % used, why the SLA moved, and the clocks in words.

Reads only the case's frozen ``policy_snapshot`` (never the live policy), so editing a
policy does not rewrite running cases. Business-time arithmetic is ``escalations.sla``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.dateparse import parse_datetime
from django.utils.timezone import localtime

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
    """(response, resolution) targets of a level x priority in the frozen policy."""
    row = case.policy_snapshot["targets"][level_code or case.level.code][str(priority or case.priority)]
    return timedelta(seconds=row[0]), timedelta(seconds=row[1])


def sla_level_code(case: Case) -> str:
    """The row of the policy the customer's SLA is read from: the level that took the case
    in (frozen at intake as ``sla_level``; older snapshots: the lowest level)."""
    snapshot = case.policy_snapshot
    return snapshot.get("sla_level") or next(iter(snapshot["targets"]))


def sla_targets(case: Case, priority: int | None = None) -> tuple[timedelta, timedelta]:
    """The customer's SLA: response and resolution from policy x priority, whatever the level."""
    return targets_of(case, sla_level_code(case), priority)


def ola_targets(case: Case) -> tuple[timedelta, timedelta]:
    """The level's own OLA: accept/response and work targets of the level holding the case."""
    return targets_of(case)


def sla_start(case: Case) -> datetime:
    """Where the customer's clocks start: intake, a recorded priority change, or a declared
    major incident (the case became P1 then; counting P1 targets from intake would put the
    deadline in the past for a case that was P3 until now)."""
    start = case.sla_started_at or case.opened_at
    declared = case.major_declared_at
    return max(start, declared) if declared is not None else start


def pauses_of(case: Case, now: datetime | None = None) -> list[tuple[datetime, datetime | None]]:
    intervals = [(parse_datetime(a), parse_datetime(b)) for a, b in case.pauses]
    if case.paused_at is not None:
        intervals.append((case.paused_at, now))
    return intervals


SLA, OLA = "sla", "ola"


@dataclass(frozen=True)
class Clock:
    """One of a case's four clocks: the SLA's response and resolution (the customer's),
    the OLA's response and work (the level holding the case)."""

    name: str  # "response" or "resolution" (SLA); "response" or "work" (OLA)
    start: datetime
    target: timedelta
    due: datetime | None
    stopped_at: datetime | None  # first contact / resolved; taken on at the level / resolved
    kind: str = SLA
    breached_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"SLA {self.name}" if self.kind == SLA else f"OLA {self.name}"


# Each clock's columns on the case: (due, stopped, breached).
_COLUMNS = {
    (SLA, "response"): ("response_due_at", "first_response_at", "response_breached_at"),
    (SLA, "resolution"): ("resolution_due_at", "resolved_at", "resolution_breached_at"),
    (OLA, "response"): ("ola_response_due_at", "responded_at", "ola_response_breached_at"),
    (OLA, "work"): ("ola_work_due_at", "resolved_at", "ola_work_breached_at"),
}


def _clock(case: Case, kind: str, name: str, targets: tuple[timedelta, timedelta], start: datetime) -> Clock:
    due, stopped, breached = (getattr(case, column) for column in _COLUMNS[kind, name])
    return Clock(name, start, targets[0] if name == "response" else targets[1], due, stopped, kind, breached)


def clocks(case: Case) -> list[Clock]:
    sla, ola = sla_targets(case), ola_targets(case)
    start = sla_start(case)
    return [
        _clock(case, SLA, "response", sla, start),
        _clock(case, SLA, "resolution", sla, start),
        _clock(case, OLA, "response", ola, case.level_entered_at),
        _clock(case, OLA, "work", ola, case.level_entered_at),
    ]


def clock_named(case: Case, name: str, kind: str) -> Clock | None:
    """A clock by name and kind; for the OLA "resolution" means its work clock. Builds only
    that clock: the rules ask for one per condition, per case the sweep looks at."""
    if kind == OLA and name == "resolution":
        name = "work"
    if (kind, name) not in _COLUMNS:
        return None
    if kind == SLA:
        return _clock(case, SLA, name, sla_targets(case), sla_start(case))
    return _clock(case, OLA, name, ola_targets(case), case.level_entered_at)


def recompute_due(case: Case) -> None:
    """Set the due times: the SLA from its start, the customer's targets and the pauses;
    the OLA from the level's entry and the level's targets.

    While the case is paused the due times are unknown (the pause has no end yet): they
    are left as they were and the scheduler does not look at the case.
    """
    if case.paused_at is not None:
        return
    cal = calendar_of(case)
    pauses = pauses_of(case)
    response, resolution = sla_targets(case)
    start = sla_start(case)
    case.response_due_at = cal.add(start, response, exclude=pauses)
    case.resolution_due_at = cal.add(start, resolution, exclude=pauses)
    ola_response, ola_work = ola_targets(case)
    case.ola_response_due_at = cal.add(case.level_entered_at, ola_response, exclude=pauses)
    case.ola_work_due_at = cal.add(case.level_entered_at, ola_work, exclude=pauses)


def with_sla_level(snapshot: dict, level_code: str) -> dict:
    """A case's own copy of a (shared) snapshot naming the level its SLA is read from."""
    return {**snapshot, "sla_level": level_code}


def sla_due(case: Case) -> tuple[datetime | None, datetime | None]:
    return case.response_due_at, case.resolution_due_at


def _when(moment: datetime, other: datetime | None = None) -> str:
    moment = localtime(moment)
    if other is not None and localtime(other).date() == moment.date():
        return f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


def _pause_reason(case: Case, at: datetime) -> str | None:
    if not case.pauses:
        return None
    start, end = (parse_datetime(x) for x in case.pauses[-1])
    if end is None or abs((end - at).total_seconds()) > 1:
        return None
    return f"paused for customer {_span(end - start)}"


def log_moves(case: Case, before: tuple[datetime | None, datetime | None], at: datetime, why: str = "") -> list[str]:
    """Record why the SLA due times moved (``Case.sla_changes``); returns the lines.

    Only a priority change or a pause may move them, so each move says which: ``why``
    from the caller, else the pause that just ended."""
    lines = []
    for name, old, new in zip(("response", "resolution"), before, sla_due(case), strict=True):
        if old is None or new is None or old == new:
            continue
        reason = why or _pause_reason(case, at) or "recomputed"
        entry = {"at": at.isoformat(), "clock": name, "from": old.isoformat(), "to": new.isoformat(), "why": reason}
        case.sla_changes = [*(case.sla_changes or []), entry]
        lines.append(move_line(entry))
    return lines


def move_line(entry: dict) -> str:
    old, new = parse_datetime(entry["from"]), parse_datetime(entry["to"])
    return f"{entry['clock'].capitalize()} due moved {_when(old)} → {_when(new, old)}: {entry['why']}"


def moment_at_percent(case: Case, clock: Clock, percent: float) -> datetime:
    cal = calendar_of(case)
    return cal.add(clock.start, clock.target * (percent / 100.0), exclude=pauses_of(case))


def percent_used(case: Case, clock: Clock, now: datetime) -> float:
    end = clock.stopped_at or now
    used = calendar_of(case).elapsed(clock.start, end, exclude=pauses_of(case, now))
    return 100.0 * used / clock.target


BREACH_FIELDS = {
    (SLA, "response"): "response_breached_at",
    (SLA, "resolution"): "resolution_breached_at",
    (OLA, "response"): "ola_response_breached_at",
    (OLA, "work"): "ola_work_breached_at",
}


def mark_breaches(case: Case, now: datetime) -> list[str]:
    """Record breaches that have happened by ``now``; returns the labels of new ones
    ("SLA response", "SLA resolution", "OLA response", "OLA work")."""
    new = []
    if case.paused_at is not None:
        return new
    due_of = {
        (SLA, "response"): (case.response_due_at, case.first_response_at),
        (SLA, "resolution"): (case.resolution_due_at, case.resolved_at),
        (OLA, "response"): (case.ola_response_due_at, case.responded_at),
        (OLA, "work"): (case.ola_work_due_at, case.resolved_at),
    }
    for key, attr in BREACH_FIELDS.items():
        due, stopped = due_of[key]
        if getattr(case, attr) is None and due is not None and (stopped or now) > due:
            setattr(case, attr, due)
            new.append(f"{key[0].upper()} {key[1]}")
    return new


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts[:2]) if days or hours else parts[-1]


def _clock_line(case: Case, c: Clock, now: datetime) -> str | None:
    title = f"{c.name.capitalize() if c.kind == SLA else c.label} target {_span(c.target)}"
    if c.stopped_at is not None:
        met = "met" if c.due is None or c.stopped_at <= c.due else "missed"
        return f"{title}: {met} at {c.stopped_at:%Y-%m-%d %H:%M %Z}."
    if c.due is None:
        return None
    pct = percent_used(case, c, now)
    if now <= c.due:
        return f"{title}: {pct:.0f}% used, due {c.due:%Y-%m-%d %H:%M %Z} ({_span(c.due - now)} left in calendar time)."
    return f"{title}: BREACHED, was due {c.due:%Y-%m-%d %H:%M %Z} ({_span(now - c.due)} ago, {pct:.0f}% used)."


def describe(case: Case, now: datetime) -> list[str]:
    """The clocks in words, for the case page and the admin: the customer's SLA first,
    why it moved, then the OLA of the level holding the case."""
    lines = [
        f"SLA (the customer's): policy {case.policy_snapshot.get('policy')} on calendar "
        f"{case.policy_snapshot.get('calendar', {}).get('name')}, P{case.priority}; escalation never moves it."
    ]
    if case.paused_at is not None:
        lines.append(f"Paused since {case.paused_at:%Y-%m-%d %H:%M %Z} (awaiting the customer); the clocks do not run.")
    all_clocks = clocks(case)
    lines.extend(line for c in all_clocks if c.kind == SLA and (line := _clock_line(case, c, now)))
    lines.extend(move_line(entry) for entry in case.sla_changes or [])
    lines.append(f"OLA of {case.level.code} (its own targets, since {case.level_entered_at:%Y-%m-%d %H:%M %Z}):")
    lines.extend(line for c in all_clocks if c.kind == OLA and (line := _clock_line(case, c, now)))
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

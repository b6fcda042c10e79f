"""Policy what-if: replay a period's cases against a draft SLA policy and trigger rules.

Nothing is written. Each case opened in the period is copied into an unsaved ``Case``
at its intake state (level and team before its first handoff, priority of its first
history row) with the draft policy frozen into it, and time is stepped through the
case's real life while the draft rules are evaluated by ``workflow.automation.fire`` itself
(the sweep's rule engine, with its condition and action tables; the actions only
collect unsaved rows in an ``Effects``, which is thrown away).

What counts as the case's real life (the assumptions, in words):

* Responses: the real first response, each accepted handoff's decision and the
  resolution are moments someone acted on the case. Whatever level the replayed case
  is at, it is answered at the first such moment after it got there (an escalation
  waiting for acceptance is accepted then).
* Pauses (awaiting the customer) happen when they really did; the resolution too.
* Manual escalations (raised by a person) happen when they really did, if the replayed
  case is still below their target level. Rule escalations, returns and
  de-escalations are not replayed: the draft rules decide those.
* An unresolved case is replayed up to ``now``.

Rules on the predicted risk: each replayed case is scored by the active risk models from
what was known at its intake (the stored model was trained on the whole log, so on a
past period this is the model's fit, not a forecast), and the report says how those rules
did: resolution breaches flagged before they happened (with the median lead time), flags
on cases that did not breach (false alarms), breaches not flagged, and the escalations
the risk rules caused.

Counted per level: cases that were there, response and resolution breaches (a
resolution breach belongs to the level holding the case when it happened), rule
escalations and manual escalations away from it. Per team: cases held, escalations
received and the peak of cases held at the same time.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_fsm import can_proceed

from escalations.domain import clock
from escalations.domain.rules import MOVES, RECHECK, next_check_at, reads_risk
from escalations.intelligence.risk.features import BREACH_WINDOW, desk_at_opening, load_rows
from escalations.intelligence.risk.predict import active_models, score_row
from escalations.models import (
    Case,
    CaseStatus,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Level,
    SlaPolicy,
    TriggerRule,
)
from escalations.workflow import automation

MAX_STEPS = 500  # per case: a repeating rule cannot make a replay run forever
CHUNK = 500
DEFAULT_LIMIT = 20000


@dataclass
class LevelCounts:
    cases: int = 0
    response_breaches: int = 0
    resolution_breaches: int = 0
    rule_escalations: int = 0
    manual_escalations: int = 0


@dataclass
class TeamLoad:
    cases: int = 0
    escalations_in: int = 0
    peak_open: int = 0


@dataclass
class RiskFlags:
    """How the rules on the predicted risk did, over the replayed cases."""

    rules: list[str] = field(default_factory=list)
    scored: int = 0  # cases the active models scored (none without a trained model)
    flagged: int = 0  # cases a risk rule fired on
    breaches: int = 0  # cases breaching the resolution target in the replay
    breaches_flagged: int = 0  # ... with a risk rule firing before the breach
    breaches_missed: int = 0
    false_alarms: int = 0  # flagged, and never breached
    lead_minutes_median: float | None = None  # flag to breach, over the flagged breaches
    lead_minutes_p25: float | None = None
    lead_minutes_p75: float | None = None
    escalations: int = 0  # rule escalations by a risk rule
    leads: list[float] = field(default_factory=list, repr=False)

    def finish(self) -> None:
        if self.leads:
            q = sorted(self.leads)
            at = lambda f: round(q[min(len(q) - 1, int(f * len(q)))], 1)  # noqa: E731
            self.lead_minutes_median = round(statistics.median(q), 1)
            self.lead_minutes_p25, self.lead_minutes_p75 = at(0.25), at(0.75)

    def line(self) -> str:
        lead = (
            f", median {self.lead_minutes_median} min ahead (quartiles {self.lead_minutes_p25}"
            f" .. {self.lead_minutes_p75})"
            if self.lead_minutes_median is not None
            else ""
        )
        return (
            f"Risk rules ({', '.join(self.rules)}): {self.scored} cases scored, {self.flagged} flagged; "
            f"{self.breaches_flagged} of {self.breaches} resolution breaches flagged in advance{lead}; "
            f"{self.breaches_missed} missed; {self.false_alarms} false alarms; "
            f"{self.escalations} escalations caused."
        )


@dataclass
class Report:
    date_from: date
    date_to: date
    policy: str
    rules: list[str]
    cases: int = 0
    truncated: bool = False
    notices: int = 0
    priority_raises: int = 0
    cases_breaching_response: int = 0
    cases_breaching_resolution: int = 0
    cases_escalated_by_rule: int = 0
    levels: dict[str, LevelCounts] = field(default_factory=dict)
    teams: dict[str, TeamLoad] = field(default_factory=dict)
    risk: RiskFlags | None = None  # only when a rule reads the predicted risk

    def as_dict(self) -> dict:
        out = asdict(self)
        if out["risk"] is not None:
            out["risk"].pop("leads")
        out["date_from"], out["date_to"] = self.date_from.isoformat(), self.date_to.isoformat()
        return out

    def level_rows(self) -> list[tuple]:
        return [
            (code, c.cases, c.response_breaches, c.resolution_breaches, c.rule_escalations, c.manual_escalations)
            for code, c in self.levels.items()
        ]

    def team_rows(self) -> list[tuple]:
        return [(name, t.cases, t.escalations_in, t.peak_open) for name, t in sorted(self.teams.items())]

    def lines(self) -> list[str]:
        """The report as a plain-text table (the command prints it)."""
        head = (
            f"What-if {self.date_from} .. {self.date_to}: policy '{self.policy}', "
            f"rules: {', '.join(self.rules) or 'none'}"
        )
        out = [
            head,
            f"{self.cases} cases replayed{' (truncated)' if self.truncated else ''}; "
            f"{self.cases_breaching_response} would breach a response target, "
            f"{self.cases_breaching_resolution} the resolution target, "
            f"{self.cases_escalated_by_rule} would be escalated by a rule; "
            f"{self.notices} rule notices, {self.priority_raises} priority raises.",
            "",
        ]
        if self.risk is not None:
            out[-1:-1] = [self.risk.line()]
        out += _table(
            ["level", "cases", "resp. breaches", "resol. breaches", "rule escalations", "manual escalations"],
            self.level_rows(),
        )
        out.append("")
        out += _table(["team", "cases", "escalations in", "peak open"], self.team_rows())
        return out


def _table(header: list[str], rows: list[tuple]) -> list[str]:
    cells = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    fmt = lambda r: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    return [fmt(cells[0]), "  ".join("-" * w for w in widths), *(fmt(r) for r in cells[1:])]


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(date_from, time.min), tz),
        timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz),
    )


def draft_rules(rules) -> list[TriggerRule]:
    """In-memory copies of the chosen rules, all treated as active (a draft is usually inactive)."""
    out = []
    for rule in sorted(rules, key=lambda r: (r.order, r.pk)):
        rule = copy.copy(rule)
        rule.is_active = True
        out.append(rule)
    return out


# Events of a case's real life: (at, order at the same instant, kind, payload).
_ORDER = {"resume": 0, "response": 1, "contact": 1, "manual": 2, "pause": 3, "resolve": 4}


def _events(case: Case, escalations: list[Escalation], taken_at: datetime | None = None) -> list[tuple]:
    """``taken_at``: when someone first took the case on (its history); the level's response."""
    ev = []
    if taken_at:
        ev.append((taken_at, "response", None))
    if case.first_response_at:
        ev.append((case.first_response_at, "contact", None))
    for esc in escalations:
        if esc.kind in (EscalationKind.ESCALATE, EscalationKind.JUMP):
            if esc.status == EscalationStatus.ACCEPTED and esc.decided_at:
                ev.append((esc.decided_at, "response", None))
            if esc.raised_by_id is not None:
                ev.append((esc.created_at, "manual", esc))
    for start, end in case.pauses or []:
        ev.append((parse_datetime(start), "pause", None))
        ev.append((parse_datetime(end), "resume", None))
    if case.paused_at:
        ev.append((case.paused_at, "pause", None))
    if case.resolved_at:
        ev.append((case.resolved_at, "resolve", None))
    return sorted(ev, key=lambda e: (e[0], _ORDER[e[1]]))


class _Replay:
    """One case's replay; writes its findings into the shared report."""

    def __init__(self, sim: Case, report: Report, run: _Run):
        self.sim, self.report, self.run = sim, report, run
        self.firings: dict[int, dict] = {}
        self.team_since: datetime = sim.opened_at
        self.breached = {"response": False, "resolution": False}
        self.escalated = False
        self.breach_at: datetime | None = None  # the replay's resolution breach
        self.flag_at: datetime | None = None  # the first firing of a risk rule
        self._enter(sim.opened_at)

    def _team_key(self) -> str:
        return self.sim.team.name if self.sim.team_id else f"(no team) {self.sim.level.code}"

    def _enter(self, at: datetime) -> None:
        self.report.levels[self.sim.level.code].cases += 1
        self.run.team_cases.setdefault(self._team_key(), set()).add(self.sim.pk)
        self.team_since = at

    def _leave(self, at: datetime) -> None:
        self.run.intervals.setdefault(self._team_key(), []).append((self.team_since, at))

    def _mark(self, at: datetime) -> None:
        for label in clock.mark_breaches(self.sim, at):
            # What the rules used to watch: the level's response (OLA), the customer's resolution (SLA).
            name = {"OLA response": "response", "SLA resolution": "resolution"}.get(label)
            if name is None:
                continue
            counts = self.report.levels[self.sim.level.code]
            if name == "response":
                counts.response_breaches += 1
            else:
                counts.resolution_breaches += 1
                self.breach_at = self.breach_at or self.sim.resolution_breached_at or at
            self.breached[name] = True

    def _moved(self, from_code: str, at: datetime, by_rule: bool) -> None:
        counts = self.report.levels[from_code]
        if by_rule:
            counts.rule_escalations += 1
            self.escalated = True
        else:
            counts.manual_escalations += 1
        self._enter(at)
        self.report.teams.setdefault(self._team_key(), TeamLoad()).escalations_in += 1
        clock.recompute_due(self.sim)

    def _apply(self, at: datetime, kind: str, esc: Escalation | None) -> bool:
        """Apply one real event; True when the case's life ends (resolved)."""
        sim = self.sim
        if kind in ("response", "contact") and sim.status == CaseStatus.ESCALATED and sim.responded_at is None:
            sim.accept(sim.assignee, at)
        if kind == "response":
            sim._respond(at)
        elif kind == "contact":
            sim._contact_customer(at)
        elif kind == "pause" and sim.paused_at is None:
            clock.recompute_due(sim)
            self._mark(at)
            sim.paused_at = at
        elif kind == "resume" and sim.paused_at is not None:
            sim._end_pause(at)
            clock.recompute_due(sim)
        elif kind == "manual" and esc.to_level.rank > sim.level.rank and can_proceed(sim.escalate):
            clock.recompute_due(sim)
            self._mark(at)
            from_code = sim.level.code
            self._leave(at)
            sim.escalate(esc.to_level, esc.to_team, at)
            self._moved(from_code, at, by_rule=False)
        elif kind == "resolve":
            sim._end_pause(at)
            sim.resolved_at = at
            sim._contact_customer(at)
            clock.recompute_due(sim)
            self._mark(at)
            self._leave(at)
            return True
        return False

    def play(self, events: list[tuple], horizon: datetime, rules: list[TriggerRule]) -> None:
        sim, t, i = self.sim, self.sim.opened_at, 0
        clock.recompute_due(sim)
        for _ in range(MAX_STEPS):
            while i < len(events) and events[i][0] <= t:
                at, kind, esc = events[i]
                i += 1
                if self._apply(at, kind, esc):
                    return
            clock.recompute_due(sim)
            self._mark(t)
            if t >= horizon:
                break
            self._rules(t, rules)
            moments = [horizon, next_check_at(sim, t, rules, self.firings.get(sim.level_id, {}))]
            if i < len(events):
                moments.append(events[i][0])
            nxt = min(m for m in moments if m is not None)
            t = nxt if nxt > t else t + RECHECK  # the sweep's progress guard
        self._leave(min(t, horizon))

    def count_flags(self) -> None:
        flags = self.report.risk
        if flags is None:
            return
        flags.flagged += self.flag_at is not None
        if self.breach_at is None:
            flags.false_alarms += self.flag_at is not None
            return
        flags.breaches += 1
        if self.flag_at is not None and self.flag_at < self.breach_at:
            flags.breaches_flagged += 1
            flags.leads.append((self.breach_at - self.flag_at).total_seconds() / 60)
        else:
            flags.breaches_missed += 1

    def _rules(self, t: datetime, rules: list[TriggerRule]) -> None:
        sim = self.sim
        fx = automation.Effects(now=t, steps_cache=self.run.steps_cache, address_cache=self.run.address_cache)
        level, priority, team_key = sim.level, sim.priority, self._team_key()
        kept = {f: getattr(sim, f) for f in clock.BREACH_FIELDS.values()}
        automation.fire(sim, rules, self.firings.setdefault(sim.level_id, {}), fx)
        fired = [f.rule for f in (*fx.new_firings, *fx.repeat_firings)]
        risky = [r for r in fired if reads_risk(r)]
        if risky and self.flag_at is None:
            self.flag_at = t
        self.report.notices += sum(1 for r in fired if r.action == TriggerRule.Action.NOTIFY)
        if sim.priority != priority:
            self.report.priority_raises += 1
        # The workflow's ``run`` marks breaches against the wall clock; the replay keeps
        # its own, marked at ``t`` just before the rules ran.
        sim.response_breached_at = kept["response_breached_at"]
        sim.resolution_breached_at = kept["resolution_breached_at"]
        if sim.level_id != level.pk:
            if self.report.risk is not None and any(r.action in MOVES for r in risky):
                self.report.risk.escalations += 1
            self.run.intervals.setdefault(team_key, []).append((self.team_since, t))
            self._moved(level.code, t, by_rule=True)
        else:
            sim.ola_response_breached_at = kept["ola_response_breached_at"]
            sim.ola_work_breached_at = kept["ola_work_breached_at"]
            if sim.priority != priority:
                clock.recompute_due(sim)


@dataclass
class _Run:
    steps_cache: dict = field(default_factory=dict)
    address_cache: dict = field(default_factory=dict)
    team_cases: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)


def _peak(intervals: list[tuple[datetime, datetime]]) -> int:
    points = sorted([(a, 1) for a, b in intervals] + [(b, -1) for a, b in intervals], key=lambda p: (p[0], p[1]))
    peak = now = 0
    for _, step in points:
        now += step
        peak = max(peak, now)
    return peak


def simulate(
    date_from: date,
    date_to: date,
    policy: SlaPolicy | None,
    rules,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Report:
    """Replay the cases opened from ``date_from`` to ``date_to`` (inclusive days) under the
    draft ``policy`` (None: the built-in 24x7 fallback) and ``rules``; read-only."""
    now = now or timezone.now()
    rules = draft_rules(rules)
    report = Report(
        date_from=date_from,
        date_to=date_to,
        policy=policy.name if policy else "built-in 24x7",
        rules=[r.name for r in rules],
    )
    models = {}
    if any(reads_risk(r) for r in rules):
        report.risk = RiskFlags(rules=[r.name for r in rules if reads_risk(r)])
        models = active_models()
    ladder = {lv.pk: lv for lv in Level.objects.ladder()}
    report.levels = {lv.code: LevelCounts() for lv in ladder.values()}
    snapshot = clock.freeze_policy(policy)
    start, end = _bounds(date_from, date_to)
    ids = list(
        Case.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .order_by("opened_at", "pk")
        .values_list("pk", flat=True)[: limit + 1]
    )
    report.truncated = len(ids) > limit
    ids = ids[:limit]
    # The desk as each case found it (open cases, recent breaches): the cases opened from 90
    # days before the period to its end.
    history = load_rows(Case.objects.filter(opened_at__gte=start - BREACH_WINDOW, opened_at__lt=end)) if models else []
    run = _Run()
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        cases = Case.objects.filter(pk__in=chunk).select_related("team").order_by("opened_at", "pk")
        escalations: dict[int, list[Escalation]] = {}
        for esc in (
            Escalation.objects.filter(case_id__in=chunk)
            .select_related("from_team", "to_team")
            .order_by("created_at", "pk")
        ):
            esc.from_level, esc.to_level = ladder[esc.from_level_id], ladder[esc.to_level_id]
            escalations.setdefault(esc.case_id, []).append(esc)
        intake_priority = dict(Case.history.filter(Q(id__in=chunk), history_type="+").values_list("id", "priority"))
        taken = dict(
            Case.history.filter(id__in=chunk, responded_at__isnull=False)
            .values("id")
            .annotate(first=Min("history_date"))
            .values_list("id", "first")
        )
        risk = _intake_risk(chunk, models, history) if models else {}
        for case in cases:
            report.cases += 1
            own = escalations.get(case.pk, [])
            first = own[0] if own else None
            level = first.from_level if first else ladder[case.level_id]
            team = first.from_team if first else case.team
            sim = Case(
                pk=case.pk,
                title=case.title,
                requester_name=case.requester_name,
                requester_email=case.requester_email,
                category_id=case.category_id,
                impact=case.impact,
                urgency=case.urgency,
                priority=intake_priority.get(case.pk, case.priority),
                complexity=case.complexity,
                customer_tier=case.customer_tier,
                business_impact=case.business_impact,
                status=CaseStatus.NEW,
                level=level,
                highest_level=level,
                team=team,
                path_id=case.path_id,
                policy_snapshot=clock.with_sla_level(snapshot, level.code),
                opened_at=case.opened_at,
                level_entered_at=case.opened_at,
                **risk.get(case.pk, {}),
            )
            if case.pk in risk:
                report.risk.scored += 1
            replay = _Replay(sim, report, run)
            replay.play(_events(case, own, taken.get(case.pk)), now, rules)
            replay.count_flags()
            report.cases_breaching_response += replay.breached["response"]
            report.cases_breaching_resolution += replay.breached["resolution"]
            report.cases_escalated_by_rule += replay.escalated
    if report.risk is not None:
        report.risk.finish()
    for key, members in run.team_cases.items():
        load = report.teams.setdefault(key, TeamLoad())
        load.cases = len(members)
        load.peak_open = _peak(run.intervals.get(key, []))
    return report


def _intake_risk(ids: list[int], models: dict, history: list) -> dict[int, dict]:
    """Each case's predicted risk as of its intake, by the active models."""
    out: dict[int, dict] = {}
    rows = load_rows(Case.objects.filter(pk__in=ids))
    desk_at_opening(rows, history)
    for row in rows:
        out[row.id] = {f"{target}_risk": round(score_row(model, row)[0], 4) for target, model in models.items()}
    return out


def rules_for(spec: str) -> list[TriggerRule]:
    """``all``, ``active`` or comma-separated ids (the command's ``--rules``)."""
    qs = TriggerRule.objects.select_related("target_level", "level").order_by("order", "pk")
    spec = (spec or "active").strip().lower()
    if spec == "all":
        return list(qs)
    if spec == "active":
        return list(qs.filter(is_active=True))
    try:
        wanted = [int(p) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"--rules takes all, active or rule ids such as 3,5; not '{spec}'.") from None
    found = list(qs.filter(pk__in=wanted))
    missing = sorted(set(wanted) - {r.pk for r in found})
    if missing:
        raise ValueError(f"There is no trigger rule {', '.join(map(str, missing))}.")
    return found

"""Replay one incident's events onto a new, unsaved case: its final state, one history
snapshot per event that changed it, and one handoff per level change.

Level changes follow the live ladder's meaning:
- up one level: an escalation, up more: a skip-level jump; it waits (``pending``) until
  the receiving level works the case (then ``accepted``, decided at that event);
- down while the escalation above is still waiting: that escalation was ``returned``
  (sent back unworked: over-escalation), as ``case_return`` would record it;
- down after the higher level worked the case: a de-escalation row;
- down past the level that escalated (L2 escalates to L3, and L3 sends the case straight
  to L1 unworked): the escalation ``returned`` to L2, then a de-escalation L2 -> L1 at the
  same moment, so both real endpoints are on record and L2 gets no time it never had.

The state machine's order is kept where a log breaks it: a "resolved" after "closed"
leaves the case closed, resolved no later than it was closed, and the history row says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from escalations.domain import clock
from escalations.domain.waits import near_breach
from escalations.importers.common import DONE, QUEUED, WORKED, Context, Event, Incident
from escalations.models import (
    Case,
    CaseStatus,
    CaseWait,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Level,
    Team,
    WaitKind,
)
from escalations.models.sources import IMPORTED_REASON

S = CaseStatus
K = EscalationKind
E = EscalationStatus
TRACKED = [f.attname for f in Case.history.model.tracked_fields if f.attname != "id"]
FIELDS = [f.attname for f in Case._meta.concrete_fields if f.attname not in ("id", "status")]


@dataclass
class Handoff:
    """An escalation row being replayed: its state when raised and how it ended."""

    kind: str
    from_level: Level
    to_level: Level
    from_team: Team | None
    to_team: Team | None
    created_at: datetime
    reason: str
    response_breached: bool = False  # at the level it left, when it left
    raised_by: int | None = None  # the log's acting person (a user without a login)
    from_assignee: int | None = None
    status: str = E.PENDING
    decided_at: datetime | None = None
    return_reason: str = ""
    decided_by: int | None = None

    def decide(self, status: str, at: datetime, by: int | None, reason: str = "") -> None:
        self.status, self.decided_at, self.decided_by, self.return_reason = status, at, by, reason

    def model(self, case: Case) -> Escalation:
        return Escalation(
            case=case,
            **Escalation.case_copies(case),
            kind=self.kind,
            status=self.status,
            from_level=self.from_level,
            to_level=self.to_level,
            from_team=self.from_team,
            to_team=self.to_team,
            reason=self.reason,
            decided_at=self.decided_at,
            return_reason=self.return_reason,
            response_breached=self.response_breached,
            created_at=self.created_at,
            raised_by_id=self.raised_by,
            from_assignee_id=self.from_assignee,
            decided_by_id=self.decided_by,
        )


@dataclass
class Replayed:
    case: Case
    history: list[dict] = field(default_factory=list)  # tracked values + history_date/_type/_reason
    handoffs: list[Handoff] = field(default_factory=list)
    waits: list[CaseWait] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)  # CaseAttribute key -> value


class Replay:
    def __init__(self, ctx: Context, inc: Incident):
        self.ctx, self.inc = ctx, inc
        first = inc.events[0]
        opened = min(inc.opened_at or first.at, first.at)
        level = ctx.levels[first.level or "L1"]
        self.case = Case(
            title=inc.title[:200],
            description=inc.description,
            requester_name=inc.requester_name[:120],
            requester_email=f"unknown@{ctx.source}.invalid",
            category=ctx.category(*inc.category),
            impact=inc.impact,
            urgency=inc.urgency,
            priority=inc.priority,
            level=level,
            highest_level=level,
            entry_level=level,
            team=ctx.team(first.team, level),
            created_by_id=ctx.person(first.actor),
            opened_at=opened,
            level_entered_at=opened,
            policy_snapshot=ctx.snapshot,
            source=ctx.source,
            external_id=inc.external_id,
            source_made_sla=inc.made_sla,
            version=1,
            updated_at=ctx.now,
        )
        self.status = S.NEW
        self.pending: Handoff | None = None
        self.remark = ""  # said in the next history row: where the log's order was not kept
        self.wait: CaseWait | None = None
        self.actor: int | None = None  # who made the event being replayed
        self.out = Replayed(self.case, attributes=dict(inc.attributes))

    # -- one event -----------------------------------------------------------------------
    def event(self, ev: Event) -> None:
        c = self.case
        at = max(ev.at, c.opened_at)
        self.actor = self.ctx.person(ev.actor)
        before = self.snapshot()
        for name in ("priority", "impact", "urgency"):
            if getattr(ev, name) is not None:
                setattr(c, name, getattr(ev, name))
        level = self.ctx.levels[ev.level] if ev.level else c.level
        team = self.ctx.team(ev.team, level) if ev.team else c.team
        if level.pk != c.level_id:
            self.move(level, team, at, ev)
        elif team is not None and team.pk != c.team_id:
            c.reassignment_count += 1
            c.team = team
        self.set_status(ev, at)
        if ev.assignee is not None:
            c.assignee_id = self.ctx.person(ev.assignee)
        self.tick(at)
        self.track_wait(ev, at)
        after = self.snapshot()
        if after != before or not self.out.history or self.remark:
            kind = "~" if self.out.history else "+"
            reason = f"{IMPORTED_REASON}{self.ctx.label}, line {ev.line}: {ev.label}"
            if self.remark:
                reason, self.remark = f"{reason} ({self.remark})", ""
            self.out.history.append(
                {
                    **after,
                    "history_date": at,
                    "history_type": kind,
                    "history_change_reason": reason[:1000],
                    "history_user_id": self.actor,
                }
            )

    def move(self, level: Level, team: Team | None, at: datetime, ev: Event) -> None:
        c = self.case
        reason = f"{IMPORTED_REASON}{self.ctx.label}, line {ev.line}"
        steps = self.ctx.steps(c.level, level)
        self.tick(at)  # as the workflow does: the breach at the level left is recorded on the handoff
        breached = c.ola_response_breached_at is not None  # the OLA of the level it leaves
        if steps > 0:
            if self.pending is not None:  # passed on up before being worked: taken on, then handed over
                self.pending.decide(E.ACCEPTED, at, self.actor)
            kind = K.ESCALATE if steps == 1 else K.JUMP
            self.pending = Handoff(kind, c.level, level, c.team, team, at, reason, breached, self.actor, c.assignee_id)
            self.out.handoffs.append(self.pending)
            c.escalation_count += 1
            c.handoff_count += 1
            c.assignee = None
            c._enter_level(level, team, at)
            return
        if self.pending is not None:
            returned, self.pending = self.pending, None
            returned.decide(E.RETURNED, at, self.actor, "Sent back down unworked (imported log)")
            c.moved_down_count += 1
            if returned.from_level.rank <= level.rank:  # back where it came from (or above)
                c._enter_level(level, team, at)
                c.responded_at = at  # as ``return_escalation``: it was worked there already
                return
            c._enter_level(returned.from_level, returned.from_team, at)
            reason = f"{reason}: returned to {returned.from_level.code}, then sent on down"
        handoff = Handoff(K.DE_ESCALATE, c.level, level, c.team, team, at, reason, breached, self.actor, c.assignee_id)
        handoff.decide(E.ACCEPTED, at, self.actor)
        self.out.handoffs.append(handoff)
        c.handoff_count += 1
        c.moved_down_count += 1
        c.assignee = None
        c._enter_level(level, team, at)

    def set_status(self, ev: Event, at: datetime) -> None:
        c, old, new = self.case, self.status, ev.status
        if new == QUEUED:
            new = S.ESCALATED if self.pending else S.NEW if c.first_response_at is None else S.IN_PROGRESS
        if new in WORKED:
            if self.pending is not None:
                self.pending.decide(E.ACCEPTED, at, self.actor)
                self.pending = None
            # The logs record no customer contact: their own mapping (README "Importing real
            # incident logs") takes the first worked status as the first response.
            c._contact_customer(at)
        if old == S.AWAITING_CUSTOMER and new != S.AWAITING_CUSTOMER:
            c._end_pause(at)
        elif new == S.AWAITING_CUSTOMER and old != S.AWAITING_CUSTOMER:
            c.paused_at = at
        if old == S.CLOSED and new == S.RESOLVED:  # the log resolves a closed case: keep it closed
            self.remark = "after closing: the case stays closed"
            new = S.CLOSED
        if old in DONE and new not in DONE:
            c.reopen_count += 1
            c.resolved_at = c.closed_at = None
        if new in DONE and c.resolved_at is None:
            c.resolved_at = at
            c.resolution_summary = f"{ev.label} (imported from {self.ctx.label})"
        if new == S.CLOSED and c.closed_at is None:
            c.closed_at = at
        self.status = new

    def track_wait(self, ev: Event, at: datetime) -> None:
        """The log's waits as ``CaseWait`` rows: one ends when the log stops waiting, waits
        on something else, or the case changes level; the new one starts at the same moment."""
        c, wait = self.case, self.wait
        kind = ev.wait if self.status in (S.IN_PROGRESS, S.AWAITING_CUSTOMER) else ""
        if wait is not None and (wait.kind != kind or wait.level_id != c.level_id):
            wait.ended_at, self.wait = at, None
        if kind and self.wait is None:
            self.wait = CaseWait(
                kind=kind,
                reason=ev.label[:500],
                level_id=c.level_id,
                team_id=c.team_id,
                started_at=at,
                stops_sla=kind == WaitKind.CUSTOMER,
                near_breach=near_breach(c, at),
            )
            self.out.waits.append(self.wait)
        c.waiting_on = self.wait.kind if self.wait is not None else ""

    def tick(self, at: datetime) -> None:
        """Due times for the level and priority now, breaches by ``at`` (as the sweep would
        have recorded them had it run at each event)."""
        clock.recompute_due(self.case)
        clock.mark_breaches(self.case, at)

    def snapshot(self) -> dict:
        values = {name: getattr(self.case, name) for name in TRACKED}
        values["status"] = self.status
        return values

    # -- the whole incident ----------------------------------------------------------------
    def run(self) -> Replayed:
        for ev in self.inc.events:
            self.event(ev)
        c, inc = self.case, self.inc
        if self.status in DONE:
            c.resolved_at = inc.resolved_at or c.resolved_at
            if self.status == S.CLOSED:
                c.closed_at = inc.closed_at or c.closed_at
                if c.resolved_at and c.closed_at and c.resolved_at > c.closed_at:
                    c.resolved_at = c.closed_at  # the state machine's order: resolved, then closed
        if inc.reopen_count is not None:
            c.reopen_count = inc.reopen_count
        if inc.reassignment_count is not None:
            c.reassignment_count = inc.reassignment_count
        self.tick(c.resolved_at or self.inc.events[-1].at)
        c.next_check_at = None  # history: the sweep never looks at it
        values = {name: getattr(c, name) for name in FIELDS}
        self.out.case = Case(**values, status=self.status, policy_snapshot=c.policy_snapshot)  # its terms stored too
        return self.out

"""One case trail: every record of a case (the case itself, notes, handoffs, approvals,
rule firings, notices, collaborations, reviews, attachments, who followed it) in one time-ordered list,
from the tamper-evident history tables plus the automation's own rows, filterable by
record type and user, for the auditor's page and its CSV/JSON export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model

from escalations.models import (
    ApprovalRequest,
    Attachment,
    Case,
    CaseWatcher,
    Collaboration,
    Escalation,
    Note,
    Notification,
    Review,
    RuleFiring,
)
from escalations.selectors.audit_log import ACTIONS
from escalations.selectors.readable import Readable, local_seconds, person

# record type key -> (label, model with history, lookup from the case id)
HISTORY_KINDS = {
    "case": ("Case", Case, "id"),
    "note": ("Note", Note, "case_id"),
    "handoff": ("Handoff", Escalation, "case_id"),
    "approval": ("Approval", ApprovalRequest, "case_id"),
    "collaboration": ("Collaboration", Collaboration, "case_id"),
    "review": ("Review", Review, "case_id"),
    "attachment": ("Attachment", Attachment, "case_id"),
    "follow": ("Following", CaseWatcher, "case_id"),
}
KINDS = {**{k: v[0] for k, v in HISTORY_KINDS.items()}, "rule": "Rule firing", "notice": "Notice"}
LIMIT = 5000


@dataclass
class TrailRow:
    when: datetime
    kind: str
    record: str
    who: str
    action: str
    why: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def as_dict(self) -> dict:
        return {
            "when": self.when.isoformat(),
            "when_local": local_seconds(self.when),
            "type": self.kind,
            "record": self.record,
            "who": self.who,
            "action": self.action,
            "why": self.why,
            "changes": [{"field": f, "old": o, "new": n} for f, o, n in self.changes],
        }

    def as_csv(self) -> list[str]:
        changes = "; ".join(f"{f}: {o} -> {n}" for f, o, n in self.changes)
        return [local_seconds(self.when), self.kind_label, self.record, self.who, self.action, self.why, changes]


CSV_HEADER = ["when", "type", "record", "who", "action", "why", "changes"]


def case_trail(
    case_id: int, *, kinds: list[str] | None = None, username: str = "", newest_first: bool = False
) -> list[TrailRow]:
    """Every record of the case, oldest first (or newest first), at most ``LIMIT`` rows."""
    wanted = set(kinds or KINDS)
    user_id = None
    if username:
        user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
        if user_id is None:
            return []
    readable, rows = Readable(), []
    for key, (label, model, lookup) in HISTORY_KINDS.items():
        if key not in wanted:
            continue
        qs = model.history.filter(**{lookup: case_id}).select_related("history_user")
        if user_id is not None:
            qs = qs.filter(history_user_id=user_id)
        records = list(qs.order_by("history_date", "history_id")[:LIMIT])
        previous: dict[int, object] = {}
        for record in records:
            # filtered by user, the row before may be someone else's: ask the history for it
            before = previous.get(record.id) if user_id is None else record.prev_record
            changes = readable.changes(model, record.diff_against(before)) if before is not None else []
            rows.append(
                TrailRow(
                    record.history_date,
                    key,
                    f"{label} #{record.id}",
                    person(record.history_user) or "system",
                    ACTIONS.get(record.history_type, record.history_type),
                    record.history_change_reason or "",
                    changes,
                )
            )
            previous[record.id] = record
    if user_id is None:  # the automation writes these; no person is behind them
        if "rule" in wanted:
            for f in RuleFiring.objects.filter(case_id=case_id).select_related("rule", "level")[:LIMIT]:
                times = f" ({f.times} times)" if f.times > 1 else ""
                rows.append(TrailRow(f.fired_at, "rule", f"Rule #{f.rule_id} {f.rule.name}", "automation",
                                     f"fired at {f.level.code}{times}", f.reason))  # fmt: skip
        if "notice" in wanted:
            for n in Notification.objects.filter(case_id=case_id)[:LIMIT]:
                rows.append(TrailRow(n.created_at, "notice", f"Notice #{n.pk} {n.event}", "automation",
                                     f"{n.get_status_display().lower()} to {n.recipient}", n.subject))  # fmt: skip
    rows.sort(key=lambda r: r.when, reverse=newest_first)
    return rows[:LIMIT]

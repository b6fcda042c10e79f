"""One timeline per case: notes, public updates, handoffs with their outcome, approvals,
rule firings with their reasons, and the case's own field changes from its history.

Field changes come from simple-history (each row diffed against the one before it);
bookkeeping fields (version, due times, counters) are left out as noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model

from escalations.models import (
    ApprovalStatus,
    Case,
    Category,
    EscalationKind,
    EscalationStatus,
    Level,
    NoteKind,
    RuleFiring,
    Team,
)
from escalations.selectors.readable import local_seconds

# Fields whose changes a reader of the case cares about, in display order.
TRACKED = (
    "status",
    "level",
    "team",
    "assignee",
    "priority",
    "impact",
    "urgency",
    "complexity",
    "customer_tier",
    "category",
    "title",
    "description",
    "requester_name",
    "requester_email",
    "resolution_summary",
    "response_breached_at",
    "resolution_breached_at",
)
LONG_TEXT = {"description", "resolution_summary"}
KIND_LABELS = {
    "history": "Case change",
    "note": "Internal note",
    "public": "Public update",
    "customer": "Requester",
    "escalation": "Handoff",
    "approval": "Approval",
    "rule": "Rule",
}
# Note kind -> (timeline kind, title, the catalogue slug of the action that writes it).
NOTE_ENTRIES = {
    NoteKind.INTERNAL: ("note", "Internal note", "note"),
    NoteKind.PUBLIC: ("public", "Public update to the requester (e-mailed)", "public-update"),
    NoteKind.CUSTOMER: ("customer", "Message from the requester", "requester-message"),
}


@dataclass
class Entry:
    at: datetime
    kind: str  # history | note | public | customer | escalation | approval | rule
    title: str
    actor: str = ""
    body: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    action: str = ""  # the catalogue slug of the action that wrote it ("rule": the sweep)
    action_name: str = ""  # filled by the page from the catalogue
    attachments: list = field(default_factory=list)  # Attachment rows (a requester's files)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def _who(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class _Names:
    """Turns the ids in history rows into names, with one query per kind of object."""

    def __init__(self, rows):
        ids: dict[str, set] = {"team": set(), "assignee": set(), "category": set()}
        for r in rows:
            for name in ids:
                value = getattr(r, f"{name}_id")
                if value is not None:
                    ids[name].add(value)
        self.level = {lv.pk: lv.code for lv in Level.objects.ladder()}
        self.team = dict(Team.objects.filter(pk__in=ids["team"]).values_list("pk", "name"))
        self.assignee = {u.pk: _who(u) for u in get_user_model().objects.filter(pk__in=ids["assignee"])}
        self.category = dict(Category.objects.filter(pk__in=ids["category"]).values_list("pk", "name"))

    def show(self, name: str, value) -> str:
        if value in (None, ""):
            return "—"
        if name in ("level", "team", "assignee", "category"):
            return getattr(self, name).get(value, f"#{value}")
        if isinstance(value, datetime):
            return local_seconds(value)
        choices = dict(Case._meta.get_field(name).flatchoices)
        return str(choices.get(value, value))


def _label(name: str) -> str:
    return str(Case._meta.get_field(name).verbose_name).capitalize()


def _changes(new, old, names: _Names) -> list[str]:
    if old is None:
        return []
    delta = new.diff_against(old, included_fields=list(TRACKED))
    out = []
    for change in sorted(delta.changes, key=lambda c: TRACKED.index(c.field)):
        if change.field in LONG_TEXT:
            out.append(f"{_label(change.field)} changed")
        else:
            out.append(
                f"{_label(change.field)}: {names.show(change.field, change.old)} → "
                f"{names.show(change.field, change.new)}"
            )
    return out


def _history_entries(rows: list) -> list[Entry]:
    names = _Names(rows)
    entries, previous = [], None
    for row in rows:
        changes = _changes(row, previous, names)
        reason = row.history_change_reason or ("Opened" if previous is None else "Changed")
        if previous is not None and not changes and reason == "Changed":
            previous = row
            continue  # a save that changed only bookkeeping: noise
        entries.append(
            Entry(
                row.history_date, "history", reason, _who(row.history_user), changes=changes, action=row.history_action
            )
        )
        previous = row
    return entries


def _history_rows(case: Case, since_version: int | None = None) -> list:
    rows = case.history.select_related("history_user")
    if since_version is not None:
        rows = rows.filter(version__gte=since_version)
    return list(rows.order_by("history_date", "history_id"))


def _escalation_entry(esc) -> Entry:
    move = f"{esc.from_level.code} → {esc.to_level.code}"
    title = {
        EscalationKind.ESCALATE: f"Escalated {move}",
        EscalationKind.JUMP: f"Skip-level jump {move}",
        EscalationKind.DE_ESCALATE: f"De-escalated {move}",
    }.get(esc.kind, move)
    actor = f"rule “{esc.rule.name}”" if esc.rule_id else _who(esc.raised_by)
    details = [
        (label, value)
        for label, value in (
            ("Reason", esc.reason),
            ("Summary", esc.summary),
            ("Steps tried", esc.steps_tried),
            ("Knowledge consulted", esc.knowledge_consulted),
            ("Customer impact", esc.customer_impact),
            ("Justification for skipping", esc.justification),
        )
        if value
    ]
    decided = f" by {_who(esc.decided_by)}" if esc.decided_by_id else ""
    when = f" at {local_seconds(esc.decided_at)}" if esc.decided_at else ""
    outcome = {
        EscalationStatus.PENDING: f"Awaiting acceptance at {esc.to_level.code}",
        EscalationStatus.ACCEPTED: f"Accepted{decided}{when}",
        EscalationStatus.RETURNED: f"Returned{decided}{when}: {esc.return_reason}",
    }[esc.status]
    details.append(("Outcome", outcome))
    slug = "de-escalate" if esc.kind == EscalationKind.DE_ESCALATE else ("rule" if esc.rule_id else "escalate")
    return Entry(esc.created_at, "escalation", title, actor, details=details, action=slug)


def _approval_entry(req) -> Entry:
    amount = f" of {req.currency} {req.amount:,.2f}" if req.amount is not None else ""
    details = [
        ("What", req.description),
        ("Decided by level", f"{req.required_level.code} or above"),
        ("Status", req.get_status_display()),
    ]
    if req.decided_at:
        note = f": {req.decision_note}" if req.decision_note else ""
        details.append(
            (
                "Decision",
                f"{req.get_status_display()} by {_who(req.decided_by)} at {local_seconds(req.decided_at)}{note}",
            )
        )
    return Entry(
        req.created_at,
        "approval",
        f"Approval requested: {req.get_kind_display().lower()}{amount}",
        _who(req.requested_by),
        details=details,
        action="request-approval",
    )


@dataclass
class CaseRecords:
    """The timeline and, from the same rows, what is still waiting on the case."""

    timeline: list[Entry]
    pending_escalation: object | None
    pending_approvals: list


def case_records(case: Case) -> CaseRecords:
    """Everything that happened to the case, oldest first, read once for the case page."""
    entries = _history_entries(_history_rows(case))
    for note in case.notes.select_related("author").prefetch_related("attachments"):
        kind, title, slug = NOTE_ENTRIES.get(note.kind, NOTE_ENTRIES[NoteKind.INTERNAL])
        entries.append(
            Entry(
                note.created_at,
                kind,
                title,
                _who(note.author) or note.sender,
                body=note.body,
                action=slug,
                attachments=list(note.attachments.all()),
            )
        )
    escalations = list(
        case.escalations.select_related("from_level", "to_level", "from_team", "raised_by", "decided_by", "rule")
    )
    entries += [_escalation_entry(e) for e in escalations]
    approvals = list(case.approvals.select_related("required_level", "requested_by", "decided_by"))
    entries += [_approval_entry(a) for a in approvals]
    for firing in RuleFiring.objects.filter(case=case).select_related("rule", "level"):
        times = f" ({firing.times} times)" if firing.times > 1 else ""
        entries.append(
            Entry(
                firing.fired_at,
                "rule",
                f"Rule fired at {firing.level.code}: {firing.rule.name}{times}",
                "automation",
                body=firing.reason,
                action="rule",
            )
        )
    pending = [e for e in escalations if e.status == EscalationStatus.PENDING]
    return CaseRecords(
        timeline=sorted(entries, key=lambda e: e.at),
        pending_escalation=max(pending, key=lambda e: (e.created_at, e.pk)) if pending else None,
        pending_approvals=[a for a in approvals if a.status == ApprovalStatus.PENDING],
    )


def case_timeline(case: Case) -> list[Entry]:
    return case_records(case).timeline


def changes_since(case: Case, version: int | None) -> list[Entry]:
    """What changed after the version a form carried: the history rows after it."""
    if version is None:
        return []
    rows = _history_rows(case, since_version=version)
    if not rows or rows[0].version != version:
        return _history_entries(rows)[-10:]
    return _history_entries(rows)[1:][-10:]

"""The auditor's log: history rows of one model with who, what, when, why and field diffs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from escalations.audit import chain
from escalations.selectors.readable import Readable, person


@dataclass(frozen=True)
class LogRow:
    model: str
    history_id: int
    object_id: int
    when: datetime
    who: str
    action: str
    why: str
    changes: list[tuple[str, str, str]]  # field, old, new

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "history_id": self.history_id,
            "object_id": self.object_id,
            "when": self.when.isoformat(),
            "who": self.who,
            "action": self.action,
            "why": self.why,
            "changes": [{"field": f, "old": o, "new": n} for f, o, n in self.changes],
        }


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def history_model_choices() -> list[tuple[str, str]]:
    return [(m._meta.label_lower, m.instance_type._meta.verbose_name.capitalize()) for m in chain.history_models()]


def history_model(label: str):
    return next((m for m in chain.history_models() if m._meta.label_lower == label), None)


def log_rows(
    model,
    *,
    username: str = "",
    object_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
    readable: Readable | None = None,
) -> list[LogRow]:
    """Newest first. Each row's diff is against the object's previous history row."""
    qs = model.objects.select_related("history_user").order_by("-history_date", "-history_id")
    if username:
        user = get_user_model().objects.filter(username=username).first()
        qs = qs.filter(history_user=user) if user else qs.none()
    if object_id is not None:
        qs = qs.filter(id=object_id)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(history_date__gte=datetime.combine(date_from, time.min, tz))
    if date_to:
        qs = qs.filter(history_date__lt=datetime.combine(date_to + timedelta(days=1), time.min, tz))
    readable = readable or Readable()
    return [log_row(record, readable) for record in qs[:limit]]


def log_row(record, readable: Readable) -> LogRow:
    """One history row, its diff against the object's previous row in words."""
    model = record.instance_type
    changes = []
    previous = record.prev_record
    if previous is not None:
        changes = readable.changes(model, record.diff_against(previous))
    return LogRow(
        model._meta.verbose_name,
        record.history_id,
        record.id,
        record.history_date,
        person(record.history_user) or "system",
        ACTIONS.get(record.history_type, record.history_type),
        record.history_change_reason or "",
        changes,
    )

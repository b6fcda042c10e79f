"""History values as people read them: names instead of ids ("assignee: — → Sam
Specialist", "level: L1 → L2"), choice labels, times to the second in the viewer's time
zone, durations as "4 h", money with its currency, and "—" for nothing (an unassignment
never reads "Deleted user (pk=None)"). One formatter for the audit log, the case trail
and the admin's history pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from escalations.core import money as _money
from escalations.core.durations import format_duration

NOTHING = "—"
MAX_TEXT = 200
MONEY_FIELDS = {"amount"}


def local_seconds(value: datetime) -> str:
    """A moment to the second in the current (viewer's) time zone, with the zone's name."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def money(value) -> str:
    return _money.money(value)


def person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _object_name(obj) -> str:
    if isinstance(obj, get_user_model()):
        return person(obj)
    code = getattr(obj, "code", None)  # levels and categories read best by their code
    if code and obj.__class__.__name__ == "Level":
        return code
    return str(obj)


class Readable:
    """Formats field values of one model. Related ids are looked up once per (model, id)
    and kept for the life of the formatter (one page or one export)."""

    def __init__(self):
        self._names: dict[tuple[type, object], str] = {}

    def prefetch(self, model: type[models.Model], field_name: str, ids) -> None:
        field = model._meta.get_field(field_name)
        related = field.related_model
        wanted = {i for i in ids if i is not None and (related, i) not in self._names}
        if wanted:
            for obj in related._default_manager.filter(pk__in=wanted):
                self._names[(related, obj.pk)] = _object_name(obj)

    def value(self, model: type[models.Model], field_name: str, value) -> str:
        if value is None or value == "":
            return NOTHING
        try:
            field = model._meta.get_field(field_name)
        except Exception:  # a field the model no longer has: show the raw value
            return _short(str(value))
        if isinstance(field, models.ForeignKey):
            if isinstance(value, models.Model):
                return _object_name(value)
            related = field.related_model
            if (related, value) not in self._names:
                self.prefetch(model, field_name, [value])
            return self._names.get((related, value), f"{related._meta.verbose_name} #{value} (deleted)")
        if field.flatchoices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, datetime):
            return local_seconds(value)
        if isinstance(value, timedelta):
            return format_duration(value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if field_name in MONEY_FIELDS and isinstance(value, (Decimal, int, float)):
            return money(value)
        return _short(str(value))

    def label(self, model: type[models.Model], field_name: str) -> str:
        try:
            return str(model._meta.get_field(field_name).verbose_name)
        except Exception:
            return field_name

    def changes(self, model: type[models.Model], delta) -> list[tuple[str, str, str]]:
        """(field label, old, new) for a simple-history delta taken with raw foreign keys."""
        return [
            (self.label(model, c.field), self.value(model, c.field, c.old), self.value(model, c.field, c.new))
            for c in delta.changes
        ]


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."

"""The sweep's fast path: claim and load a batch of due cases in one statement, then
evaluate it as plain rows.

``claim`` locks up to ``n`` due cases (``FOR UPDATE SKIP LOCKED``, so concurrent
sweepers split the due set) and reads them in the same statement as plain tuples over a
binary cursor. A case row holds only the key of its frozen SLA terms (``policy_id``);
each distinct one is read once per process (``PolicySnapshot.objects.bodies``, one query
per batch for keys not seen yet), and the cases share the terms, their level and team
objects.

``rows_as_cases`` makes each tuple a ``CaseRow`` (a slotted object with the model's
attribute names, no model instance); ``PlainEffects`` builds handoffs, notices and
firings as plain rows too and moves a case with ``plain_transition`` (the model's own
transition body and django-fsm's declared source states and conditions, without its
machinery). Everything else is the general path's: ``automation.apply_loaded`` runs the
same rules, conditions, calendars, routing, notices and effects, and ``automation.write``
writes the batch with one statement per table. Every rule kind goes through it; nothing
falls back. ``tests/test_sweep_fast.py`` runs both paths on the same cases and compares
every row written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

from escalations.domain import clock
from escalations.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    Category,
    Escalation,
    Level,
    Notification,
    PolicySnapshot,
    RuleFiring,
    Team,
)
from escalations.workflow import automation
from escalations.workflow.actors import require_actor
from escalations.workflow.base import InvalidAction, from_validation_error, verb_of

# The case's columns in model order; JSON columns are read as text and parsed here.
_FIELDS = None


def _fields():
    global _FIELDS
    if _FIELDS is None:
        _FIELDS = list(Case._meta.concrete_fields)
    return _FIELDS


def claim(now: datetime, n: int) -> list[tuple]:
    """Lock and read up to ``n`` due cases, oldest due first; one statement."""
    import psycopg

    connection = connections[router.db_for_write(Case)]
    cols = ", ".join(
        f't."{f.column}"::text' if f.get_internal_type() == "JSONField" else f't."{f.column}"' for f in _fields()
    )
    sql = (
        f'SELECT {cols} FROM "{Case._meta.db_table}" t WHERE t."next_check_at" <= %s '
        f'ORDER BY t."next_check_at" LIMIT %s FOR UPDATE SKIP LOCKED'
    )
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [now, n], binary=True)
        return cursor.fetchall()


def cases_from_rows(rows: list[tuple], connection_alias: str = "default") -> list[Case]:
    """Case objects for the claimed rows, sharing frozen terms, levels, teams, categories
    and assignees (one query each per batch)."""
    fields = _fields()
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    cases = []
    for t in rows:
        values = list(t)
        for i in json_at:
            if values[i] is not None:
                values[i] = json.loads(values[i])
        cases.append(Case.from_db(connection_alias, names, values))
    PolicySnapshot.objects.bodies({c.policy_id for c in cases})  # read once, then from the process's cache
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams = Team.objects.in_bulk({c.team_id for c in cases if c.team_id is not None})
    categories = Category.objects.in_bulk({c.category_id for c in cases if c.category_id is not None})
    people = get_user_model().objects.in_bulk({c.assignee_id for c in cases if c.assignee_id is not None})
    for case in cases:
        case.level, case.highest_level = levels[case.level_id], levels[case.highest_level_id]
        case.team = teams.get(case.team_id)
        case.category = categories.get(case.category_id)
        case.assignee = people.get(case.assignee_id)
    return cases


# -- plain rows ----------------------------------------------------------------------------
# The claimed cases and what the rules write about them, as plain objects with the models'
# attribute names: the rules, conditions, calendars, routing, notices and effects are the
# general path's (they read attributes), the writes are ``automation.write``'s (it reads
# the same attributes), but nothing builds a model instance or runs django-fsm per case.


def _choices(model, name: str) -> dict:
    return {k: str(v) for k, v in model._meta.get_field(name).flatchoices}


class _Plain:
    """Attributes by model field name; foreign keys set as objects keep their ``_id``."""

    __slots__ = ()
    _fks: tuple = ()

    def _set(self, kw: dict) -> None:
        for name, value in kw.items():
            if name in self._fks:
                object.__setattr__(self, name + "_obj", value)
                object.__setattr__(self, name + "_id", None if value is None else value.pk)
            else:
                object.__setattr__(self, name, value)

    @property
    def pk(self):
        return self.id

    @pk.setter
    def pk(self, value):
        self.id = value


def _plain_class(model, name: str, fks: tuple, extra: tuple = ()):
    """A slotted class with ``model``'s attribute names; each foreign key in ``fks`` is a
    property (the object) over its ``_id`` (what is written)."""
    fields = [f.attname for f in model._meta.concrete_fields]
    slots = (
        tuple(fields) + tuple(f + "_obj" for f in fks) + extra + ("_change_reason", "_history_user", "_history_action")
    )
    ns = {"__slots__": slots, "_fks": fks}
    for fk in fks:

        def get(self, _fk=fk):
            return getattr(self, _fk + "_obj", None)

        def put(self, value, _fk=fk):
            object.__setattr__(self, _fk + "_obj", value)
            object.__setattr__(self, _fk + "_id", None if value is None else value.pk)

        ns[fk] = property(get, put)
    return type(name, (_Plain,), ns)


_CASE_FKS = ("level", "highest_level", "team", "assignee", "category")


class CaseRow(_plain_class(Case, "_CaseBase", _CASE_FKS, ("policy_snapshot",))):
    """A claimed case: its columns as read, the shared level, team, assignee and category
    objects, and the methods the rules, clocks, notices and handoff texts call."""

    __slots__ = ()
    _status, _impact, _tier = None, None, None

    def get_status_display(self) -> str:
        return CaseRow._status.get(self.status, self.status)

    def get_impact_display(self) -> str:
        return CaseRow._impact.get(self.impact, self.impact)

    def get_customer_tier_display(self) -> str:
        return CaseRow._tier.get(self.customer_tier, self.customer_tier)

    _set_priority = Case._set_priority
    _enter_level = Case._enter_level

    @property
    def watchers(self):
        """The case's watchers (a "watchers" recipient; one query, as on the model)."""
        return Case(pk=self.id).watchers

    def __str__(self) -> str:
        return str(Case(pk=self.id, title=self.title))


HandoffRow = _plain_class(
    Escalation,
    "HandoffRow",
    ("case", "from_level", "to_level", "from_team", "to_team", "from_assignee", "raised_by", "rule", "decided_by"),
)
NoticeRow = _plain_class(Notification, "NoticeRow", ("case", "webhook", "note"))
FiringRow = _plain_class(RuleFiring, "FiringRow", ("case", "rule", "level"))


def _maker(cls, model):
    """``cls(**kw)`` as the model's constructor: its defaults, then the given values."""
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    dynamic = [f for f in fields if f.has_default() and callable(f.default)]
    defaults = {f.attname: f.get_default() for f in fields if f not in dynamic}
    callables = [(f.attname, f.default) for f in dynamic]

    def make(**kw):
        row = cls.__new__(cls)
        row.id = None
        for name, value in defaults.items():
            object.__setattr__(row, name, value)
        for name, default in callables:
            if name not in kw:
                object.__setattr__(row, name, default())
        for fk in cls._fks:
            if fk not in kw:
                object.__setattr__(row, fk + "_obj", None)
        row._set(kw)
        return row

    return make


def plain_transition(case: CaseRow, name: str, actor, *args) -> None:
    """``workflow.base.run`` for a plain case: the same checks (state, the transition's
    conditions, a breach before the move belongs to the old state) and the model's own
    transition body, without django-fsm's machinery (the sweep is the system actor)."""
    require_actor(actor)
    bound = getattr(Case, name)
    meta = bound._django_fsm
    clock.mark_breaches(case, timezone.now())
    state = case.status
    if not (meta.has_transition(state) and meta.conditions_met(case, state)):
        label = f"{Case._meta.verbose_name} #{case.pk}"
        raise InvalidAction(f"You cannot {verb_of(Case, name)} {label}: it is {case.get_status_display().lower()}.")
    try:
        bound.__wrapped__(case, *args)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
    target = meta.next_state(state)
    if target is not None:
        case.status = target


@dataclass
class PlainEffects(automation.Effects):
    """The general path's ``Effects`` building plain rows and moving plain cases."""

    make_handoff: ClassVar[Callable] = None
    make_notice: ClassVar[Callable] = None
    make_firing: ClassVar[Callable] = None
    transition: ClassVar[Callable] = staticmethod(plain_transition)

    def moved_cases(self) -> list[Case]:
        """The moved cases with pending approval requests, loaded as models (rare)."""
        ids = [esc.case_id for esc in self.escalations]
        waiting = set(
            ApprovalRequest.objects.filter(case_id__in=ids, status=ApprovalStatus.PENDING).values_list(
                "case_id", flat=True
            )
        )
        return list(Case.objects.filter(pk__in=waiting).select_related("level")) if waiting else []


def _setup() -> None:
    if PlainEffects.make_handoff is None:
        CaseRow._status = _choices(Case, "status")
        CaseRow._impact = _choices(Case, "impact")
        CaseRow._tier = _choices(Case, "customer_tier")
        PlainEffects.make_handoff = staticmethod(_maker(HandoffRow, Escalation))
        PlainEffects.make_notice = staticmethod(_maker(NoticeRow, Notification))
        PlainEffects.make_firing = staticmethod(_maker(FiringRow, RuleFiring))


def rows_as_cases(rows: list[tuple]) -> list[CaseRow]:
    """Plain cases for the claimed rows, sharing frozen terms, levels, teams, categories
    and assignees (one query each per batch)."""
    _setup()
    fields = _fields()
    names = [f.attname for f in fields]
    json_at = {i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"}
    at = {n: names.index(n + "_id") for n in (*_CASE_FKS, "policy")}
    terms = PolicySnapshot.objects.bodies({t[at["policy"]] for t in rows})
    levels = {lv.pk: lv for lv in Level.objects.ladder()}
    teams = Team.objects.in_bulk({t[at["team"]] for t in rows if t[at["team"]] is not None})
    categories = Category.objects.in_bulk({t[at["category"]] for t in rows if t[at["category"]] is not None})
    people = get_user_model().objects.in_bulk({t[at["assignee"]] for t in rows if t[at["assignee"]] is not None})
    shared = {"level": levels, "highest_level": levels, "team": teams, "category": categories, "assignee": people}
    setter = object.__setattr__
    cases = []
    for t in rows:
        row = CaseRow.__new__(CaseRow)
        for i, (name, value) in enumerate(zip(names, t)):
            if i in json_at and value is not None:
                value = json.loads(value)
            setter(row, name, value)
        setter(row, "policy_snapshot", terms.get(t[at["policy"]], {}))
        for fk, objs in shared.items():
            key = t[at[fk]]
            setter(row, fk + "_obj", None if key is None else objs.get(key))
        cases.append(row)
    return cases


def sweep_rows(rows: list[tuple], now: datetime, active: list) -> automation.BatchResult:
    """Run claimed rows through the rules as plain rows; the caller holds the locks and the
    transaction."""
    _setup()
    return automation.apply_loaded(rows_as_cases(rows), now, active, PlainEffects(now=now))

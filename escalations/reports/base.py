"""What every report shares: the filters, the result tables, the registry, and the two
scopes most reports start from (cases opened in the range, escalations raised in it).

A report is a function ``(scope) -> list[Table]`` registered with ``@report``. It asks the
database for grouped figures (``values(...).annotate(...)``): a million rows in, at most a
few thousand groups out. Python only pivots those groups into rows, so the cost stays with
the database and its indexes whatever the number of cases; each report reads the cases
and the handoffs once or twice, never row by row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Case as DjCase
from django.db.models import Count, DateTimeField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from escalations.core.bounds import EARLIEST, LATEST
from escalations.models import Case, CaseAttribute, Category, Escalation, ImportedSource, Level, Team
from escalations.models.attributes import KEY_MAX, VALUE_MAX
from escalations.reports import cache

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# The dates a report may cover, and how many buckets a series may have: a century by day
# built a 33 MB page. Ten years fits every log the desk imports (2012 and 2016) by month.
MAX_DAYS = 3660
MAX_BUCKETS = 400
BUCKET_DAYS = {"day": 1, "week": 7, "month": 28}
SOURCES = {"live": "", "bpic2013": "bpic2013", "uci": "uci"}
# A breakdown (``by``): a case column, or ``attr:KEY`` for an imported attribute.
BY = ("team", "agent", "level", "category", "priority")
ATTR_KEY = re.compile(rf"[a-z0-9_]{{1,{KEY_MAX}}}")


class FilterError(ValueError):
    """A filter names something that does not exist (an unknown level, team, ...)."""


@dataclass(frozen=True)
class Filters:
    """Inclusive dates; ``level``/``team``/``category`` by code or name; ``source`` is
    "live" (cases opened here), an importer's name, or None for all."""

    date_from: date
    date_to: date
    level: str | None = None
    team: str | None = None
    category: str | None = None
    priority: int | None = None
    source: str | None = None
    period: str | None = None
    now: datetime | None = None
    attr: str | None = None  # "key:value": only cases whose imported attribute has that value
    by: str | None = None  # one of BY, or "attr:key": adds the comparison table

    def __post_init__(self):
        if self.date_to < self.date_from:
            raise FilterError("The range ends before it starts.")
        if self.date_from < EARLIEST or self.date_to > LATEST:
            raise FilterError(f"Dates must lie between {EARLIEST} and {LATEST}.")
        if (self.date_to - self.date_from).days + 1 > MAX_DAYS:
            raise FilterError(f"A report covers at most {MAX_DAYS} days; choose a shorter range.")
        if self.period is not None and self.period not in PERIODS:
            raise FilterError(f"Period must be one of {', '.join(PERIODS)}.")
        if self.priority is not None and self.priority not in (1, 2, 3, 4):
            raise FilterError("Priority must be 1, 2, 3 or 4.")
        if self.source is not None and self.source not in SOURCES:
            raise FilterError(f"Source must be one of {', '.join(SOURCES)}.")
        if self.attr is not None:
            key, sep, value = self.attr.partition(":")
            if not sep or not ATTR_KEY.fullmatch(key) or not value.strip():
                raise FilterError("An attribute filter reads key:value, e.g. product:PROD424.")
            if len(value) > VALUE_MAX or not value.isprintable():
                raise FilterError(f"An attribute value is at most {VALUE_MAX} printable characters.")
        if self.by is not None and self.by not in BY:
            kind, sep, key = self.by.partition(":")
            if kind != "attr" or not sep or not ATTR_KEY.fullmatch(key):
                raise FilterError(f"A breakdown is one of {', '.join(BY)}, or attr:KEY (e.g. attr:country).")
        buckets = ((self.date_to - self.date_from).days + 1) // BUCKET_DAYS[self.bucket] + 1
        if buckets > MAX_BUCKETS:
            raise FilterError(
                f"That is {buckets} {self.bucket}s; a series has at most {MAX_BUCKETS}: choose a longer period."
            )

    @property
    def attr_pair(self) -> tuple[str, str] | None:
        if not self.attr:
            return None
        key, _sep, value = self.attr.partition(":")
        return key, value.strip()

    @property
    def by_pair(self) -> tuple[str, str] | None:
        """("attr", key) or (column, column)."""
        if not self.by:
            return None
        kind, _sep, key = self.by.partition(":")
        return (kind, key) if kind == "attr" else (kind, kind)

    @property
    def by_label(self) -> str:
        pair = self.by_pair
        return "" if pair is None else f"attribute {pair[1]}" if pair[0] == "attr" else pair[0]

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``date_to``."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    @property
    def bucket(self) -> str:
        if self.period:
            return self.period
        days = (self.date_to - self.date_from).days + 1
        return "day" if days <= 62 else "week" if days <= 370 else "month"

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("now")
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()}


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"  # text | int | pct | hours | date


@dataclass
class Chart:
    """How to draw a table: ``x`` names the label column, ``series`` the value columns."""

    kind: str  # bar | line
    x: str
    series: list[str]
    stacked: bool = False


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list]
    chart: Chart | None = None
    note: str = ""

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)


@dataclass
class Result:
    report: Report
    filters: Filters
    tables: list[Table] = field(default_factory=list)


class Scope:
    """The filters resolved to ids once, and the querysets the reports start from."""

    def __init__(self, filters: Filters):
        self.f = filters
        self.now = filters.now or timezone.now()
        self.levels = {lv.pk: lv for lv in Level.objects.order_by("rank")}
        self.level = self._one(Level, "code", filters.level, "level")
        self.team = self._one(Team, "name", filters.team, "team")
        self.category = self._one(Category, "code", filters.category, "category")
        self.imported = {s.source: s for s in ImportedSource.objects.all()}
        self.attr = filters.attr_pair
        self.by = filters.by_pair
        keys = [k for k in ((self.attr or ("",))[0], self.by[1] if self.by and self.by[0] == "attr" else "") if k]
        if keys:
            known = CaseAttribute.objects.known_keys()
            for key in keys:
                if key not in known:
                    raise FilterError(
                        f"There is no attribute '{key}'. "
                        + (
                            f"Known attributes: {', '.join(known)}."
                            if known
                            else "No case has attributes (import a log)."
                        )
                    )

    def horizon(self, source: str = "") -> datetime:
        """Until when a still-open case of ``source`` is measured: the end of the range, but
        never past today for live cases, nor past the end of an imported log's data (its
        open cases stopped there; measuring them to today would grow every figure daily)."""
        known = self.imported.get(source)
        last = known.last_at if known is not None else self.now
        return min(last, self.f.end)

    def open_until(self, prefix: str = ""):
        """``horizon`` as an SQL expression, per case source (through a relation to the case:
        ``prefix="case__"``)."""
        live = Value(self.horizon(), output_field=DateTimeField())
        if self.f.source is not None:
            return Value(self.horizon(SOURCES[self.f.source]), output_field=DateTimeField())
        whens = [
            When(**{f"{prefix}source": s}, then=Value(self.horizon(s), output_field=DateTimeField()))
            for s in self.imported
        ]
        return DjCase(*whens, default=live, output_field=DateTimeField()) if whens else live

    def clock_note(self) -> str:
        """Which clock the SLA figures of the selected source use (imported logs differ)."""
        notes = {
            "bpic2013": "BPIC 2013 has no SLA of its own: its SLA figures use this desk's policy clock, "
            "computed from the log's timestamps at import.",
            "uci": "UCI carries its own verdict (made_sla), shown as 'source made SLA'; the other SLA "
            "figures use this desk's policy clock, computed from the log's timestamps at import.",
        }
        if self.f.source in notes:
            return notes[self.f.source]
        if self.f.source is None and self.imported:
            return "Imported cases are included: " + " ".join(notes[s] for s in sorted(self.imported) if s in notes)
        return ""

    @staticmethod
    def _one(model, field_name: str, value, label: str):
        if not value:
            return None
        obj = model.objects.filter(**{field_name: value}).first()
        if obj is None:
            raise FilterError(f"There is no {label} '{value}'.")
        return obj

    def level_code(self, pk) -> str:
        lv = self.levels.get(pk)
        return lv.code if lv else "-"

    def ladder(self) -> list[Level]:
        return list(self.levels.values())

    def case_filter(self, prefix: str = "", date_field: str | None = None, where: bool = False) -> Q:
        """The case filters, on cases or through a relation to them (``prefix="case__"``).
        ``where``: level and team too (where the case is now, or was when resolved)."""
        q = Q()
        if self.category is not None:
            q &= Q(**{f"{prefix}category": self.category})
        if self.f.priority is not None:
            q &= Q(**{f"{prefix}priority": self.f.priority})
        if self.f.source is not None:
            q &= Q(**{f"{prefix}source": SOURCES[self.f.source]})
        if self.attr is not None:
            q &= self.attribute_filter(prefix)
        if date_field:
            q &= Q(**{f"{prefix}{date_field}__gte": self.f.start, f"{prefix}{date_field}__lt": self.f.end})
        if where and self.level is not None:
            q &= Q(**{f"{prefix}level": self.level})
        if where and self.team is not None:
            q &= Q(**{f"{prefix}team": self.team})
        return q

    def attribute_filter(self, prefix: str = "") -> Q:
        """Cases (or rows of a relation to them) whose attribute has the filter's value: the
        ids come from an index-only lookup on (key, value, case)."""
        if self.attr is None:
            return Q()
        key, value = self.attr
        ids = CaseAttribute.objects.filter(key=key, value=value).values("case_id")
        return Q(**{f"{prefix}pk__in": ids})

    def cases(self, date_field: str | None = "opened_at") -> QuerySet:
        """Cases matching the filters; with ``date_field``, only those with it in the range.
        Level and team are where the case is now (or was when it was resolved)."""
        return Case.objects.filter(self.case_filter("", date_field, where=True)).order_by()

    def handoff_case_filter(self) -> Q:
        """The case filters on handoffs: category, priority and source through the copies each
        handoff carries (no case row is read), attributes through the case."""
        q = Q()
        if self.category is not None:
            q &= Q(case_category_id=self.category.pk)
        if self.f.priority is not None:
            q &= Q(case_priority=self.f.priority)
        if self.f.source is not None:
            q &= Q(case_source=SOURCES[self.f.source])
        if self.attr is not None:
            q &= self.attribute_filter("case__")
        return q

    def handoff_filter(self) -> Q:
        """The filters on handoffs: the case filters, and the level and team at either end."""
        q = self.handoff_case_filter()
        if self.level is not None:
            q &= Q(from_level=self.level) | Q(to_level=self.level)
        if self.team is not None:
            q &= Q(from_team=self.team) | Q(to_team=self.team)
        return q

    def handoffs_of_cases(self) -> QuerySet:
        """Every handoff (whenever raised) of the cases opened in the range, read from each
        handoff's copy of its case's opening moment (``escalation_report_cover`` holds what
        the speed report needs)."""
        qs = Escalation.objects.filter(case_opened_at__gte=self.f.start, case_opened_at__lt=self.f.end).order_by()
        return qs.filter(self.handoff_filter())

    def handoffs_of_held_cases(self) -> QuerySet:
        """Every handoff of the cases ``cases()`` selects: under a team filter (and a level
        with it), the cases held there now (read through the case rows), for ``speed``'s
        time at each level, which adds each case's handoffs to its own figures. Only the
        cases with a handoff are joined (``handoff_count``, kept with the handoffs): the
        team's index carries the count and the case's handoffs are read by case through
        theirs, both index-only, instead of every handoff of the range."""
        qs = Escalation.objects.filter(
            self.handoff_case_filter(),
            case_opened_at__gte=self.f.start,
            case_opened_at__lt=self.f.end,
            case__handoff_count__gt=0,
        )
        if self.level is not None:
            qs = qs.filter(case__level=self.level)
        if self.team is not None:
            qs = qs.filter(case__team=self.team)
        return qs.order_by()

    def escalations(self) -> QuerySet:
        """Handoffs raised in the range."""
        qs = Escalation.objects.filter(created_at__gte=self.f.start, created_at__lt=self.f.end).order_by()
        return qs.filter(self.handoff_filter())

    def trunc(self, field_name: str):
        return PERIODS[self.f.bucket](field_name)

    def periods(self) -> list[date]:
        """Every bucket start in the range, so quiet periods show as zero, not as gaps."""
        bucket, day = self.f.bucket, self.f.date_from
        if bucket == "week":
            day -= timedelta(days=day.weekday())
        elif bucket == "month":
            day = day.replace(day=1)
        out = []
        while day <= self.f.date_to:
            out.append(day)
            if bucket == "day":
                day += timedelta(days=1)
            elif bucket == "week":
                day += timedelta(days=7)
            else:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return out

    def team_names(self, ids) -> dict:
        return dict(Team.objects.filter(pk__in=[i for i in ids if i]).order_by().values_list("pk", "name"))


def default_range(source: str | None, today: date, days: int) -> tuple[date, date]:
    """The range a report opens on: an imported source's own data range (its log ended long
    ago; the last weeks would show nothing), else the last ``days`` days."""
    known = ImportedSource.objects.filter(source=SOURCES.get(source or "", "") or "-").first()
    if known is not None:
        return timezone.localtime(known.first_at).date(), timezone.localtime(known.last_at).date()
    return today - timedelta(days=days), today


def with_clock_note(scope: Scope, tables: list[Table]) -> list[Table]:
    """Say on every SLA table which clock an imported source's figures use."""
    note = scope.clock_note()
    for t in tables if note else []:
        t.note = f"{t.note} {note}".strip()
    return tables


def count_cases(q: Q | None = None) -> Count:
    """How many cases (matching ``q``). Counts ``opened_at``: never NULL, and the key of each
    report index, so the count needs no other column (the narrow index has no ``id``)."""
    return Count("opened_at", filter=q)


def period_key(value) -> date | None:
    """A truncated moment as the local date of its bucket."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def hours(seconds) -> float | None:
    """Hours to two decimals, from whole seconds (so SQLite's day-fraction arithmetic and
    PostgreSQL's epochs round alike)."""
    return None if seconds is None else round(round(seconds) / 3600.0, 2)


def pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    build: Callable[[Scope], list[Table]]
    refresh: int = 0  # seconds: the page refreshes its tables by itself (0: never)
    # A one-line JSON summary of a result (the forecast's evaluation); ``report`` prints it last.
    summary: Callable[[Result], dict] | None = None
    default_days: int = 0  # the range a live report opens on, if not the command's or page's own
    compare: tuple[str, ...] = ()  # the measures of its breakdown table (``breakdown.MEASURES``)
    population: str = "opened"  # the breakdown's cases: "opened" in the range, or "open" now
    # Keep the tables for the rest of the day (``reports.cache``): figures that change once a
    # day and cost seconds to compute (the forecast).
    daily: bool = False

    def run(self, filters: Filters) -> Result:
        """Compute every table in one read-only transaction: one consistent snapshot on
        PostgreSQL, memory for hash aggregates, no JIT compilation (it costs more than it
        saves on queries of a few hundred milliseconds), and no plan-level sorts: the planner
        cannot estimate groups of ``date_trunc(...)`` or of histogram buckets and assumes one
        per row, so it would sort a million rows to build a few hundred groups instead of
        hashing them. (Every report queryset clears its ordering for the same reason.)"""
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    if outermost:
                        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cur.execute("SET LOCAL work_mem = '64MB'")
                    cur.execute("SET LOCAL jit = off")
                    cur.execute("SET LOCAL enable_sort = off")
            scope = Scope(filters)
            digest = cache.key(self.name, scope) if self.daily else None
            kept = cache.get(digest) if digest else None
            if kept is not None:
                return Result(self, filters, kept)
            tables = self.build(scope)
            for extra in EXTRA_TABLES:
                tables.extend(extra(self, scope))
        if digest:  # written after the read-only transaction
            cache.put(digest, self.name, scope, tables)
        return Result(self, filters, tables)


REGISTRY: dict[str, Report] = {}
# Tables any report may add on request, registered by their modules like the reports
# (``breakdown``: the comparison table of ``Filters.by``): ``(report, scope) -> tables``.
EXTRA_TABLES: list[Callable[[Report, Scope], list[Table]]] = []


def report(
    name: str,
    title: str,
    description: str,
    refresh: int = 0,
    summary: Callable[[Result], dict] | None = None,
    default_days: int = 0,
    compare: tuple[str, ...] = (),
    population: str = "opened",
    daily: bool = False,
):
    def register(fn: Callable[[Scope], list[Table]]):
        REGISTRY[name] = Report(
            name,
            title,
            description,
            fn,
            refresh,
            summary=summary,
            default_days=default_days,
            compare=compare,
            population=population,
            daily=daily,
        )
        return fn

    return register

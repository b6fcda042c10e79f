"""What a risk model may know about a case: only what was known when the case was opened.

Leakage is the trap here, so the rules are explicit:
- The case's own fields are read as they were at intake, from its first history row
  (``history_type = "+"``); imported UCI cases, for one, carry the priority of their last
  event on the case row. Counts accumulated later (reassignments, reopens, escalations,
  the highest level) and every resolution or closing time are labels, never features.
- "Past rate" features (how often this category / requester / team breached or escalated)
  count only cases RESOLVED (or closed) strictly before this case was OPENED, through a
  time-ordered running aggregate. A case's label is known at its resolution, not before
  (the resolution clock stops there; the closing may come days later).
- Category one-hot columns and the scaling come from the training rows only.

Labels:
- breach: ``resolution_breached_at`` is set, or the source system said the SLA was missed
  (``source_made_sla is False``, imported UCI cases).
- escalation: ``escalation_count > 0`` or the highest level is above the intake level.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Min, QuerySet
from django.utils import timezone

from escalations.intelligence.text import features as text_features
from escalations.intelligence.text.train import text_of
from escalations.models import OPEN_STATUSES, Case, CaseStatus, Category, Escalation, EscalationKind, Level, Team
from escalations.models.choices import Complexity, CustomerTier, Impact, Priority, Urgency

TARGETS = ("breach", "escalation")
TEXT_NAMES = ["text:priority", "text:level"]  # the text classifier's columns (``text_columns``)
TOP_CATEGORIES = 12
SMOOTHING = 10.0  # pseudo-cases of the overall past rate mixed into each group's rate
RATE_KINDS = ("category", "requester", "team")
DESK_COLUMNS = ("requester_open", "requester_breaches_90d", "org_open", "org_breaches_90d", "team_load")
FAR = datetime.max.replace(tzinfo=UTC)
WORKDAY = (8, 18)  # local hours; outside them a case is "opened out of hours"


@dataclass
class Row:
    """One case as known at intake, plus (for closed cases) its labels."""

    id: int
    opened_at: datetime
    closed_at: datetime | None
    priority: int
    impact: int
    urgency: int
    complexity: str
    customer_tier: str
    business_impact: int
    category: str  # category id as text
    category_name: str
    requester: str
    team: str  # intake team id as text, "" when none
    team_name: str
    level_rank: int
    level_code: str
    breach: bool = False
    escalation: bool = False
    past: dict = field(default_factory=dict)  # kind -> (hits, n), filled by ``past_rates``
    due_at: datetime | None = None  # the resolution deadline
    breached_at: datetime | None = None
    escalated_at: datetime | None = None  # the first move up
    org: str = ""  # the requester's organisation: the e-mail domain ("" for imported cases)
    capacity: int = 0  # the intake team's capacity
    load: dict = field(default_factory=dict)  # the desk at opening, filled by ``desk_at_opening``
    resolved_at: datetime | None = None  # the (last) resolution: the breach outcome is known from then
    text: str = ""  # title and description, as the text classifier reads them
    text_labels: dict = field(default_factory=dict)  # the text heads' labels: priority, level id (final)
    text_columns: dict = field(default_factory=dict)  # "text:priority" etc., filled by ``text_columns``

    def label(self, target: str) -> bool:
        return self.breach if target == "breach" else self.escalation

    def done_at(self) -> datetime | None:
        """When the SLA outcome was settled: the resolution (the resolution clock stops
        there), else the closing. A case is often closed days after it was resolved (BPIC
        2013: resolved in under an hour, closed five days later), so the closing is not it."""
        return min((t for t in (self.resolved_at, self.closed_at) if t is not None), default=None)

    def label_at(self, target: str, cut: datetime) -> bool | None:
        """The label as it was known at ``cut`` (censoring): a case resolved (or closed) by
        then has its final label; one still unresolved then counts as a breach if its
        deadline had already passed (as escalated if it had already moved up), and is left out
        (None) otherwise: its outcome was not known yet."""
        if self.closed_at is not None and self.closed_at <= cut:
            return self.label(target)
        done = self.done_at()
        if target == "breach":
            if self.breached_at and self.breached_at <= cut:
                return True
            if done is not None and done <= cut:
                return self.breach
            return True if self.due_at and self.due_at <= cut else None
        if self.escalated_at and self.escalated_at <= cut:
            return True
        if done is not None and done <= cut:  # resolved, not closed yet: a later move up was not known
            return self.escalation and self.escalated_at is None
        return None

    def key(self, kind: str) -> str:
        return {"category": self.category, "requester": self.requester, "team": self.team}[kind]


def org_key(email: str) -> str:
    """The organisation: the requester's e-mail domain (an imported placeholder has none)."""
    domain = (email or "").strip().lower().rpartition("@")[2]
    return "" if not domain or domain.endswith(".invalid") else domain


def requester_key(name: str, email: str) -> str:
    """A digest, not the address: the rate tables are stored in the model's parameters."""
    email = (email or "").strip().lower()
    key = email if email and not email.endswith(".invalid") else (name or "").strip().lower()  # imported: placeholder
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""


# -- loading ---------------------------------------------------------------------------------


def closed_cases(source: str = "all") -> QuerySet:
    qs = Case.objects.filter(status=CaseStatus.CLOSED, closed_at__isnull=False)
    return filter_source(qs, source)


def training_cases(source: str = "all") -> QuerySet:
    """Every case, closed or not: training uses each as it was known at the cut."""
    return filter_source(Case.objects.all(), source)


def filter_source(qs: QuerySet, source: str) -> QuerySet:
    if source == "all":
        return qs
    if source == "live":
        return qs.filter(source="")
    return qs.filter(source=source)


def load_rows(qs: QuerySet) -> list[Row]:
    """Rows for the cases of ``qs``, with intake values from each case's first history row
    and labels from the case as it is now; ordered by opening time."""
    levels = {lv.pk: lv for lv in Level.objects.all()}
    teams = dict(Team.objects.values_list("pk", "name"))
    capacities = dict(Team.objects.values_list("pk", "capacity"))
    categories = dict(Category.objects.values_list("pk", "name"))
    cases = list(
        qs.values(
            "id",
            "opened_at",
            "closed_at",
            "resolved_at",
            "requester_name",
            "requester_email",
            "escalation_count",
            "highest_level_id",
            "resolution_breached_at",
            "resolution_due_at",
            "source_made_sla",
            "priority",
            "impact",
            "urgency",
            "complexity",
            "customer_tier",
            "business_impact",
            "category_id",
            "team_id",
            "level_id",
            "title",
            "description",
            "source",
        )
    )
    intake = {}
    first = (
        Case.history.model.objects.filter(history_type="+", id__in=qs.values("id"))
        .order_by("history_date", "history_id")
        .values(
            "id",
            "priority",
            "impact",
            "urgency",
            "complexity",
            "customer_tier",
            "business_impact",
            "category_id",
            "team_id",
            "level_id",
        )
    )
    for h in first.iterator(chunk_size=5000):
        intake.setdefault(h["id"], h)
    ups = Escalation.objects.filter(
        case_id__in=qs.values("id"), kind__in=(EscalationKind.ESCALATE, EscalationKind.JUMP)
    )
    escalated = dict(ups.order_by().values("case_id").annotate(first=Min("created_at")).values_list("case_id", "first"))
    rows = []
    for c in cases:
        at = intake.get(c["id"], c)  # no history row (rows written around history): the case itself
        level = levels.get(at["level_id"]) or levels.get(c["level_id"])
        highest = levels.get(c["highest_level_id"])
        rows.append(
            Row(
                id=c["id"],
                opened_at=c["opened_at"],
                closed_at=c["closed_at"],
                priority=at["priority"],
                impact=at["impact"],
                urgency=at["urgency"],
                complexity=at["complexity"],
                customer_tier=at["customer_tier"],
                business_impact=at["business_impact"] or 0,
                category=str(at["category_id"]),
                category_name=categories.get(at["category_id"], "?"),
                requester=requester_key(c["requester_name"], c["requester_email"]),
                team=str(at["team_id"] or ""),
                team_name=teams.get(at["team_id"], ""),
                level_rank=level.rank if level else 1,
                level_code=level.code if level else "?",
                breach=c["resolution_breached_at"] is not None or c["source_made_sla"] is False,
                escalation=c["escalation_count"] > 0 or bool(highest and level and highest.rank > level.rank),
                due_at=c["resolution_due_at"],
                breached_at=c["resolution_breached_at"],
                escalated_at=escalated.get(c["id"]),
                org=org_key(c["requester_email"]),
                capacity=capacities.get(at["team_id"], 0),
                resolved_at=c["resolved_at"],
                text=text_of(c["title"], c["description"], c["source"])[: text_features.MAX_CHARS],
                text_labels={"priority": c["priority"], "level": c["level_id"]},
            )
        )
    rows.sort(key=lambda r: (r.opened_at, r.id))
    return rows


# -- the desk at opening: open cases and recent breaches per requester, organisation, team --

LOAD_KINDS = ("requester", "org")
BREACH_WINDOW = timedelta(days=90)


def _breach_known_at(h: Row) -> datetime | None:
    """When a breach became known: its moment on our clock, else (a source system's verdict)
    the resolution."""
    if h.breached_at is not None:
        return h.breached_at
    return h.done_at() if h.breach else None


def desk_at_opening(rows: list[Row], history: list[Row]) -> None:
    """Set ``row.load``, from the ``history`` cases only as they stood when the row was
    opened: per requester and organisation, the cases open then (opened before, not resolved
    by then: a resolved case awaiting its closing is not open work, as on the live desk) and the breaches that became known in the 90 days before; the intake team's
    open cases then against its capacity. One time-ordered pass with heaps of closings."""
    events = sorted(
        [(h.opened_at, 0, i) for i, h in enumerate(history)]
        + [(b, 1, i) for i, h in enumerate(history) if (b := _breach_known_at(h)) is not None],
        key=lambda e: (e[0], e[1], e[2]),
    )
    open_by: dict[tuple[str, str], list] = {}
    breaches_by: dict[tuple[str, str], list] = {}
    ev = 0
    for row in sorted(rows, key=lambda r: (r.opened_at, r.id)):
        while ev < len(events) and events[ev][0] < row.opened_at:
            at, kind, i = events[ev]
            h = history[i]
            for key in (("requester", h.requester), ("org", h.org), ("team", h.team)):
                if not key[1]:
                    continue
                if kind == 0:
                    heapq.heappush(open_by.setdefault(key, []), h.done_at() or FAR)  # open until resolved
                elif key[0] != "team":
                    breaches_by.setdefault(key, []).append(at)
            ev += 1
        load = {}
        for kind, value in (("requester", row.requester), ("org", row.org), ("team", row.team)):
            heap = open_by.get((kind, value), []) if value else []
            while heap and heap[0] <= row.opened_at:
                heapq.heappop(heap)
            load[f"{kind}_open"] = len(heap)
            if kind != "team":
                recent = breaches_by.get((kind, value), []) if value else []
                since = row.opened_at - BREACH_WINDOW
                while recent and recent[0] < since:
                    recent.pop(0)
                load[f"{kind}_breaches_90d"] = len(recent)
        load["team_load"] = load.pop("team_open") / row.capacity if row.capacity else 0.0
        row.load = load


def desk_now(rows: list[Row], now: datetime, snapshot: dict | None = None) -> dict:
    """``row.load`` for open cases scored now, from the database as it is (grouped queries,
    run once: pass the returned snapshot back for the next batch)."""
    snapshot = snapshot or _desk_snapshot(now)
    by_requester, by_org, br_requester, br_org, team_open = (
        snapshot[k] for k in ("by_requester", "by_org", "br_requester", "br_org", "team_open")
    )
    for row in rows:
        mine = 1  # the case itself is open now; at its opening it was not yet counted
        row.load = {
            "requester_open": max(0, by_requester.get(row.requester, 0) - mine) if row.requester else 0,
            "org_open": max(0, by_org.get(row.org, 0) - mine) if row.org else 0,
            "requester_breaches_90d": br_requester.get(row.requester, 0) if row.requester else 0,
            "org_breaches_90d": br_org.get(row.org, 0) if row.org else 0,
            "team_load": (team_open.get(int(row.team), 0) / row.capacity) if row.team and row.capacity else 0.0,
        }
    return snapshot


def _desk_snapshot(now: datetime) -> dict:
    from django.db.models import Count

    open_cases = Case.objects.filter(status__in=OPEN_STATUSES)
    by_requester, by_org = {}, {}
    for name, email, n in (
        open_cases.values_list("requester_name", "requester_email").annotate(n=Count("id")).order_by()
    ):
        key = requester_key(name, email)
        by_requester[key] = by_requester.get(key, 0) + n
        by_org[org_key(email)] = by_org.get(org_key(email), 0) + n
    br_requester, br_org = {}, {}
    since = now - BREACH_WINDOW
    breached = Case.objects.filter(resolution_breached_at__gte=since, resolution_breached_at__lt=now)
    for name, email, n in breached.values_list("requester_name", "requester_email").annotate(n=Count("id")).order_by():
        key = requester_key(name, email)
        br_requester[key] = br_requester.get(key, 0) + n
        br_org[org_key(email)] = br_org.get(org_key(email), 0) + n
    team_open = dict(open_cases.values("team_id").annotate(n=Count("id")).values_list("team_id", "n").order_by())
    return {
        "by_requester": by_requester,
        "by_org": by_org,
        "br_requester": br_requester,
        "br_org": br_org,
        "team_open": team_open,
    }


def hours_to_end_of_day(opened_at: datetime) -> float:
    """Working hours left in the opening day (0 out of hours and at the weekend)."""
    local = timezone.localtime(opened_at)
    if local.weekday() >= 5 or not WORKDAY[0] <= local.hour < WORKDAY[1]:
        return 0.0
    return WORKDAY[1] - local.hour - local.minute / 60


# -- past rates: a time-ordered running aggregate ------------------------------------------


def past_rates(rows: list[Row], history: list[Row], target: str) -> None:
    """Set ``row.past[kind] = (hits, n)`` for each row: the ``target`` labels of the
    ``history`` cases with the same category / requester / team that were resolved (or
    closed) strictly before the row was opened; ``row.past["all"]`` counts every such case."""
    closings = sorted((h for h in history if h.done_at() is not None), key=lambda h: (h.done_at(), h.id))
    counts: dict[tuple[str, str], list[int]] = {}
    overall = [0, 0]
    i = 0
    for row in sorted(rows, key=lambda r: (r.opened_at, r.id)):
        while i < len(closings) and closings[i].done_at() < row.opened_at:
            h = closings[i]
            hit = int(h.label(target))
            overall[0] += hit
            overall[1] += 1
            for kind in RATE_KINDS:
                key = h.key(kind)
                if key:
                    c = counts.setdefault((kind, key), [0, 0])
                    c[0] += hit
                    c[1] += 1
            i += 1
        row.past = {kind: tuple(counts.get((kind, row.key(kind)), (0, 0))) for kind in RATE_KINDS}
        row.past["all"] = tuple(overall)


def rate_tables(history: list[Row], target: str) -> dict:
    """Every group's (hits, n) over all of ``history``: what an open case may know today."""
    tables: dict = {kind: {} for kind in RATE_KINDS}
    overall = [0, 0]
    for h in history:
        hit = int(h.label(target))
        overall[0] += hit
        overall[1] += 1
        for kind in RATE_KINDS:
            key = h.key(kind)
            if key:
                c = tables[kind].setdefault(key, [0, 0])
                c[0] += hit
                c[1] += 1
    tables["all"] = overall
    return tables


def rates_from_tables(row: Row, tables: dict) -> None:
    row.past = {kind: tuple(tables[kind].get(row.key(kind), (0, 0))) for kind in RATE_KINDS}
    row.past["all"] = tuple(tables["all"])


def smoothed(hits: int, n: int, overall: tuple[int, int]) -> float:
    prior = (overall[0] + 1) / (overall[1] + 2)
    return (hits + SMOOTHING * prior) / (n + SMOOTHING)


# -- the feature vector ----------------------------------------------------------------------


def make_spec(train_rows: list[Row]) -> dict:
    """The columns, decided from the training rows only (the top categories)."""
    freq: dict[str, int] = {}
    for r in train_rows:
        freq[r.category] = freq.get(r.category, 0) + 1
    top = sorted(freq, key=lambda k: (-freq[k], k))[:TOP_CATEGORIES]
    names = (
        [f"priority:{p}" for p in Priority.values]
        + [f"impact:{v}" for v in Impact.values]
        + [f"urgency:{v}" for v in Urgency.values]
        + [f"complexity:{v}" for v in Complexity.values]
        + [f"tier:{v}" for v in CustomerTier.values]
        + ["business_impact", "level_rank", "out_of_hours", "weekend"]
        + [f"category:{c}" for c in top]
        + ["category:other"]
        + [f"past_rate:{k}" for k in RATE_KINDS]
        + [f"desk:{k}" for k in DESK_COLUMNS]
        + ["hours_to_end_of_day"]
        + (TEXT_NAMES if any(r.text_columns for r in train_rows) else [])
    )
    return {"names": names, "categories": top}


def vector(row: Row, spec: dict) -> list[float]:
    local = timezone.localtime(row.opened_at)
    cat = row.category if row.category in spec["categories"] else "other"
    on = {
        f"priority:{row.priority}",
        f"impact:{row.impact}",
        f"urgency:{row.urgency}",
        f"complexity:{row.complexity}",
        f"tier:{row.customer_tier}",
        f"category:{cat}",
    }
    if not WORKDAY[0] <= local.hour < WORKDAY[1]:
        on.add("out_of_hours")
    if local.weekday() >= 5:
        on.add("weekend")
    values = {"business_impact": float(row.business_impact), "level_rank": float(row.level_rank)}
    values["hours_to_end_of_day"] = hours_to_end_of_day(row.opened_at)
    for k in DESK_COLUMNS:
        values[f"desk:{k}"] = float(row.load.get(k, 0))
    values.update(row.text_columns)
    for kind in RATE_KINDS:
        values[f"past_rate:{kind}"] = smoothed(*row.past.get(kind, (0, 0)), row.past.get("all", (0, 0)))
    return [values[n] if n in values else (1.0 if n in on else 0.0) for n in spec["names"]]


def matrix(rows: list[Row], spec: dict) -> list[list[float]]:
    return [vector(r, spec) for r in rows]


# -- reasons in words ------------------------------------------------------------------------

VERB = {"breach": "breached the SLA", "escalation": "were escalated"}
MIN_HISTORY = 3  # a past rate over fewer closed cases is not worth a sentence


def describe(name: str, row: Row, target: str) -> str | None:
    """A short phrase for a feature that pushed this case's risk up; None for a column
    that is off for this case (we explain what the case is, not what it is not), and for a
    past rate that is thin or not above the overall past rate."""
    kind, _, value = name.partition(":")
    if kind == "past_rate":
        hits, n = row.past.get(value, (0, 0))
        all_hits, all_n = row.past.get("all", (0, 0))
        if n < MIN_HISTORY or (all_n and hits / n <= all_hits / all_n):
            return None
        who = {
            "category": f"category {row.category_name} cases",
            "requester": "this requester's cases",
            "team": f"team {row.team_name or '?'} cases",
        }[value]
        return f"{who} {VERB[target]} {round(100 * hits / n)} % of the time ({hits} of {n} closed)"
    if name == "business_impact":
        return f"business impact {row.business_impact} of 3" if row.business_impact else None
    if name == "level_rank":
        return f"opened at level {row.level_code}"
    if kind == "desk":
        v = row.load.get(value, 0)
        if not v:
            return None
        return {
            "requester_open": f"the requester has {v} other open case(s)",
            "requester_breaches_90d": f"{v} of the requester's cases breached in the last 90 days",
            "org_open": f"{v} other open case(s) from {row.org}",
            "org_breaches_90d": f"{v} breach(es) for {row.org} in the last 90 days",
            "team_load": f"team {row.team_name or '?'} at {round(100 * v)} % of its capacity",
        }[value]
    if name == "hours_to_end_of_day" or kind == "text":
        return None  # a column, not a reason in words
    if name == "out_of_hours":
        return "opened out of working hours"
    if name == "weekend":
        return "opened at the weekend"
    if kind == "category":
        return f"category {row.category_name}" if value != "other" else "a less common category"
    labels = {
        "priority": lambda v: f"priority {Priority(int(v)).label}",
        "impact": lambda v: f"impact {Impact(int(v)).label.lower()}",
        "urgency": lambda v: f"urgency {Urgency(int(v)).label.lower()}",
        "complexity": lambda v: f"complexity {Complexity(v).label.lower()}",
        "tier": lambda v: f"customer tier {CustomerTier(v).label}",
    }
    return labels[kind](value) if kind in labels else name


def is_on(name: str, x: float) -> bool:
    kind = name.partition(":")[0]
    return kind in ("past_rate", "business_impact", "level_rank") or x != 0.0  # desk: 0 = off

"""What both event-log importers share: reading a gzipped CSV with line numbers and a
progress fraction, grouping rows by incident, replaying an incident's events onto a
case, and writing batches of cases, handoffs and history rows in bulk.

Imported cases are past facts with their own timestamps, so they are written directly,
not through ``escalations.workflow``: the workflow stamps ``now`` on every change, checks
the acting user's permissions, sends notifications and schedules SLA checks, none of
which applies to an incident closed years ago. The replay still moves the case with
the model's own helpers (``_enter_level``, ``_respond``, ``_end_pause``) and computes the
SLA clock with ``escalations.clock``, so an imported case carries the same fields, with
the same meaning, as a live one, and the reports treat both alike.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from escalations.domain import clock
from escalations.models import CaseStatus, Category, Level, SlaPolicy, Team
from escalations.models.attributes import KEY_MAX, VALUE_MAX

S = CaseStatus
QUEUED = "queued"  # waiting in a queue: "escalated" after a move up, else new / in progress
DONE = (S.RESOLVED, S.CLOSED)
WORKED = (S.IN_PROGRESS, S.AWAITING_CUSTOMER, S.RESOLVED, S.CLOSED)


class LogFormatError(Exception):
    """The file is not the expected log at all (missing columns)."""


@dataclass
class Event:
    line: int
    at: datetime
    status: str  # a CaseStatus value or QUEUED
    label: str  # the source's own words, kept in the history row's reason
    level: str | None = None  # level code; None keeps the current one
    team: str | None = None  # team name; None keeps the current one
    priority: int | None = None
    impact: int | None = None
    urgency: int | None = None
    wait: str = ""  # a WaitKind value while the log says the incident waits on someone
    actor: str = ""  # the log's person who made this change (BPIC ``Resource``, UCI ``sys_updated_by``)
    assignee: str | None = None  # who holds the case afterwards; None keeps the current one, "" nobody


@dataclass
class Incident:
    external_id: str
    events: list[Event]
    title: str
    description: str
    requester_name: str
    category: tuple[str, str]  # code, name
    impact: int
    urgency: int
    priority: int
    opened_at: datetime | None = None
    # The source's own figures, when it has them, win over what the replay derives.
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int | None = None
    reassignment_count: int | None = None
    made_sla: bool | None = None
    # The log's own attributes of the incident (product, country, ...): report filters and
    # breakdowns (``CaseAttribute``). Keys are short lower-case words; empty values are left out.
    attributes: dict[str, str] = field(default_factory=dict)

    def people(self) -> set[str]:
        return {name for ev in self.events for name in (ev.actor, ev.assignee) if name}


@dataclass
class BadRow:
    line: int
    reason: str
    incident: str = ""  # the incident the row belongs to, when it has an id


@dataclass
class Summary:
    source: str
    rows: int = 0
    incidents: int = 0
    created: int = 0
    skipped: int = 0
    escalations: Counter = field(default_factory=Counter)  # "escalate", "jump", "returned", ...
    history_rows: int = 0
    teams_created: int = 0
    categories_created: int = 0
    people_created: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    # Incidents written although some of their rows were bad (``skip_bad_rows`` only): the
    # case lacks those rows' events, and a re-run skips it by id, so they are named.
    incomplete: list[str] = field(default_factory=list)


class LogReader:
    """Rows of a gzipped (or plain) CSV with their line numbers; ``fraction`` is how much of
    the file has been read, from the position in the compressed file.

    Lines are decoded one by one (UTF-8, a BOM allowed on the first), so undecodable bytes
    are reported on their own line; ``csv`` parses the decoded lines."""

    READ_ERRORS = (csv.Error, EOFError, OSError, zlib.error)

    def __init__(self, path: str):
        self.path = path
        self.size = os.path.getsize(path) or 1
        self.raw = open(path, "rb")
        gz = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(-1, os.SEEK_END)
        cut = not gz and self.raw.read(1) not in (b"\n", b"\r")  # a plain file cut mid-row
        self.raw.seek(0)
        self.binary = gzip.GzipFile(fileobj=self.raw) if gz else self.raw
        self.physical = 0  # physical lines read so far
        self._record: list[str] = []  # the physical lines of the record being read
        self.reader = csv.reader(self._lines(), strict=True)
        try:
            self.header = self._next()
        except StopIteration:
            self.close()
            raise LogFormatError(f"{path} is empty.") from None
        except self.READ_ERRORS as exc:
            self.close()
            raise LogFormatError(f"{path}, line {self._error_line(exc)}: unreadable ({exc}).") from None
        if cut:
            self.close()
            raise LogFormatError(f"{path}: the last line is cut short (no line end); was the file cut?")

    def _lines(self) -> Iterator[str]:
        for data in self.binary:
            self.physical += 1
            try:
                line = data.decode("utf-8-sig" if self.physical == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise csv.Error(
                    f"undecodable bytes {data[exc.start : exc.start + 4]!r} at column {exc.start + 1}; "
                    "the file is not UTF-8 or is damaged"
                ) from None
            self._record.append(line)
            yield line

    def _next(self) -> list[str]:
        self._record.clear()
        row = next(self.reader)
        self._check_quotes(row)
        return row

    def _check_quotes(self, row: list[str]) -> None:
        """A quote inside an unquoted field (``Swe"den``) is read by ``csv`` as data, so a
        damaged or badly quoted file would import quietly: a field holding a quote must
        appear quoted (``"Swe""den"``) in the record's own text."""
        raw = None
        for value in row:
            if '"' in value:
                raw = raw if raw is not None else "".join(self._record)
                if '"' + value.replace('"', '""') + '"' not in raw:
                    shown = value if len(value) <= 60 else value[:57] + "..."
                    raise csv.Error(f"a stray quote inside the unquoted field {shown!r}")

    def _error_line(self, exc: Exception) -> int:
        """The line a read error is on: the record's first line for what ``csv`` or the
        quote check found, the next line for a file that ended or broke while reading."""
        if isinstance(exc, csv.Error) and self._record:
            return self.physical - len(self._record) + 1
        return self.physical if isinstance(exc, csv.Error) else self.physical + 1

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """A damaged file (truncated gzip, undecodable bytes, a quote left open or stray
        inside a field, a field over the CSV limit) ends in ``LogFormatError`` naming the
        line, not a traceback."""
        while True:
            try:
                row = self._next()
            except StopIteration:
                return
            except self.READ_ERRORS as exc:
                raise LogFormatError(f"{self.path}, line {self._error_line(exc)}: unreadable ({exc}).") from None
            if row:
                yield self.reader.line_num, row

    def fraction(self) -> float:
        return min(self.raw.tell() / self.size, 1.0)

    def close(self) -> None:
        self.binary.close()
        self.raw.close()


def about(incident: str, bad: Callable[[BadRow], None]) -> Callable[[BadRow], None]:
    """``bad`` for the rows of one incident: each reported row names it."""
    return lambda row: bad(BadRow(row.line, row.reason, incident))


def grouped(
    rows: Iterable[tuple[int, list[str]]], key_index: int, bad: Callable[[BadRow], None]
) -> Iterator[tuple[str, list[tuple[int, list[str]]]]]:
    """Runs of rows with the same incident id. Both logs list an incident's rows together;
    a run for an id that already ended is reported, not merged silently."""
    ended: dict[str, int] = {}
    key, run = None, []
    for line, row in rows:
        k = row[key_index].strip() if len(row) > key_index else ""
        if not k:
            bad(BadRow(line, "no incident id"))
            continue
        if k != key:
            if run:
                yield key, run
                ended[key] = run[0][0]
            key, run = k, []
        if k in ended:
            reason = f"incident {k} already appeared from line {ended[k]}; an incident's rows must be together"
            bad(BadRow(line, reason, k))
            continue
        run.append((line, row))
    if run:
        yield key, run


def username(name: str, source: str) -> str:
    """The user standing for a log's person: ``fr-Frederic@bpic2013`` (the characters a
    username allows, at most 150)."""
    clean = re.sub(r"[^\w.+-]", "_", name.strip())[:100] or "_"
    return f"{clean}@{source}"


def attribute_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:KEY_MAX]


def attributes(pairs: Iterable[tuple[str, str]], missing: tuple[str, ...] = ("", "?")) -> dict[str, str]:
    """The log's attributes as ``CaseAttribute`` keys and values, without the missing ones."""
    return {attribute_key(k): v.strip()[:VALUE_MAX] for k, v in pairs if v.strip() not in missing}


def require_columns(header: list[str], names: Iterable[str], path: str) -> dict[str, int]:
    index = {}
    for i, name in enumerate(header):
        index.setdefault(name.strip(), i)
    missing = [n for n in names if n not in index]
    if missing:
        raise LogFormatError(f"{path}: missing columns {', '.join(missing)}; is this the right --format?")
    return index


class Context:
    """Lookups shared by a whole import: levels, teams and categories (created on first
    sight), and the policy snapshot every imported case carries."""

    def __init__(self, source: str, label: str, summary: Summary):
        self.source, self.label, self.summary = source, label, summary
        self.levels = {lv.code: lv for lv in Level.objects.all()}
        self.ladder = sorted(self.levels.values(), key=lambda lv: lv.rank)
        self.teams: dict[str, Team] = {t.name: t for t in Team.objects.select_related("level")}
        self.categories: dict[str, Category] = {}
        self.people: dict[str, int] = {}  # the log's name -> user id
        self.snapshot = clock.freeze_policy(SlaPolicy.objects.select_related("calendar").default())
        self.now = timezone.now()

    def load_people(self, names: set[str]) -> None:
        """A user per person the log names, matched by username ``<name>@<source>`` or
        created without a login (inactive, no usable password): the acting person of the
        imported changes and the case's assignee, so per-agent figures work on imported
        data. One query for the known, one insert for the new, per batch."""
        wanted = {username(n, self.source): n for n in names if n not in self.people}
        if not wanted:
            return
        User = get_user_model()
        found = dict(User.objects.filter(username__in=wanted).values_list("username", "pk"))
        missing = [u for u in wanted if u not in found]
        if missing:
            User.objects.bulk_create(
                [User(username=u, first_name=wanted[u][:150], is_active=False, password="!") for u in missing],
                ignore_conflicts=True,
            )
            found = dict(User.objects.filter(username__in=wanted).values_list("username", "pk"))
            self.summary.people_created += len(missing)
        self.people.update({wanted[u]: pk for u, pk in found.items()})

    def person(self, name: str | None) -> int | None:
        return self.people.get(name) if name else None

    def team(self, name: str | None, level: Level) -> Team | None:
        if not name:
            return None
        team = self.teams.get(name)
        if team is None:
            team, created = Team.objects.get_or_create(name=name, defaults={"level": level})
            self.summary.teams_created += created
            self.teams[name] = team
        return team

    def category(self, code: str, name: str) -> Category:
        cat = self.categories.get(code)
        if cat is None:
            cat, created = Category.objects.get_or_create(code=code, defaults={"name": name})
            self.summary.categories_created += created
            self.categories[code] = cat
        return cat

    def steps(self, a: Level, b: Level) -> int:
        return self.ladder.index(b) - self.ladder.index(a)

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
import io
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from escalations.domain import clock
from escalations.models import CaseStatus, Category, Level, SlaPolicy, Team

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


@dataclass
class BadRow:
    line: int
    reason: str


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
    bad_rows: list[BadRow] = field(default_factory=list)


class LogReader:
    """Rows of a gzipped (or plain) CSV with their line numbers; ``fraction`` is how much of
    the file has been read, from the position in the compressed file."""

    def __init__(self, path: str):
        self.path = path
        self.size = os.path.getsize(path) or 1
        self.raw = open(path, "rb")
        gz = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(-1, os.SEEK_END)
        cut = not gz and self.raw.read(1) not in (b"\n", b"\r")  # a plain file cut mid-row
        self.raw.seek(0)
        binary = gzip.GzipFile(fileobj=self.raw) if gz else self.raw
        self.text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        self.reader = csv.reader(self.text, strict=True)
        try:
            self.header = next(self.reader)
        except StopIteration:
            raise LogFormatError(f"{path} is empty.") from None
        except (csv.Error, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
            raise LogFormatError(f"{path}, line 1 or near it: unreadable ({exc}).") from None
        if cut:
            raise LogFormatError(f"{path}: the last line is cut short (no line end); was the file cut?")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """A damaged file (truncated gzip, undecodable bytes, a quote left open, a field
        over the CSV limit) ends in ``LogFormatError`` naming the line, not a traceback."""
        while True:
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
                raise LogFormatError(f"{self.path}, line {self.reader.line_num + 1}: unreadable ({exc}).") from None
            if row:
                yield self.reader.line_num, row

    def fraction(self) -> float:
        return min(self.raw.tell() / self.size, 1.0)

    def close(self) -> None:
        self.text.close()


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
            bad(
                BadRow(line, f"incident {k} already appeared from line {ended[k]}; an incident's rows must be together")
            )
            continue
        run.append((line, row))
    if run:
        yield key, run


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
        self.snapshot = clock.freeze_policy(SlaPolicy.objects.select_related("calendar").default())
        self.now = timezone.now()

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

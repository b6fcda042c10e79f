"""UCI "Incident management process enriched event log" (a ServiceNow instance): one row
per update, with the source's own SLA verdict ``made_sla``.

Mapping decisions:
- The log has no support tiers: every case stays at L1, and ``assignment_group`` changes
  are reassignments between L1 teams ("UCI group <n>"). No escalation rows come from it.
- ``priority``, ``impact``, ``urgency`` 1..4 / 1..3 map directly (1 = critical / high);
  they may change along the way and the history shows each change.
- States: New -> new; Active -> in progress; Awaiting User Info / Evidence -> awaiting
  customer (the clock pauses); Awaiting Problem / Vendor -> in progress (our clock does not
  pause for them); Resolved -> resolved; Closed -> closed. Other states (``-100``) are bad
  rows.
- Waits (the "Waiting" report): Awaiting User Info / Evidence on the customer, Awaiting
  Vendor on a vendor, Awaiting Problem on another team (problem management).
- The incident's ``opened_at``, ``resolved_at``, ``closed_at``, ``reopen_count``,
  ``reassignment_count`` and ``made_sla`` (from its last row) are the source's own and win
  over what the replay derives; ``category`` is the last row's.
- People: ``sys_updated_by`` is the acting person of each row's change and
  ``assigned_to`` the case's assignee after it (``?``: nobody); a user ``<id>@uci``
  without a login stands for each.
- Attributes (report filters and breakdowns), from the last row, ``?`` left out:
  category, subcategory, symptom, location, contact type, configuration item, caller,
  opened by, assigned to, resolved by, closing code, vendor, problem, change (rfc),
  caused by, knowledge, priority confirmation, notify.
- The original file from the UCI repository reads as well: its ``incident_state`` and
  ``subcategory`` headers, ``INC``-prefixed numbers and "1 - Critical" style values.
- Times are ``D/M/YYYY HH:MM`` without a zone; they are read as UTC. Rows of an incident
  are replayed in ``sys_mod_count`` order (four incidents list them out of order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from escalations.importers.common import (
    BadRow,
    Event,
    Incident,
    LogReader,
    about,
    attributes,
    grouped,
    require_columns,
)
from escalations.models import CaseStatus, WaitKind

SOURCE = "uci"
LABEL = "UCI incident log"
S = CaseStatus

STATES = {
    "New": S.NEW,
    "Active": S.IN_PROGRESS,
    "Awaiting User Info": S.AWAITING_CUSTOMER,
    "Awaiting Evidence": S.AWAITING_CUSTOMER,
    "Awaiting Problem": S.IN_PROGRESS,
    "Awaiting Vendor": S.IN_PROGRESS,
    "Resolved": S.RESOLVED,
    "Closed": S.CLOSED,
}
WAITS = {
    "Awaiting User Info": WaitKind.CUSTOMER,
    "Awaiting Evidence": WaitKind.CUSTOMER,
    "Awaiting Vendor": WaitKind.VENDOR,
    "Awaiting Problem": WaitKind.INTERNAL,
}
COLUMNS = [
    "number",
    "ident_state",
    "reassignment_count",
    "reopen_count",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_at",
    "sys_updated_at",
    "contact_type",
    "location",
    "category",
    "u_symptom",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "resolved_at",
    "closed_at",
]
# The original file's headers, where the copy here renamed them.
ORIGINAL = {"incident_state": "ident_state"}
# Report attributes: (key, column) from the incident's last row; absent columns are skipped.
ATTRIBUTES = (
    ("category", "category"),
    ("subcategory", "subcategory"),
    ("symptom", "u_symptom"),
    ("location", "location"),
    ("contact_type", "contact_type"),
    ("cmdb_ci", "cmdb_ci"),
    ("caller", "caller_id"),
    ("opened_by", "opened_by"),
    ("assigned_to", "assigned_to"),
    ("resolved_by", "resolved_by"),
    ("closed_code", "closed_code"),
    ("vendor", "vendor"),
    ("problem_id", "problem_id"),
    ("rfc", "rfc"),
    ("caused_by", "caused_by"),
    ("knowledge", "knowledge"),
    ("priority_confirmation", "u_priority_confirmation"),
    ("notify", "notify"),
)


def _moment(text: str) -> datetime | None:
    text = text.strip()
    if text in ("", "?"):
        return None
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=UTC)


def _columns(header: list[str], path: str) -> dict[str, int]:
    """Column positions; the second ``category`` column is the subcategory."""
    header = [ORIGINAL.get(name.strip(), name) for name in header]
    col = require_columns(header, COLUMNS, path)
    later = [i for i, name in enumerate(header) if name.strip() in ("category", "subcategory")]
    col["subcategory"] = later[1] if len(later) > 1 else later[0]
    known = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
    for name in [name for _key, name in ATTRIBUTES] + ["sys_updated_by"]:
        if name not in col and name in known:
            col[name] = known[name]
    return col


def incidents(reader: LogReader, bad: Callable[[BadRow], None]) -> Iterator[Incident]:
    col = _columns(reader.header, reader.path)
    get = lambda row, name: row[col[name]].strip() if name in col and len(row) > col[name] else ""  # noqa: E731
    for number, run in grouped(reader.rows(), col["number"], bad):
        parsed = []
        bad_here = about(number, bad)
        for line, row in run:
            item = _event(line, row, get, bad_here)
            if item is not None:
                parsed.append((*item, row))
        if not parsed:
            continue
        parsed.sort(key=lambda item: item[0])
        events = [ev for _seq, ev, _row in parsed]
        last = parsed[-1][2]
        category = get(last, "category")
        counts = {}
        for name in ("reopen_count", "reassignment_count"):
            value = get(last, name)
            counts[name] = int(value) if value.isdigit() else None
        made = get(last, "made_sla").lower()
        try:
            opened, resolved, closed = (_moment(get(last, n)) for n in ("opened_at", "resolved_at", "closed_at"))
        except ValueError:
            opened = resolved = closed = None
            bad_here(BadRow(parsed[-1][1].line, "unreadable opened_at / resolved_at / closed_at; event times used"))
        yield Incident(
            external_id=number,
            events=events,
            title=f"UCI incident {number}",
            description=(
                f"Category {category}/{get(last, 'subcategory')}, symptom {get(last, 'u_symptom')}, "
                f"contact {get(last, 'contact_type')}, location {get(last, 'location')}."
            ),
            requester_name=f"Caller {get(last, 'caller_id')}",
            category=(f"uci-{category.lower()}"[:40] if category != "?" else "uci-unknown", f"UCI category {category}"),
            impact=events[-1].impact,
            urgency=events[-1].urgency,
            priority=events[-1].priority,
            opened_at=opened,
            resolved_at=resolved,
            closed_at=closed,
            made_sla={"true": True, "false": False}.get(made),
            attributes=attributes((key, get(last, name)) for key, name in ATTRIBUTES),
            **counts,
        )


def _event(line: int, row: list[str], get, bad) -> tuple[int, Event] | None:
    when = get(row, "sys_updated_at")
    try:
        at = _moment(when)
    except ValueError:
        at = None
    if at is None:
        bad(BadRow(line, f"unreadable sys_updated_at '{when}'"))
        return None
    state = get(row, "ident_state")
    if state not in STATES:
        bad(BadRow(line, f"unknown state '{state}'"))
        return None
    values = {}
    for name, top in (("priority", 4), ("impact", 3), ("urgency", 3)):
        raw = get(row, name).split(" - ")[0].strip()  # the original writes "1 - Critical"
        if not raw.isdigit() or not 1 <= int(raw) <= top:
            bad(BadRow(line, f"{name} '{raw}' is not 1..{top}"))
            return None
        values[name] = int(raw)
    seq = get(row, "sys_mod_count")
    group = get(row, "assignment_group")
    assigned = get(row, "assigned_to")
    return (int(seq) if seq.isdigit() else 0), Event(
        line=line,
        at=at,
        status=STATES[state],
        label=state,
        team=f"UCI group {group}" if group not in ("", "?") else None,
        wait=WAITS.get(state, ""),
        actor=get(row, "sys_updated_by") if get(row, "sys_updated_by") != "?" else "",
        assignee="" if assigned in ("", "?") else assigned,
        **values,
    )

"""BPI Challenge 2013 (Volvo IT incidents): one row per status change, with the support
line in ``ST Level``.

Mapping decisions:
- ``ST Level`` L1/L2/L3 are our L1/L2/L3. ``L2/L3`` (39 rows, all team "V13 2nd 3rd", a
  team serving both lines) counts as L2: nothing says the third line worked the case, and
  claiming L3 would overstate how far incidents climbed.
- ``SR Latest Impact`` Major/High/Medium/Low -> priority P1/P2/P3/P4; impact High for
  Major and High, Medium, Low; urgency High for Major, else Medium (so impact x urgency
  gives the same priority through ``priority_for``).
- Statuses: Accepted-In Progress/Assigned -> in progress; Accepted-Wait - User/Customer ->
  awaiting customer (the clock pauses); other waits (vendor, implementation, plain Wait)
  stay in progress, as our clock does not pause for them; Queued -> waiting in a queue
  (escalated when it follows a move up); Completed-Resolved -> resolved; Completed-Closed,
  In Call (solved during the call) and Cancelled -> closed; Unmatched -> in progress.
- Waits (the "Waiting" report): Wait - User / Customer on the customer, Wait - Vendor on a
  vendor, Wait - Implementation on another team, plain Wait on something else.
- Teams: ``Involved ST`` as "BPIC <name>", created at the level of the row it first
  appears on. A team change within a level is a reassignment.
- Category: ``Product``. Opening time: the first event (the log has no other).
- People: ``Resource`` (``fr-Frederic``, the owner's country and first name) is the acting
  person of each row's change and, on a row that works the case (Accepted, Completed,
  Unmatched), its assignee; a user ``fr-Frederic@bpic2013`` without a login stands for
  each. A move up is raised by the row's resource, accepted or returned by the next
  working row's.
- Attributes (report filters and breakdowns): ``product``, ``country`` (the same on every
  row of an incident), and from the first row ``org_line`` (Involved Org line 3),
  ``function_div`` (Involved ST Function Div) and ``owner_country``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from escalations.importers.common import (
    QUEUED,
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

SOURCE = "bpic2013"
LABEL = "BPIC 2013"
S = CaseStatus

LEVELS = {"L1": "L1", "L2": "L2", "L3": "L3", "L2/L3": "L2"}
IMPACT = {"Major": (1, 1, 1), "High": (1, 2, 2), "Medium": (2, 2, 3), "Low": (3, 2, 4)}  # impact, urgency, prio
STATUS = {
    ("Accepted", "In Progress"): S.IN_PROGRESS,
    ("Accepted", "Assigned"): S.IN_PROGRESS,
    ("Accepted", "Wait"): S.IN_PROGRESS,
    ("Accepted", "Wait - User"): S.AWAITING_CUSTOMER,
    ("Accepted", "Wait - Customer"): S.AWAITING_CUSTOMER,
    ("Accepted", "Wait - Vendor"): S.IN_PROGRESS,
    ("Accepted", "Wait - Implementation"): S.IN_PROGRESS,
    ("Queued", "Awaiting Assignment"): QUEUED,
    ("Completed", "Resolved"): S.RESOLVED,
    ("Completed", "Closed"): S.CLOSED,
    ("Completed", "In Call"): S.CLOSED,
    ("Completed", "Cancelled"): S.CLOSED,
    ("Unmatched", "Unmatched"): S.IN_PROGRESS,
}
WAITS = {
    "Wait - User": WaitKind.CUSTOMER,
    "Wait - Customer": WaitKind.CUSTOMER,
    "Wait - Vendor": WaitKind.VENDOR,
    "Wait - Implementation": WaitKind.INTERNAL,
    "Wait": WaitKind.OTHER,
}
COLUMNS = [
    "SR Number",
    "Change Date+Time",
    "Status",
    "Sub Status",
    "Involved ST",
    "ST Level",
    "SR Latest Impact",
    "Product",
    "Country",
    "Owner Country",
    "Involved Org line 3",
    "Involved ST Function Div",
]
OPTIONAL = ("Resource",)
# Report attributes: (key, column), from the incident's first row.
ATTRIBUTES = (
    ("product", "Product"),
    ("country", "Country"),
    ("org_line", "Involved Org line 3"),
    ("function_div", "Involved ST Function Div"),
    ("owner_country", "Owner Country"),
)


def _moment(text: str) -> datetime:
    """In UTC, as every moment the desk stores (the pause list keeps them as text)."""
    at = datetime.fromisoformat(text.strip())
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def incidents(reader: LogReader, bad: Callable[[BadRow], None]) -> Iterator[Incident]:
    col = require_columns(reader.header, COLUMNS, reader.path)
    col.update({name: i for name, i in require_columns(reader.header, [], reader.path).items() if name in OPTIONAL})
    get = lambda row, name: row[col[name]].strip() if name in col and len(row) > col[name] else ""  # noqa: E731
    for sr, run in grouped(reader.rows(), col["SR Number"], bad):
        events, first = [], None
        bad_here = about(sr, bad)
        for line, row in run:
            event = _event(line, row, get, bad_here)
            if event is not None:
                events.append(event)
                first = first or row
        if not events:
            continue
        impact, urgency, priority = IMPACT.get(get(first, "SR Latest Impact"), IMPACT["Medium"])
        product = get(first, "Product") or "unknown"
        yield Incident(
            external_id=sr,
            events=events,
            title=f"BPIC 2013 incident {sr}",
            description=(
                f"Product {product}; country {get(first, 'Country') or '?'}; "
                f"{get(first, 'Involved Org line 3')} ({get(first, 'Involved ST Function Div')}); "
                f"owner in {get(first, 'Owner Country') or '?'}."
            ),
            requester_name=f"Volvo IT user ({get(first, 'Country') or '?'})",
            category=(f"bpic2013-{product.lower()}"[:40], f"BPIC 2013 {product}"),
            impact=impact,
            urgency=urgency,
            priority=priority,
            attributes=attributes((key, get(first, column)) for key, column in ATTRIBUTES),
        )


def _event(line: int, row: list[str], get, bad) -> Event | None:
    when = get(row, "Change Date+Time")
    try:
        at = _moment(when)
    except ValueError:
        bad(BadRow(line, f"unreadable date '{when}'"))
        return None
    status, sub = get(row, "Status"), get(row, "Sub Status")
    ours = STATUS.get((status, sub))
    if ours is None:
        bad(BadRow(line, f"unknown status '{status}' / '{sub}'"))
        return None
    level = LEVELS.get(get(row, "ST Level"))
    if level is None:
        bad(BadRow(line, f"unknown ST Level '{get(row, 'ST Level')}'"))
        return None
    impact = get(row, "SR Latest Impact")
    if impact not in IMPACT:
        bad(BadRow(line, f"unknown impact '{impact}'"))
        return None
    team = get(row, "Involved ST")
    resource = get(row, "Resource")
    return Event(
        line=line,
        at=at,
        status=ours,
        label=f"{status}-{sub} at {get(row, 'ST Level')}",
        level=level,
        team=f"BPIC {team}" if team else None,
        wait=WAITS.get(sub, "") if status == "Accepted" else "",
        actor=resource,
        assignee=resource if resource and ours != QUEUED else None,
    )

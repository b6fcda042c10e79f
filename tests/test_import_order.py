"""Importer edge cases where the log's own order would mislead a report: a return that
drops past the level that escalated, and a log that resolves a case after closing it."""

import gzip
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from escalations.importers import FORMATS, run_import
from escalations.models import Case

pytestmark = pytest.mark.django_db

CET = dt_timezone(timedelta(hours=1))
HEADER = (
    "SR Number,Change Date+Time,Status,Sub Status,Activity,Activity Level,Involved ST Function Div,"
    "Involved Org line 3,Involved ST,Involved ST 2,ST Level,SR Latest Impact,Product,Country,Owner Country,"
    "Owner First Name,Resource"
)
TEAMS = {"L1": ("A2_4", "G1", "G1"), "L2": ("A2_5", "G2 2nd", "G2"), "L3": ("A2_6", "V5 3rd", "V5")}


def row(sr: str, when: str, status: str, sub: str, level: str) -> str:
    div, st, st2 = TEAMS[level]
    return (
        f"{sr},2012-03-01T{when}:00+01:00,{status},{sub},{status}-{sub},{status}-{sub}-{level},{div},Org line A2,"
        f"{st},{st2},{level},Medium,PROD1,se,Sweden,Anna,se-Anna"
    )


def log(tmp_path, rows: list[str]) -> str:
    path = tmp_path / "log.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join([HEADER, *rows]) + "\n")
    return str(path)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2012, 3, 1, hour, minute, tzinfo=CET)


def test_a_return_that_drops_past_the_escalating_level_records_both_endpoints(tmp_path):
    path = log(
        tmp_path,
        [
            row("9-1", "08:00", "Accepted", "In Progress", "L1"),
            row("9-1", "08:30", "Queued", "Awaiting Assignment", "L2"),
            row("9-1", "09:00", "Accepted", "In Progress", "L2"),
            row("9-1", "09:30", "Queued", "Awaiting Assignment", "L3"),
            row("9-1", "10:00", "Accepted", "In Progress", "L1"),  # L3 sends it straight to L1, unworked
            row("9-1", "11:00", "Completed", "Closed", "L1"),
        ],
    )
    run_import(FORMATS["bpic2013"], path)
    case = Case.objects.get(external_id="9-1")
    moves = [
        (e.kind, e.status, e.from_level.code, e.to_level.code, e.created_at)
        for e in case.escalations.select_related("from_level", "to_level").order_by("created_at", "pk")
    ]
    assert moves == [
        ("escalate", "accepted", "L1", "L2", at(8, 30)),
        ("escalate", "returned", "L2", "L3", at(9, 30)),
        ("de_escalate", "accepted", "L2", "L1", at(10)),
    ]
    assert (case.level.code, case.highest_level.code, case.status) == ("L1", "L3", "closed")


def test_a_log_that_resolves_after_closing_keeps_the_state_machines_order(tmp_path):
    path = log(
        tmp_path,
        [
            row("9-2", "08:00", "Accepted", "In Progress", "L1"),
            row("9-2", "09:00", "Completed", "Closed", "L1"),
            row("9-2", "10:00", "Completed", "Resolved", "L1"),
        ],
    )
    run_import(FORMATS["bpic2013"], path)
    case = Case.objects.get(external_id="9-2")
    assert case.status == "closed"
    assert case.closed_at == at(9) and case.resolved_at <= case.closed_at
    last = case.history.order_by("-history_date", "-history_id").first()
    assert "after closing: the case stays closed" in last.history_change_reason

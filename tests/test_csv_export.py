"""Every CSV the desk writes neutralises cells a spreadsheet would run as formulas:
report tables (the reviews report carries reviewers' own words), the audit log export,
the importer's bad-row list and the ``report`` command."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from escalations import workflow
from escalations.core.csv_out import FORMULA_START, safe_cell, to_csv
from escalations.reports import REGISTRY

from .factories import HANDOFF, CategoryFactory, open_case, staff

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
EVIL = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def dangerous(cell: str) -> bool:
    """A cell a spreadsheet would evaluate: starts with a formula character and is not a number."""
    if not cell.startswith(FORMULA_START):
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def test_safe_cell():
    for bad in EVIL:
        assert safe_cell(bad) == "'" + bad
    assert safe_cell(-3) == -3 and safe_cell(-2.5) == -2.5 and safe_cell(None) == ""
    assert safe_cell("plain = text") == "plain = text"
    assert not any(dangerous(c) for c in cells(to_csv(["h"], [[e] for e in EVIL])))


@pytest.fixture
def evil_reviews(agent, manager):
    category = CategoryFactory(code="=cmd", name="@evil")
    for i, text in enumerate(EVIL):
        case = open_case(agent, category=category, title=f"{text} title {i}")
        workflow.case_escalate(case_id=case.pk, actor=manager, handoff=HANDOFF)
        workflow.case_accept(case_id=case.pk, actor=manager)
        workflow.case_resolve(case_id=case.pk, actor=manager, summary=text + " fixed")
        workflow.case_close(case_id=case.pk, actor=manager)
        workflow.case_review(case_id=case.pk, actor=manager, root_cause=text + "cause", prevention_actions=text)
    return category


def test_every_report_csv_is_neutralised(evil_reviews, client, manager):
    client.force_login(manager)
    today = timezone.localdate()
    query = {"date_from": (today - timedelta(days=3)).isoformat(), "date_to": today.isoformat()}
    seen_evil = 0
    for name in REGISTRY:
        page = client.get(f"/admin/reports/{name}/", query)
        assert page.status_code == 200
        for table in page.context["tables"]:
            response = client.get(f"/admin/reports/{name}/{table['table'].key}.csv", query)
            assert response.status_code == 200
            body = response.content.decode()
            assert not [c for c in cells(body) if dangerous(c)], (name, table["table"].key)
            seen_evil += sum(c.startswith("'") for c in cells(body))
    assert seen_evil >= len(EVIL)  # the reviews' own words came through, neutralised


def test_report_command_csv_is_neutralised(evil_reviews):
    out = io.StringIO()
    today = timezone.localdate()
    call_command("report", "reviews", "--format", "csv", "--from", str(today - timedelta(days=3)), stdout=out)
    text = "\n".join(line for line in out.getvalue().splitlines() if not line.startswith("# "))
    assert "'=HYPERLINK" in text
    assert not [c for c in cells(text) if dangerous(c)]


def test_audit_log_csv_is_neutralised(evil_reviews, client, manager):
    evil_user = staff("Agent", '=HYPERLINK("http://x")')
    open_case(evil_user, title="Opened by a user with a formula for a name")
    client.force_login(manager)
    response = client.get("/admin/audit/", {"model": "escalations.historicalcase", "export": "csv"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "'=HYPERLINK" in body
    assert not [c for c in cells(body) if dangerous(c)]


def test_import_bad_rows_csv_is_neutralised(tmp_path):
    log = tmp_path / "log.csv.gz"
    with gzip.open(FIXTURES / "bpic2013_small.csv.gz", "rt", encoding="utf-8-sig") as fh:
        header = fh.readline()
    with gzip.open(log, "wt") as fh:
        fh.write(header)
        fh.write("=cmd,not a date,Queued,Awaiting Assignment,x,x,A2_4,Org line A2,G1,G1,L1,Medium,P,se,S,A,R\n")
    bad = tmp_path / "bad.csv"
    with contextlib.suppress(CommandError):  # a file with bad rows is refused (test_import_damaged.py)
        call_command("import_events", str(log), "--format", "bpic2013", "--bad-rows", str(bad), "--no-progress")
    assert bad.exists()
    assert not [c for c in cells(bad.read_text()) if dangerous(c)]

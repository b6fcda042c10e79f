"""Comparisons by imported attribute (issue 15): the attribute filter (``attr=key:value``)
and the breakdown (``by=attr:key``, ``by=team|agent|level|category|priority``) on every
report, its CSV and the ``report`` command; clear messages for unknown or malformed ones.

The desk (2025-06-02, UTC), six P3 cases opened at 08:00, taken at 08:05:
  three of product A in Sweden (se): two escalated to L2 at 09:00, one resolved at 10:00
  two of product B in Belgium (be): resolved at 10:00, never escalated
  one without attributes, left open
Every case with attributes has two of them, so a join that took all of a case's attribute
rows instead of the one key's would count each case twice.
"""

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from escalations import workflow
from escalations.importers import FORMATS, run_import
from escalations.models import CaseAttribute
from escalations.reports import REGISTRY, FilterError, Filters

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.django_db

DAY = date(2025, 6, 2)
NOON = datetime(2025, 6, 2, 12, tzinfo=UTC)
BPIC = str(Path(__file__).parent / "fixtures" / "bpic2013_small.csv.gz")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=UTC)


@pytest.fixture
def desk(monkeypatch, agent, specialist):
    now = {"t": at(8)}
    monkeypatch.setattr(timezone, "now", lambda: now["t"])
    cases = {}
    for name, product, country in (
        ("A1", "A", "se"),
        ("A2", "A", "se"),
        ("A3", "A", "se"),
        ("B1", "B", "be"),
        ("B2", "B", "be"),
        ("X", None, None),
    ):
        c = cases[name] = open_case(agent, title=f"Case {name}")
        if product:
            CaseAttribute.objects.bulk_create(
                [
                    CaseAttribute(case=c, key="product", value=product),
                    CaseAttribute(case=c, key="country", value=country),
                ]
            )
    now["t"] = at(8, 5)
    for c in cases.values():
        workflow.case_take(case_id=c.pk, actor=agent)
    now["t"] = at(9)
    for name in ("A1", "A2"):
        workflow.case_escalate(case_id=cases[name].pk, actor=agent, handoff=HANDOFF)
    now["t"] = at(10)
    for name in ("A3", "B1", "B2"):
        workflow.case_resolve(case_id=cases[name].pk, actor=agent, summary="Fixed")
    now["t"] = NOON
    return cases


def tables(name: str, **filters) -> dict:
    result = REGISTRY[name].run(Filters(date_from=DAY, date_to=DAY, now=NOON, **filters))
    return {t.key: t for t in result.tables}


def test_breakdown_by_attribute_counts_each_case_once(desk):
    t = tables("volume", by="attr:product")["breakdown"]
    assert t.title == "By product"
    assert [c.label for c in t.columns] == [
        "attribute product",
        "Cases",
        "Escalated %",
        "Reached above the first level %",
        "Reopened %",
    ]
    assert t.rows == [["A", 3, 66.7, 66.7, 0.0], ["B", 2, 0.0, 0.0, 0.0], ["(none)", 1, 0.0, 0.0, 0.0]]
    # The whole desk hides it: two of six escalated.
    assert next(r for r in tables("volume")["cases_moved"].rows if r[0] == "Escalated at least once")[1:] == [2, 33.3]


def test_the_attribute_filter_applies_to_cases_and_their_handoffs(desk):
    t = tables("volume", attr="product:A")
    assert t["opened"].rows == [[DAY, 3, 0, 0, 3, 0]]
    assert t["transitions"].rows[0] == ["L1->L2", 2, 0, 0, 2, 0.0]
    b = tables("volume", attr="product:B")
    assert b["opened"].rows == [[DAY, 2, 0, 0, 2, 0]]
    assert b["transitions"].rows == [["de-escalation", 0, 0, 0, 0, None]]
    # A filter and a breakdown together; a value nobody has is an empty result, not an error.
    both = tables("resolution", attr="country:se", by="attr:product")["breakdown"]
    assert both.rows == [["A", 3, 1, 100.0, 66.7]]
    assert tables("volume", attr="product:Z")["opened"].rows == [[DAY, 0, 0, 0, 0, 0]]


def test_breakdowns_by_case_columns(desk, agent):
    assert tables("resolution", by="level")["breakdown"].rows == [["L1", 4, 3, 100.0, 0.0], ["L2", 2, 0, None, 100.0]]
    by_agent = tables("speed", by="agent")["breakdown"]
    assert [(r[0], r[1]) for r in by_agent.rows] == [(agent.username, 4), ("(none)", 2)]  # L2 has not taken them
    assert tables("sla", by="priority")["breakdown"].rows[0][:2] == ["P3", 6]


def test_every_report_accepts_a_filter_and_a_breakdown(desk):
    for name in REGISTRY:
        t = tables(name, attr="product:A", by="attr:country")
        assert "breakdown" in t, name
        rows = t["breakdown"].rows
        if REGISTRY[name].population == "open":
            assert rows == [["se", 2, 0]], name  # A1 and A2 are open (escalated)
        else:
            assert rows[0][:2] == ["se", 3], name


def test_unknown_and_malformed_attributes_get_a_clear_message(desk):
    with pytest.raises(FilterError, match=r"There is no attribute 'colour'\. Known attributes: country, product\."):
        tables("volume", by="attr:colour")
    with pytest.raises(FilterError, match="There is no attribute 'colour'"):
        tables("volume", attr="colour:red")
    for bad in ("product", "product:", ":A", "Product:A", "product:" + "x" * 201, "product:a\x00b"):
        with pytest.raises(FilterError, match="attribute"):
            Filters(date_from=DAY, date_to=DAY, attr=bad)
    for bad in ("country", "attr:", "attr:Bad Key", "owner"):
        with pytest.raises(FilterError, match="A breakdown is one of team, agent, level, category, priority"):
            Filters(date_from=DAY, date_to=DAY, by=bad)


def test_pages_csv_and_command(desk, client, manager):
    client.force_login(manager)
    day = {"date_from": "2025-06-02", "date_to": "2025-06-02"}
    page = client.get("/admin/reports/volume/", {**day, "attr": "product:A", "by": "attr:country"})
    body = page.content.decode()
    assert page.status_code == 200 and "By country" in body
    assert '<option value="attr:product">' in body and '<option value="agent">' in body
    assert "/admin/reports/volume/breakdown.csv?" in body
    download = client.get("/admin/reports/sla/breakdown.csv", {**day, "by": "attr:product"})
    assert list(csv.reader(io.StringIO(download.content.decode())))[:2] == [
        ["attribute product", "Cases", "Response met %", "Resolution met %", "Source made SLA %"],
        ["A", "3", "0.0", "100.0", ""],  # A3 answered late (at its resolution), resolved in time
    ]
    for params, message in (
        ({"by": "attr:colour"}, "There is no attribute &#x27;colour&#x27;"),
        ({"attr": "nocolon"}, "An attribute filter reads key:value"),
        ({"by": "weather"}, "A breakdown is one of"),
        ({"attr": "product:" + "x" * 300}, "at most 250 characters"),
        ({"by": "attr:x\x00"}, "NUL character"),
    ):
        bad = client.get("/admin/reports/volume/", {**day, **params})
        assert bad.status_code == 400 and message in bad.content.decode(), params
    assert client.get("/admin/reports/volume/breakdown.csv", {**day, "by": "attr:colour"}).status_code == 400
    out = io.StringIO()
    call_command(
        "report", "quality", "--from", "2025-06-02", "--to", "2025-06-02", "--by", "attr:product", "--attr",
        "country:se", "--format", "csv", "--table", "breakdown", stdout=out,
    )  # fmt: skip
    assert out.getvalue().splitlines()[1] == "A,3,66.7,0.0,100.0"
    with pytest.raises(CommandError, match="There is no attribute 'colour'"):
        call_command("report", "volume", "--by", "attr:colour", stdout=io.StringIO())


def test_imported_log_compared_by_product_and_by_agent(db):
    run_import(FORMATS["bpic2013"], BPIC, skip_bad_rows=True)
    f = {"date_from": date(2012, 1, 1), "date_to": date(2012, 3, 31), "source": "bpic2013"}
    product = REGISTRY["volume"].run(Filters(**f, by="attr:product")).tables[-1]
    assert [r[:3] for r in product.rows] == [["PROD1", 2, 100.0], ["PROD3", 2, 0.0], ["PROD2", 1, 100.0]]
    org = REGISTRY["volume"].run(Filters(**f, attr="org_line:Org line C")).tables[0]
    assert sum(r[1] for r in org.rows) == 1  # 1-200
    agents = REGISTRY["resolution"].run(Filters(**f, by="agent")).tables[-1]
    # Where each case ended and who held it then: the log's resources, as users without a login.
    assert sorted((r[0], r[1]) for r in agents.rows) == [
        ("be-Carl@bpic2013", 1),
        ("fr-Eve@bpic2013", 1),
        ("se-Anna@bpic2013", 2),
        ("se-Dan@bpic2013", 1),
    ]

"""Readable history: names not ids, times to the second in the viewer's zone, money with
its currency, no "Deleted user (pk=None)"; and one case trail over every record type,
filterable and exportable, from the audit log and the admin case page."""

import csv
import io
import json
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from escalations import workflow

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked(agent, specialist, manager):
    agent.first_name, agent.last_name = "Alice", "Agent"
    agent.save()
    case = open_case(agent, title="Trail me")
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_note(case_id=case.pk, actor=agent, body="Looked at the logs.")
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)  # unassigns, L1 -> L2
    workflow.approval_request(case_id=case.pk, actor=manager, kind="spend", amount="1250", description="Router")
    return case


def test_audit_log_shows_names_levels_and_money(client, auditor, worked):
    client.force_login(auditor)
    body = client.get(reverse("audit-log"), {"model": "escalations.historicalcase", "object_id": worked.pk}).content
    body = body.decode()
    assert "<strong>assignee</strong>: — → Alice Agent" in body  # taken
    assert "<strong>assignee</strong>: Alice Agent → —" in body  # unassigned by the escalation
    assert "<strong>level</strong>: L1 → L2" in body
    assert "pk=None" not in body and "Deleted user" not in body


def test_admin_history_page_never_reads_deleted_user(client, manager, worked):
    client.force_login(manager)
    body = client.get(reverse("admin:escalations_case_history", args=[worked.pk])).content.decode()
    assert "Deleted user" not in body and "pk=None" not in body
    assert "Alice Agent" in body and "L1" in body and "L2" in body


def test_times_to_the_second_in_the_viewers_zone(client, auditor, worked):
    client.force_login(auditor)
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        page = client.get(reverse("audit-case-trail"), {"case": worked.pk}).content.decode()
    # the template engine renders in the active zone; the test client runs in this thread
    assert "CET" in page or "CEST" in page
    rows = json.loads(client.get(reverse("audit-case-trail"), {"case": worked.pk, "export": "json"}).content)["rows"]
    assert all(len(r["when_local"].split()[1]) == 8 for r in rows)  # HH:MM:SS


def test_case_trail_has_every_type_in_time_order_and_filters(client, auditor, worked):
    client.force_login(auditor)
    url = reverse("audit-case-trail")
    rows = json.loads(client.get(url, {"case": worked.pk, "export": "json"}).content)["rows"]
    types = {r["type"] for r in rows}
    assert {"case", "note", "handoff", "approval", "notice"} <= types
    assert [r["when"] for r in rows] == sorted(r["when"] for r in rows)
    approval = next(r for r in rows if r["type"] == "approval")
    assert approval["record"].startswith("Approval #")
    notes_only = json.loads(client.get(url, {"case": worked.pk, "kinds": "note", "export": "json"}).content)["rows"]
    assert {r["type"] for r in notes_only} == {"note"}
    by_manager = json.loads(client.get(url, {"case": worked.pk, "user": "max", "export": "json"}).content)["rows"]
    assert by_manager and {r["who"] for r in by_manager} == {"max"}
    newest = json.loads(client.get(url, {"case": worked.pk, "order": "new", "export": "json"}).content)["rows"]
    assert newest[0]["when"] >= newest[-1]["when"]
    table = list(csv.reader(io.StringIO(client.get(url, {"case": worked.pk, "export": "csv"}).content.decode())))
    assert table[0] == ["when", "type", "record", "who", "action", "why", "changes"] and len(table) == len(rows) + 1
    assert client.get(url, {"case": "x"}).status_code == 400
    assert client.get(url, {"case": worked.pk, "kinds": "bogus"}).status_code == 400


def test_trail_is_linked_from_the_audit_log_and_the_admin_case_page(client, manager, worked):
    client.force_login(manager)
    trail = f"{reverse('audit-case-trail')}?case={worked.pk}"
    assert trail in client.get(reverse("admin:escalations_case_change", args=[worked.pk])).content.decode()
    log = client.get(reverse("audit-log"), {"model": "escalations.historicalcase"}).content.decode()
    assert trail in log


def test_approval_amount_in_the_trail_has_a_currency(client, auditor, worked):
    client.force_login(auditor)
    rows = json.loads(
        client.get(reverse("audit-log"), {"model": "escalations.historicalapprovalrequest", "export": "json"}).content
    )
    assert rows  # created rows have no diff; the field formatter is what the trail and diffs use
    from escalations.models import ApprovalRequest
    from escalations.selectors.readable import Readable

    assert Readable().value(ApprovalRequest, "amount", worked.approvals.get().amount) == "EUR 1,250.00"


def test_trail_needs_the_audit_permission(client, agent, worked):
    client.force_login(agent)
    assert client.get(reverse("audit-case-trail"), {"case": worked.pk}).status_code == 403


def test_the_viewers_zone_cookie_sets_the_displayed_zone(client, auditor, worked):
    client.force_login(auditor)
    client.cookies["desk_tz"] = "Asia/Tokyo"
    assert "JST" in client.get(reverse("audit-case-trail"), {"case": worked.pk}).content.decode()
    client.cookies["desk_tz"] = "Not/AZone"
    assert client.get(reverse("audit-case-trail"), {"case": worked.pk}).status_code == 200


def test_timeline_newest_first_toggle_is_remembered(client, manager, worked):
    client.force_login(manager)
    url = reverse("case-detail", args=[worked.pk])
    oldest = client.get(url).context["timeline"]
    assert oldest[0].at <= oldest[-1].at and "Show newest first" in client.get(url).content.decode()
    newest = client.get(url, {"timeline": "newest"}).context["timeline"]
    assert newest[0].at >= newest[-1].at
    assert client.get(url).context["newest_first"] is True  # remembered
    assert client.get(url, {"timeline": "junk"}).status_code == 200
    assert client.get(url, {"timeline": "\x00junk"}).status_code == 400  # NUL: refused before any view

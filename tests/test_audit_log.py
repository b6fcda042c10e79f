"""The auditor's log page: who, what, when, why with field diffs, filters, exports, and
read-only access."""

import json

import pytest
from django.urls import reverse

from escalations import workflow

from .factories import HANDOFF, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked(agent):
    case = open_case(agent, title="Audit me")
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    return case


def test_auditor_reads_changes_with_diffs_and_reasons(client, auditor, worked, agent):
    client.force_login(auditor)
    response = client.get(reverse("audit-log"), {"model": "escalations.historicalcase", "object_id": worked.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Taken by alice" in body and "Escalated L1 -&gt; L2" in body
    assert "<strong>status</strong>: New → In progress" in body
    assert body.count(f"#{worked.pk}<") >= 3


def test_filters_by_user_and_date(client, auditor, worked):
    client.force_login(auditor)
    nobody = client.get(reverse("audit-log"), {"model": "escalations.historicalcase", "user": "ghost"})
    assert "No changes match." in nobody.content.decode()
    future = client.get(reverse("audit-log"), {"model": "escalations.historicalcase", "date_from": "2999-01-01"})
    assert "No changes match." in future.content.decode()
    bad = client.get(reverse("audit-log"), {"model": "no.such", "object_id": "x"})
    assert bad.status_code == 400


def test_csv_and_json_export(client, auditor, worked):
    client.force_login(auditor)
    query = {"model": "escalations.historicalcase", "object_id": worked.pk}
    rows = json.loads(client.get(reverse("audit-log"), {**query, "export": "json"}).content)
    assert [r["why"] for r in rows][-1].startswith("Opened") and rows[0]["who"] == "alice"
    assert any(c["field"] == "level" for r in rows for c in r["changes"])
    csv_text = client.get(reverse("audit-log"), {**query, "export": "csv"}).content.decode()
    assert csv_text.splitlines()[0].startswith("model,history_id") and "Taken by alice" in csv_text


def test_verify_page_and_access(client, auditor, agent, worked):
    client.force_login(auditor)
    assert "Every chain is intact." in client.get(reverse("audit-verify")).content.decode()
    client.force_login(agent)
    assert client.get(reverse("audit-log")).status_code == 403
    assert client.get(reverse("audit-verify")).status_code == 403
    assert client.post(reverse("audit-log")).status_code in (403, 405)

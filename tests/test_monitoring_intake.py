"""Monitoring intake through real requests: Alertmanager (webhook v4), Grafana and the
generic format open cases as the system actor, dedupe by fingerprint, note and resolve,
refuse bad input without writing, and a burst from several threads against a live
server opens exactly one case per fingerprint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalations import workflow
from escalations.channels.monitoring import signature
from escalations.models import AlertCase, AlertDelivery, AlertRule, ApiToken, Case, CaseStatus, Note

from .factories import CategoryFactory, TeamFactory

pytestmark = pytest.mark.django_db
SECRET = "s3cret-for-tests"


def alertmanager(*alerts, status="firing") -> dict:
    """The shape Alertmanager's webhook notifier posts (version 4)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "escalation-desk",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def am_alert(fp="a1b2c3", status="firing", severity="critical", starts="2026-11-30T01:00:00.123456789Z", **labels):
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": "db1:9100", "severity": severity, **labels},
        "annotations": {"summary": "Disk /var is 97% full"},
        "startsAt": starts,
        "endsAt": "2026-11-30T02:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": fp,
    }


def grafana(*alerts) -> dict:
    """The shape Grafana's webhook contact point posts."""
    return {
        "receiver": "desk",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {**a, "values": {"A": 97}, "valueString": "[ var='A' value=97 ]", "silenceURL": "", "dashboardURL": ""}
            for a in alerts
        ],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://grafana:3000/",
        "version": "1",
        "groupKey": "{}",
        "truncatedAlerts": 0,
        "title": "[FIRING:1] DiskFull",
        "state": "alerting",
        "message": "...",
    }


@pytest.fixture
def rule(db):
    category = CategoryFactory(code="infra", name="Infrastructure")
    return AlertRule.objects.create(name="infra", match={}, category=category, resolve_on_resolved=True)


@pytest.fixture
def token(agent, rule):
    return ApiToken.objects.issue(user=agent, scopes=["intake"])[1]


def post(client, source, payload, token=None, raw=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(reverse(f"api:intake-{source}"), data=body, content_type="application/json", **headers)


def counts():
    return Case.objects.count(), Note.objects.count(), AlertCase.objects.count(), AlertDelivery.objects.count()


def test_firing_opens_a_case_as_the_system_with_the_mapped_priority(client, token, rule):
    team = TeamFactory(name="DB")
    AlertRule.objects.create(name="db", order=1, match={"team": "db"}, category=rule.category, team=team)
    response = post(client, "alertmanager", alertmanager(am_alert(team="db")), token)
    assert response.status_code == 200, response.content
    result = response.json()["results"][0]
    assert result["outcome"] == "opened"
    case = Case.objects.get(pk=result["case"])
    assert case.priority == 1 and case.team == team and case.category == rule.category
    assert case.created_by == workflow.system_actor()
    assert "Disk /var is 97% full" in case.description
    warning = post(client, "generic", {"alerts": [{"labels": {"alertname": "Slow", "severity": "warning"}}]}, token)
    assert Case.objects.get(pk=warning.json()["results"][0]["case"]).priority == 3


def test_same_fingerprint_notes_redelivery_changes_nothing_resolved_resolves(client, token):
    first = post(client, "alertmanager", alertmanager(am_alert()), token).json()["results"][0]
    before = counts()
    again = post(client, "alertmanager", alertmanager(am_alert()), token).json()["results"][0]
    assert again["outcome"] == "duplicate" and counts() == before
    refired = post(client, "alertmanager", alertmanager(am_alert(starts="2026-11-30T01:30:00Z")), token).json()
    assert refired["results"][0] == {**first, "outcome": "noted"}
    assert Case.objects.count() == 1 and Note.objects.filter(case_id=first["case"]).count() == 1
    resolved = alertmanager(am_alert(status="resolved", starts="2026-11-30T01:30:00Z"), status="resolved")
    assert post(client, "alertmanager", resolved, token).json()["results"][0]["outcome"] == "resolved"
    assert Case.objects.get(pk=first["case"]).status == CaseStatus.RESOLVED
    # the next firing of the same alert is a new incident: a new case
    new = post(client, "alertmanager", alertmanager(am_alert(starts="2026-11-30T03:00:00Z")), token).json()
    assert new["results"][0]["outcome"] == "opened" and new["results"][0]["case"] != first["case"]


def test_a_redelivery_is_answered_from_one_read_without_a_lock(client, token):
    """Redeliveries are most of an Alertmanager's traffic: a recorded state costs the token
    read and one lookup of the payload's delivery keys, no transaction and no lock; a
    payload mixing a recorded and a new state still acts on the new one exactly once."""
    post(client, "alertmanager", alertmanager(am_alert()), token)
    with CaptureQueriesContext(connection) as seen:
        again = post(client, "alertmanager", alertmanager(am_alert()), token).json()["results"][0]
    sql = [q["sql"] for q in seen.captured_queries]
    assert again["outcome"] == "duplicate" and len(sql) == 2, sql
    assert not any("advisory" in q or q.startswith(("BEGIN", "SAVEPOINT", "INSERT", "UPDATE")) for q in sql)
    mixed = alertmanager(am_alert(), am_alert(fp="zz9"), am_alert(fp="zz9"))
    outcomes = [r["outcome"] for r in post(client, "alertmanager", mixed, token).json()["results"]]
    assert outcomes == ["duplicate", "opened", "duplicate"]
    assert AlertCase.objects.filter(fingerprint__endswith="zz9").count() == 1


def test_resolved_without_resolve_rule_only_notes(client, token, rule):
    rule.resolve_on_resolved = False
    rule.save()
    case_id = post(client, "generic", {"labels": {"alertname": "X"}, "fingerprint": "x1"}, token).json()["results"][0]
    resolved = {"labels": {"alertname": "X"}, "fingerprint": "x1", "status": "resolved"}
    assert post(client, "generic", resolved, token).json()["results"][0]["outcome"] == "noted"
    assert Case.objects.get(pk=case_id["case"]).is_open


def test_grafana_with_its_hmac_signature(client, rule, settings):
    settings.INTAKE_HMAC_SECRET = SECRET
    body = json.dumps(grafana(am_alert(fp="g1"))).encode()
    good = signature.sign(SECRET, body).removeprefix("sha256=")
    response = post(client, "grafana", None, raw=body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=good)
    assert response.status_code == 200 and response.json()["results"][0]["outcome"] == "opened"
    ours = post(
        client,
        "generic",
        None,
        raw=b'{"labels": {"a": "b"}}',
        HTTP_X_ESCALATION_SIGNATURE=signature.sign(SECRET, b'{"labels": {"a": "b"}}'),
    )
    assert ours.status_code == 200


BAD = [
    ("malformed JSON", b'{"alerts": [', 400, "not valid JSON"),
    ("no labels", json.dumps(alertmanager({"status": "firing", "labels": {}})).encode(), 400, "no labels"),
    ("no alerts", json.dumps({"version": "4", "alerts": []}).encode(), 400, "no 'alerts'"),
    ("wrong version", json.dumps({"version": "3", "alerts": [am_alert()]}).encode(), 400, "version"),
    ("bad status", json.dumps(alertmanager({**am_alert(), "status": "burning"})).encode(), 400, "status"),
    ("bad time", json.dumps(alertmanager({**am_alert(), "startsAt": "yesterday"})).encode(), 400, "RFC 3339"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
]


@pytest.mark.parametrize("name,body,code,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_writes_nothing(client, token, name, body, code, words):
    before = counts()
    response = post(client, "alertmanager", None, token, raw=body)
    assert response.status_code == code and words in response.json()["detail"], response.content
    assert counts() == before


def test_one_bad_alert_refuses_the_whole_payload(client, token, rule):
    AlertRule.objects.filter(pk=rule.pk).update(match={"env": "prod"})
    payload = alertmanager(am_alert(fp="ok", env="prod"), am_alert(fp="stray", env="dev"))
    before = counts()
    response = post(client, "alertmanager", payload, token)
    assert response.status_code == 400 and "matches no active alert rule" in response.json()["detail"]
    assert counts() == before


def test_authentication(client, agent, auditor, rule, settings):
    settings.INTAKE_HMAC_SECRET = SECRET
    payload = alertmanager(am_alert())
    before = counts()
    assert post(client, "alertmanager", payload).status_code == 401
    forged = post(client, "alertmanager", payload, HTTP_X_ESCALATION_SIGNATURE="sha256=" + "0" * 64)
    assert forged.status_code in (401, 403) and "does not match" in forged.json()["detail"]
    read_only = ApiToken.objects.issue(user=agent, scopes=["read"])[1]
    assert post(client, "alertmanager", payload, read_only).status_code == 403
    auditor_token = ApiToken.objects.issue(user=auditor, scopes=["intake"])[1]
    assert post(client, "alertmanager", payload, auditor_token).status_code == 403
    assert counts() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_of_1000_alerts_with_50_fingerprints_opens_exactly_50_cases(live_server, agent):
    category = CategoryFactory(code="infra", name="Infrastructure")
    AlertRule.objects.create(name="all", match={}, category=category)
    text = ApiToken.objects.issue(user=agent, scopes=["intake"])[1]
    url = live_server.url + reverse("api:intake-alertmanager")
    # 1,000 alerts: 50 fingerprints, each firing 20 times (10 distinct starts, each delivered twice)
    batches = [
        alertmanager(
            *[am_alert(fp=f"fp{(i * 10 + j) % 50}", starts=f"2026-11-30T01:{i % 10:02d}:00Z") for j in range(10)]
        )
        for i in range(100)
    ]
    errors = []

    def send(payload):
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {text}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.load(response)["results"]
        except urllib.error.HTTPError as exc:
            errors.append(exc.read())
            return []

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for batch in pool.map(send, batches) for r in batch]
    assert not errors, errors[:3]
    assert len(results) == 1000
    assert Case.objects.count() == 50
    assert AlertCase.objects.filter(is_open=True).count() == 50
    outcomes = [r["outcome"] for r in results]
    assert outcomes.count("opened") == 50
    # each fingerprint's case got one note per distinct later start, whatever order the threads ran in
    assert outcomes.count("opened") + outcomes.count("noted") == AlertDelivery.objects.count()

"""API rate limits (issue 13): each token has its own budget on the case endpoints and on
the monitoring intake; over it the answer is 429 with Retry-After and nothing is written;
signed intake without a token is counted per client address; a bad rate refuses to start."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.cache import cache
from django.urls import reverse

from escalations.channels.monitoring import signature
from escalations.models import Case

from .test_api import call, token_for
from .test_monitoring_intake import SECRET, alertmanager, am_alert, counts, post, rule  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def test_each_token_has_its_own_budget_and_429_says_when_to_retry(client, agent, agent2, settings):
    settings.API_RATE = "3/min"
    mine, theirs = token_for(agent), token_for(agent2)
    url = reverse("api:cases")
    assert [call(client, "get", url, mine).status_code for _ in range(3)] == [200, 200, 200]
    refused = call(client, "get", url, mine)
    assert refused.status_code == 429
    assert "throttled" in refused.json()["detail"].lower() and 0 < int(refused["Retry-After"]) <= 60
    assert call(client, "get", url, theirs).status_code == 200  # another token is not held back


def test_a_refused_write_writes_nothing(client, agent, settings):
    settings.API_RATE = "1/min"
    token = token_for(agent)
    assert call(client, "get", reverse("api:cases"), token).status_code == 200
    body = {"title": "Printer on fire", "requester_name": "Rita", "requester_email": "rita@example.com"}
    assert call(client, "post", reverse("api:cases"), token, body).status_code == 429
    assert not Case.objects.exists()


def test_intake_has_its_own_limit_and_signed_intake_counts_per_address(client, agent, rule, settings):  # noqa: F811
    settings.API_RATE, settings.API_INTAKE_RATE, settings.INTAKE_HMAC_SECRET = "1/min", "2/min", SECRET
    token = token_for(agent, "intake")
    payload = alertmanager(am_alert())
    assert [post(client, "alertmanager", payload, token).status_code for _ in range(3)] == [200, 200, 429]
    body = json_bytes(payload)
    signed = {"HTTP_X_ESCALATION_SIGNATURE": signature.sign(SECRET, body)}
    assert post(client, "alertmanager", None, raw=body, REMOTE_ADDR="10.0.0.7", **signed).status_code == 200
    assert post(client, "alertmanager", None, raw=body, REMOTE_ADDR="10.0.0.7", **signed).status_code == 200
    before = counts()
    assert post(client, "alertmanager", None, raw=body, REMOTE_ADDR="10.0.0.7", **signed).status_code == 429
    assert counts() == before
    assert post(client, "alertmanager", None, raw=body, REMOTE_ADDR="10.0.0.8", **signed).status_code == 200


def test_off_lifts_the_limit(client, agent, settings):
    settings.API_RATE = "off"
    token = token_for(agent)
    assert {call(client, "get", reverse("api:cases"), token).status_code for _ in range(30)} == {200}


def test_a_rate_that_is_not_a_rate_stops_the_start_with_a_message():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='project.settings'; django.setup()",
        ],
        env={**__import__("os").environ, "API_RATE": "lots"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert 'API_RATE="lots" is not a rate: write e.g. "1200/min"' in done.stderr


def json_bytes(payload) -> bytes:
    import json

    return json.dumps(payload).encode()

"""Urgent notices to the team's webhooks, through the outbox, against a real HTTP receiver
(``http.server`` in a thread): a Slack/Teams-compatible JSON body, HMAC-signed, retried
with backoff on failure, the delivery status kept on the outbox row."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from escalations import workflow
from escalations.automation import outbox
from escalations.models import Notification, NotificationStatus, TeamWebhook

from .factories import CategoryFactory, TeamFactory, open_case

pytestmark = pytest.mark.django_db


class Receiver:
    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.fail = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(500 if outer.fail else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def team(receiver):
    team = TeamFactory(name="Network ops")
    TeamWebhook.objects.create(team=team, name="ops chat", url=receiver.url, secret="hook-secret")
    return team


def test_a_p1_goes_to_the_team_webhook_signed(agent, team, receiver):
    case = open_case(agent, CategoryFactory(), team=team, impact=1, urgency=1)
    assert case.priority == 1
    workflow_rows = Notification.objects.filter(case=case, webhook__isnull=False)
    # opening notice is not urgent; an urgent one (a reopen, an escalation...) is: assign is urgent
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent.pk)
    assert workflow_rows.count() == 1
    assert outbox.flush() >= 1
    row = workflow_rows.get()
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["case"] == case.pk and "text" in payload and str(case.pk) in payload["text"]
    expected = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Escalation-Signature"] == expected
    assert headers["X-Escalation-Notice"] == str(row.pk)


def test_a_p3_does_not(agent, team, receiver):
    case = open_case(agent, CategoryFactory(), team=team)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent.pk)
    assert not Notification.objects.filter(webhook__isnull=False).exists()


def test_failures_retry_with_backoff_then_fail(agent, team, receiver):
    case = open_case(agent, CategoryFactory(), team=team, impact=1, urgency=1)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent.pk)
    receiver.fail = True
    now = timezone.now()
    outbox.flush(now)
    row = Notification.objects.get(webhook__isnull=False)
    assert row.status == NotificationStatus.PENDING and row.attempts == 1 and "500" in row.last_error
    assert row.not_before > now
    for i in range(outbox.MAX_ATTEMPTS):
        outbox.flush(now + timedelta(days=i + 1))
    row.refresh_from_db()
    assert row.status == NotificationStatus.FAILED and row.attempts == outbox.MAX_ATTEMPTS
    assert len(receiver.requests) == outbox.MAX_ATTEMPTS

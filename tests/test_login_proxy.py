"""Login lockout behind a proxy (issue 14, finding 8): five bad passwords lock that client
out, never everyone behind the same proxy; direct and proxied, and a forged
X-Forwarded-For entry does not let the attacker pose as someone else."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"
GOOD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def throttled(settings):
    settings.AXES_ENABLED = True


def login(agent, password, remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    client = Client(**extra)
    response = client.post("/admin/login/", {"username": agent.username, "password": password})
    return response, "_auth_user_id" in client.session


def hammer(agent, settings, **where):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(agent, "wrong", **where)


def test_direct_one_client_is_locked_the_others_are_not(agent, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0
    hammer(agent, settings, remote="203.0.113.9")
    response, signed_in = login(agent, GOOD, remote="203.0.113.9")
    assert response.status_code in (403, 429) and not signed_in
    assert login(agent, GOOD, remote="198.51.100.7")[1]


def test_behind_the_proxy_one_client_is_locked_the_others_are_not(agent, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    hammer(agent, settings, remote=PROXY, forwarded="203.0.113.9")
    response, signed_in = login(agent, GOOD, remote=PROXY, forwarded="203.0.113.9")
    assert response.status_code in (403, 429) and not signed_in
    assert login(agent, GOOD, remote=PROXY, forwarded="198.51.100.7")[1]  # same proxy, another client


def test_a_forged_forwarded_entry_does_not_change_who_is_locked(agent, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    # The attacker puts the victim's address first; the proxy appends the attacker's own.
    hammer(agent, settings, remote=PROXY, forwarded="198.51.100.7, 203.0.113.9")
    assert not login(agent, GOOD, remote=PROXY, forwarded="203.0.113.9")[1]
    assert login(agent, GOOD, remote=PROXY, forwarded="198.51.100.7")[1]


def test_two_proxies_and_a_request_that_skipped_them(agent, settings):
    from django.test import RequestFactory

    from escalations.core.client_ip import client_ip

    settings.AXES_IPWARE_PROXY_COUNT = 2
    rf = RequestFactory()
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 10.0.0.1", REMOTE_ADDR=PROXY)) == (
        "203.0.113.9"
    )
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR=PROXY)) == PROXY
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="junk, <script>", REMOTE_ADDR=PROXY)) == PROXY

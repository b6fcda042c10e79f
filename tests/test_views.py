"""The staff pages through Django's test client: who sees what, the queues, intake, every
case action through the workflow, stale forms, the requester's link, reviews, knowledge."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from escalations import selectors, workflow
from escalations.domain import requester_links as requester
from escalations.models import (
    ApprovalRequest,
    Case,
    CaseStatus,
    Escalation,
    KnowledgeArticle,
    Level,
    Note,
    Notification,
    Review,
    RuleFiring,
    StaffProfile,
    TriggerRule,
)

from .factories import HANDOFF, CategoryFactory, UserFactory, open_case, staff

pytestmark = pytest.mark.django_db
S = CaseStatus


def login(client, user) -> Client:
    client.force_login(user)
    return client


def page(case) -> str:
    return reverse("case-detail", args=[case.pk])


def act(case, name) -> str:
    return reverse("case-action", args=[case.pk, name])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def category():
    return CategoryFactory(code="network", name="Network")


@pytest.fixture
def case(agent, category):
    return open_case(agent, category, title="VPN keeps disconnecting")


def escalated(agent, category, **kwargs):
    c = open_case(agent, category, **kwargs)
    workflow.case_take(case_id=c.pk, actor=agent)
    workflow.case_escalate(case_id=c.pk, actor=agent, handoff=HANDOFF)
    return Case.objects.get(pk=c.pk)


# -- sign in, home, visibility ---------------------------------------------------------------


def test_pages_need_a_login(client, case):
    for url in (reverse("my-queue"), reverse("team-queue"), page(case), reverse("case-new"), reverse("kb-list")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_sign_in_and_out(client, agent):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200 and "Please enter a correct username and password" in text(response)
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-for-tests-1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("my-queue")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("my-queue")).status_code == 302


@pytest.mark.parametrize(
    "role,target",
    [("Agent", "my-queue"), ("Specialist", "my-queue"), ("Manager", "team-queue"), ("Auditor", "team-queue")],
)
def test_home_sends_each_role_to_its_work(client, role, target):
    login(client, staff(role))
    assert client.get("/")["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse(target)


def test_home_without_a_role_explains(client):
    login(client, UserFactory(username="nobody"))
    response = client.get(reverse("home"))
    assert response.status_code == 403 and "no role on the desk" in text(response)


def test_staff_see_their_level_and_below(client, agent, agent2, specialist, category):
    low = open_case(agent, category, title="Low case")
    high = escalated(agent2, category, title="High case")
    mine = escalated(agent, category, title="High case the agent escalated")
    assert login(client, agent).get(page(high)).status_code == 404
    assert client.get(page(low)).status_code == 200
    assert 'id="follow-only"' in text(client.get(page(mine)))  # read only: the agent escalated it
    login(client, specialist)
    assert client.get(page(high)).status_code == 200 and client.get(page(low)).status_code == 200


# -- queues ----------------------------------------------------------------------------------


def test_my_queue_lists_my_open_cases_with_time_left(client, agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    body = text(login(client, agent).get(reverse("my-queue")))
    assert "VPN keeps disconnecting" in body and "P3 moderate" in body and "In progress" in body
    assert re.search(r"(Response|Resolution) due in \d", body)


def test_my_queue_shows_escalations_and_approvals_waiting(client, agent, specialist, category):
    c = escalated(agent, category, title="Needs L2")
    body = text(login(client, specialist).get(reverse("my-queue")))
    assert "Escalations waiting for your level" in body and "Needs L2" in body
    workflow.case_accept(case_id=c.pk, actor=specialist)
    other = staff("Specialist", "sasha")
    workflow.approval_request(case_id=c.pk, actor=specialist, kind="spend", amount="500", description="Refund")
    assert "Approvals waiting for a decision" not in text(client.get(reverse("my-queue")))  # their own request
    assert "Approvals waiting for a decision" in text(login(client, other).get(reverse("my-queue")))


def test_team_queue_is_ordered_by_urgency(client, agent, category):
    slow = open_case(agent, category, title="Slow one", impact=3, urgency=3)
    fast = open_case(agent, category, title="Fast one", impact=1, urgency=1)
    body = text(login(client, agent).get(reverse("team-queue")))
    assert body.index("Fast one") < body.index("Slow one")
    assert Case.objects.get(pk=fast.pk).next_check_at < Case.objects.get(pk=slow.pk).next_check_at


def test_paused_cases_come_last_and_say_so(client, agent, category):
    paused = open_case(agent, category, title="Paused one")
    workflow.case_take(case_id=paused.pk, actor=agent)
    workflow.case_pause(case_id=paused.pk, actor=agent, reason="Waiting for logs")
    open_case(agent, category, title="Running one")
    body = text(login(client, agent).get(reverse("team-queue")))
    assert body.index("Running one") < body.index("Paused one")
    assert "clock paused" in body and "Paused since" in body


def test_queue_pages_by_keyset_without_counting(agent, category):
    ids = {open_case(agent, category, title=f"Case {i}", impact=1 + i % 3).pk for i in range(7)}
    workflow.case_take(case_id=min(ids), actor=agent)
    workflow.case_pause(case_id=min(ids), actor=agent, reason="Waiting")  # unscheduled: the second phase
    seen, cursor, now = [], None, timezone.now()
    with CaptureQueriesContext(connection) as queries:
        while True:
            result = selectors.queue_page(
                agent, scope="team", filters=selectors.QueueFilters(), now=now, cursor=cursor, per_page=3
            )
            seen += [row.case.pk for row in result.rows]
            cursor = result.next_cursor
            if cursor is None:
                break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) and seen[-1] == min(ids)
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def _link(body: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', body)
    return found.group(1).replace("&amp;", "&") if found else None


def _case_ids(body: str) -> list[str]:
    return re.findall(r'href="/cases/(\d+)/"', body)


def test_queue_pages_forward_and_back(client, agent, category):
    for i in range(2 * selectors.PAGE_SIZE + 3):
        open_case(agent, category, title=f"Paging case {i}")
    login(client, agent)
    url = reverse("team-queue")
    pages, bodies = [url + "?q=Paging"], []
    for _ in range(3):
        bodies.append(client.get(pages[-1]).content.decode())
        following = _link(bodies[-1], "next")
        if following:
            pages.append(url + following)
    assert len(pages) == 3 and _link(bodies[-1], "next") is None
    assert _link(bodies[0], "prev") is None
    back = client.get(url + _link(bodies[2], "prev")).content.decode()
    assert _case_ids(back) == _case_ids(bodies[1])
    first = client.get(url + _link(back, "prev")).content.decode()
    assert _case_ids(first) == _case_ids(bodies[0]) and _link(first, "prev") is None
    assert "Paging" in first  # the search is kept on the way back
    # A damaged trail loses only the way back.
    damaged = client.get(pages[2] + "~not-a-cursor")
    assert damaged.status_code == 200 and _link(damaged.content.decode(), "prev") is None


def test_queue_filters_and_search(client, agent, category):
    a = open_case(agent, category, title="Printer jammed", impact=1, urgency=1)
    b = open_case(agent, category, title="Mailbox full", requester_name="Zed Zebra")
    login(client, agent)
    body = text(client.get(reverse("team-queue"), {"q": f"#{a.pk}"}))
    assert "Printer jammed" in body and "Mailbox full" not in body
    body = text(client.get(reverse("team-queue"), {"q": "zebra"}))
    assert "Mailbox full" in body and "Printer jammed" not in body
    body = text(client.get(reverse("team-queue"), {"priority": "1"}))
    assert "Printer jammed" in body and "Mailbox full" not in body
    workflow.case_take(case_id=b.pk, actor=agent)
    body = text(client.get(reverse("team-queue"), {"assigned": "unassigned"}))
    assert "Printer jammed" in body and "Mailbox full" not in body


def test_bad_filters_are_explained_not_fatal(client, agent, case):
    response = login(client, agent).get(reverse("team-queue"), {"priority": "9", "cursor": "garbage|x|y"})
    assert response.status_code == 400 and "Select a valid choice" in text(response)
    assert "VPN keeps disconnecting" in text(response)


# -- intake ----------------------------------------------------------------------------------


def intake_data(category, **overrides):
    data = {
        "requester_name": "Rita",
        "requester_email": "rita@example.com",
        "title": "Laptop will not boot",
        "category": category.pk,
        "impact": "1",
        "urgency": "2",
        "complexity": "medium",
        "customer_tier": "standard",
        "description": "Black screen after update.",
    }
    data.update(overrides)
    return data


def test_new_case_opens_with_priority_from_the_matrix(client, agent, category):
    response = login(client, agent).post(reverse("case-new"), intake_data(category))
    case = Case.objects.get(title="Laptop will not boot")
    assert response["Location"] == page(case)
    assert case.priority == 2 and case.level.code == "L1" and case.created_by == agent
    assert "opened at L1 with priority P2 high" in text(client.get(page(case)))


def test_new_case_errors_sit_beside_fields_and_keep_input(client, agent, category):
    response = login(client, agent).post(
        reverse("case-new"), intake_data(category, requester_email="not-an-email", title="")
    )
    body = text(response)
    assert response.status_code == 400 and not Case.objects.exists()
    assert 'id="id_title_errors"' in body and 'id="id_requester_email_errors"' in body
    assert 'aria-invalid="true"' in body and 'value="not-an-email"' in body and "Black screen after update." in body


def test_similar_open_cases_are_shown_before_submitting(client, agent, category):
    open_case(agent, category, title="Laptop screen flickers")
    login(client, agent)
    response = client.post(reverse("case-new"), intake_data(category, check="1"))
    assert "Similar open cases" in text(response) and "Laptop screen flickers" in text(response)
    assert Case.objects.count() == 1  # checking created nothing
    fragment = client.get(reverse("case-similar"), {"title": "laptop broken", "category": category.pk})
    assert "Laptop screen flickers" in text(fragment)
    assert "No similar open cases" in text(client.get(reverse("case-similar"), {"title": "zzzqqq"}))


# -- case page and actions -------------------------------------------------------------------


def test_case_page_shows_clock_timeline_and_knowledge(client, agent, specialist, category):
    c = escalated(agent, category, title="VPN drops")
    workflow.case_return(case_id=c.pk, actor=specialist, reason="Known issue, KB has it")
    workflow.case_note(case_id=c.pk, actor=agent, body="Called the customer")
    rule = TriggerRule.objects.first()
    RuleFiring.objects.create(
        case_id=c.pk,
        rule=rule,
        level=Level.objects.get(code="L1"),
        fired_at=timezone.now(),
        reason="75% of the response target used",
    )
    KnowledgeArticle.objects.create(title="VPN drops every few minutes", body="Update the VPN client.")
    body = text(login(client, agent).get(page(c)))
    for expected in (
        "SLA clock",
        "Response target",
        "Internal note",
        "Called the customer",
        "Handoff",
        "Escalated L1 → L2",
        HANDOFF.steps_tried,
        "Returned by sam",
        "Known issue, KB has it",
        "Rule fired at L1",
        "75% of the response target used",
        "Status: In progress → Escalated",
        "VPN drops every few minutes",
    ):
        assert expected in body, expected


def test_similar_resolved_cases_load_after_the_page(client, agent, category):
    done = open_case(agent, category, title="VPN tunnel drops hourly")
    workflow.case_take(case_id=done.pk, actor=agent)
    workflow.case_resolve(case_id=done.pk, actor=agent, summary="Replaced the VPN gateway")
    current = open_case(agent, category, title="VPN drops again")
    login(client, agent)
    url = reverse("case-similar-resolved", args=[current.pk])
    assert f'data-src="{url}"' in text(client.get(page(current)))  # linked, fetched by the page's script
    body = text(client.get(url))
    assert "<html" in body and "VPN tunnel drops hourly" in body and "Replaced the VPN gateway" in body
    fragment = text(client.get(url, headers={"X-Requested-With": "fetch"}))
    assert "<html" not in fragment and "VPN tunnel drops hourly" in fragment


def test_take_assign_note_update(client, agent, agent2, case):
    login(client, agent)
    assert client.post(act(case, "take"), {"take-version": case.version}).status_code == 302
    case.refresh_from_db()
    assert case.assignee == agent and case.status == S.IN_PROGRESS
    body = text(client.get(page(case)))
    assert f'<option value="{agent2.pk}">arthur (L1, 0 of 10 open cases)</option>' in body
    response = client.post(act(case, "assign"), {"assign-assignee": agent2.pk, "assign-version": case.version})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).assignee == agent2
    assert client.post(act(case, "note"), {"note-body": "Internal detail"}).status_code == 302
    case.refresh_from_db()
    response = client.post(
        act(case, "public-update"), {"public-update-body": "We are on it", "public-update-version": case.version}
    )
    assert response.status_code == 302
    assert Note.objects.filter(case=case).count() == 2
    assert Notification.objects.filter(case=case, event="public_update", recipient="rita@example.com").exists()


def test_colleague_at_capacity_is_not_offered(client, agent, agent2, case):
    StaffProfile.objects.filter(user=agent2).update(capacity=1)
    open_case(agent, title="Busy", category=case.category)
    workflow.case_assign(case_id=Case.objects.get(title="Busy").pk, actor=agent, assignee_id=agent2.pk)
    body = text(login(client, agent).get(page(case)))
    assert "arthur (L1" not in body


def test_pause_and_resume(client, agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    login(client, agent)
    response = client.post(act(case, "pause"), {"pause-reason": "", "pause-version": case.version})
    assert response.status_code == 400 and 'id="id_pause-reason_errors"' in text(response)
    client.post(act(case, "pause"), {"pause-reason": "Waiting for logs", "pause-version": case.version})
    case.refresh_from_db()
    assert case.status == S.AWAITING_CUSTOMER and "Paused since" in text(client.get(page(case)))
    client.post(act(case, "resume"), {"resume-reason": "", "resume-version": case.version})
    assert Case.objects.get(pk=case.pk).status == S.IN_PROGRESS


def test_escalate_needs_a_handoff_and_a_skip_needs_a_justification(client, agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    login(client, agent)
    data = {
        "escalate-version": case.version,
        "escalate-to_level": "L3",
        "escalate-summary": "Needs seniors",
        "escalate-steps_tried": "Everything",
        "escalate-customer_impact": "",
        "escalate-justification": "",
    }
    response = client.post(act(case, "escalate"), data)
    assert response.status_code == 400 and 'id="id_escalate-customer_impact_errors"' in text(response)
    data["escalate-customer_impact"] = "Office offline"
    response = client.post(act(case, "escalate"), data)
    body = text(response)
    assert response.status_code == 400 and "A skip-level jump needs a justification." in body
    assert "Needs seniors" in body and "Office offline" in body  # nothing typed is lost
    data["escalate-justification"] = "Data centre outage"
    assert client.post(act(case, "escalate"), data).status_code == 302
    esc = Escalation.objects.get(case=case)
    assert esc.kind == "jump" and esc.to_level.code == "L3" and esc.justification == "Data centre outage"


def test_accept_and_return_at_the_receiving_level(client, agent, specialist, category):
    c = escalated(agent, category)
    assert 'id="follow-only"' in text(login(client, agent).get(page(c)))  # above the agent's level: read only
    login(client, specialist)
    response = client.post(act(c, "return"), {"return-reason": "", "return-version": c.version})
    assert response.status_code == 400 and 'id="id_return-reason_errors"' in text(response)
    client.post(act(c, "return"), {"return-reason": "Belongs at L1", "return-version": c.version})
    c.refresh_from_db()
    assert c.level.code == "L1" and c.assignee == agent
    workflow.case_escalate(case_id=c.pk, actor=agent, handoff=HANDOFF)
    c.refresh_from_db()
    assert client.post(act(c, "accept"), {"accept-version": c.version}).status_code == 302
    assert Case.objects.get(pk=c.pk).assignee == specialist


def test_approval_requested_and_decided_by_authority(client, agent, specialist, senior, category):
    c = escalated(agent, category)
    workflow.case_accept(case_id=c.pk, actor=specialist)
    login(client, specialist)
    response = client.post(
        act(c, "request-approval"),
        {
            "request-approval-kind": "spend",
            "request-approval-amount": "",
            "request-approval-description": "Replace router",
        },
    )
    assert response.status_code == 400 and 'id="id_request-approval-amount_errors"' in text(response)
    client.post(
        act(c, "request-approval"),
        {
            "request-approval-kind": "spend",
            "request-approval-amount": "5000",
            "request-approval-description": "Replace router",
        },
    )
    req = ApprovalRequest.objects.get(case=c)
    assert req.required_level.code == "L3"
    assert "Waiting for someone at L3 or above" in text(client.get(page(c)))
    url = reverse("approval-decide", args=[req.pk])
    assert client.post(url, {f"decide{req.pk}-decision": "approve"}).status_code == 403
    login(client, senior)
    response = client.post(url, {f"decide{req.pk}-decision": "reject", f"decide{req.pk}-note": ""})
    assert response.status_code == 400 and "Say why the request is rejected." in text(response)
    assert client.post(url, {f"decide{req.pk}-decision": "approve"}).status_code == 302
    assert ApprovalRequest.objects.get(pk=req.pk).status == "approved"


def test_resolve_publish_reopen_close(client, agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    login(client, agent)
    response = client.post(act(case, "resolve"), {"resolve-summary": " ", "resolve-version": case.version})
    assert response.status_code == 400 and 'id="id_resolve-summary_errors"' in text(response)
    client.post(
        act(case, "resolve"),
        {"resolve-summary": "Reset the tunnel", "resolve-publish_article": "on", "resolve-version": case.version},
    )
    case.refresh_from_db()
    assert case.status == S.RESOLVED and KnowledgeArticle.objects.get(cases=case).body == "Reset the tunnel"
    client.post(act(case, "reopen"), {"reopen-reason": "Came back", "reopen-version": case.version})
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS and case.reopen_count == 1
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed for real")
    case.refresh_from_db()
    client.post(act(case, "close"), {"close-reason": "", "close-version": case.version})
    assert Case.objects.get(pk=case.pk).status == S.CLOSED


def test_stale_form_says_what_changed_and_keeps_input(client, agent, agent2, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    seen = case.version
    workflow.case_assign(case_id=case.pk, actor=agent2, assignee_id=agent2.pk)  # someone else, meanwhile
    response = login(client, agent).post(
        act(case, "resolve"), {"resolve-summary": "My careful summary", "resolve-version": seen}
    )
    body = text(response)
    assert response.status_code == 409
    assert "This case changed since you opened it" in body and "Assigned to arthur" in body
    assert "Assignee: alice → arthur" in body and "My careful summary" in body
    current = Case.objects.get(pk=case.pk).version
    assert f'name="resolve-version" value="{current}"' in body
    client.post(act(case, "resolve"), {"resolve-summary": "My careful summary", "resolve-version": current})
    assert Case.objects.get(pk=case.pk).status == S.RESOLVED


def test_stale_form_on_a_case_that_moved_out_of_sight_gives_the_input_back(client, agent, agent2, category):
    case = open_case(agent2, category, title="Opened by a colleague")  # alice neither opens nor follows it
    workflow.case_take(case_id=case.pk, actor=agent2)
    seen = Case.objects.get(pk=case.pk).version
    workflow.case_escalate(case_id=case.pk, actor=agent2, handoff=HANDOFF)  # now at L2, above alice
    response = login(client, agent).post(
        act(case, "resolve"), {"resolve-summary": "My careful summary", "resolve-version": seen}
    )
    body = text(response)
    assert response.status_code == 404 and "out of your sight" in body and "Nothing was changed" in body
    assert "Resolution summary" in body and "My careful summary" in body


def test_actions_not_allowed_are_not_offered_and_refused(client, agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    body = text(login(client, agent).get(page(case)))
    assert "Reopen" not in body and "Accept the escalation" not in body
    response = client.post(act(case, "accept"), {"accept-version": case.version})
    assert response.status_code == 400 and "You cannot accept" in text(response)
    assert client.post(act(case, "nonsense"), {}).status_code == 404
    assert client.get(act(case, "take")).status_code == 405


def test_auditor_reads_but_cannot_act(client, auditor, agent, case):
    login(client, auditor)
    body = text(client.get(page(case)))
    assert "VPN keeps disconnecting" in body and "read-only access" in body
    assert '<form method="post" action="/cases' not in body
    for name in ("take", "note", "resolve"):
        assert client.post(act(case, name), {f"{name}-version": case.version, f"{name}-body": "x"}).status_code == 403
    assert client.get(reverse("case-new")).status_code == 403
    assert client.post(reverse("article-link", args=[case.pk]), {"link-article": 1}).status_code == 403
    assert Case.objects.get(pk=case.pk).version == case.version


def test_csrf_is_enforced(agent, case):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post(act(case, "take"), {"take-version": case.version}).status_code == 403
    assert Case.objects.get(pk=case.pk).assignee is None


# -- requester's link ------------------------------------------------------------------------


@pytest.fixture
def resolved(agent, case):
    workflow.case_take(case_id=case.pk, actor=agent)
    return workflow.case_resolve(case_id=case.pk, actor=agent, summary="Replaced the cable")


def test_requester_confirms_without_an_account(client, resolved):
    url = reverse("requester-confirm", args=[requester.confirmation_token(resolved)])
    assert "Replaced the cable" in text(client.get(url))
    response = client.post(url, {"answer": "confirm"})
    assert "the case is closed" in text(response) and Case.objects.get(pk=resolved.pk).status == S.CLOSED
    assert "nothing to confirm" in text(client.get(url))


def test_requester_rejects_with_a_reason(client, resolved):
    url = reverse("requester-confirm", args=[requester.confirmation_token(resolved)])
    assert client.post(url, {"answer": "maybe", "reason": "kept"}).status_code == 400
    client.post(url, {"answer": "reject", "reason": "Still broken"})
    case = Case.objects.get(pk=resolved.pk)
    assert case.status == S.IN_PROGRESS and "Still broken" in case.history.first().history_change_reason


def test_requester_link_bad_or_expired(client, resolved, monkeypatch):
    assert client.get(reverse("requester-confirm", args=["forged:token"])).status_code == 404
    url = reverse("requester-confirm", args=[requester.confirmation_token(resolved)])
    monkeypatch.setattr(requester, "MAX_AGE_DAYS", -1)
    assert client.get(url).status_code == 410
    assert client.post(url, {"answer": "confirm"}).status_code == 410


def test_resolution_email_carries_the_link(resolved):
    row = Notification.objects.get(case=resolved, event="resolved")
    link = requester.confirmation_url(resolved)  # signed now: the timestamp may be a second later
    payload = link.split("/confirm/")[1].split(":")[0]
    assert f"{link.split('/confirm/')[0]}/confirm/{payload}:" in row.body


# -- review ----------------------------------------------------------------------------------


def closed_escalated(agent, specialist, category):
    c = escalated(agent, category, title="Escalated and closed")
    workflow.case_accept(case_id=c.pk, actor=specialist)
    workflow.case_resolve(case_id=c.pk, actor=specialist, summary="Done")
    workflow.case_close(case_id=c.pk, actor=specialist)
    return Case.objects.get(pk=c.pk)


def test_review_of_a_closed_escalated_case(client, agent, specialist, senior, category):
    c = closed_escalated(agent, specialist, category)
    url = reverse("case-review", args=[c.pk])
    assert login(client, agent).get(url).status_code == 403  # the agent reads the case (escalated it), no review
    assert login(client, specialist).get(url).status_code == 403  # no review permission
    login(client, senior)
    assert "Write the review" in text(client.get(page(c)))
    response = client.post(url, {"root_cause": "", "went_well": "Fast handoff"})
    assert response.status_code == 400 and 'id="id_root_cause_errors"' in text(response)
    assert "Fast handoff" in text(response)
    client.post(url, {"root_cause": "Expired certificate", "escalation_warranted": "no", "complete": "on"})
    review = Review.objects.get(case=c)
    assert review.status == "completed" and review.escalation_warranted is False
    assert "Review completed" in text(client.get(page(c)))
    assert "Expired certificate" in text(client.get(url))


# -- knowledge -------------------------------------------------------------------------------


def test_knowledge_list_search_detail_link_unlink(client, agent, case):
    article = KnowledgeArticle.objects.create(title="VPN tunnel resets", body="Disable IPv6 on the adapter.")
    KnowledgeArticle.objects.create(title="Printer toner", body="Shake the cartridge.")
    login(client, agent)
    body = text(client.get(reverse("kb-list"), {"q": "adapter"}))
    assert "VPN tunnel resets" in body and "Printer toner" not in body
    assert "Disable IPv6" in text(client.get(reverse("kb-detail", args=[article.pk])))
    assert "VPN tunnel resets" in text(client.get(page(case)))  # suggested
    response = client.post(reverse("article-link", args=[case.pk]), {"link-article": 99999})
    assert response.status_code == 400 and "no published article" in text(response)
    client.post(reverse("article-link", args=[case.pk]), {"link-article": article.pk})
    assert list(case.articles.all()) == [article]
    assert f"#{case.pk}" in text(client.get(reverse("kb-detail", args=[article.pk])))
    client.post(reverse("article-unlink", args=[case.pk, article.pk]))
    assert not case.articles.exists()
    reasons = list(article.history.values_list("history_change_reason", flat=True))
    assert f"Linked to case #{case.pk}" in reasons and f"Unlinked from case #{case.pk}" in reasons


def test_time_left_is_text_not_colour_alone(agent, case):
    now = timezone.now()
    case.refresh_from_db()
    assert selectors.sla_text(case, now)[0].startswith("Response due in")
    assert selectors.sla_text(case, case.response_due_at + timedelta(minutes=5))[0] == "Response overdue by 5 min"

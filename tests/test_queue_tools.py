"""The queue pages' tools (issue 12): the live poll, bulk actions on checked rows, saved
filters and the filter last used. Browser tests: tests/test_queue_tools_browser.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalations import workflow
from escalations.actions import bulk
from escalations.models import Case, Note, SavedQueueFilter
from escalations.workflow import preferences

from .factories import HANDOFF, CategoryFactory, open_case, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def category(db):
    return CategoryFactory(code="network", name="Network")


def live(client, scope="team", **params):
    name = {"mine": "my-queue-live", "team": "team-queue-live", "following": "following-queue-live"}[scope]
    return client.get(reverse(name), params)


def mark_of(client, url="team-queue") -> str:
    page = client.get(reverse(url))
    assert page.status_code == 200
    return page.context["live_url"].split("mark=")[1]


# -- live --------------------------------------------------------------------------------------


def test_the_poll_counts_cases_opened_since_the_page_and_sends_fresh_rows(client, agent, agent2, category):
    old = open_case(agent2, category, title="Already there")
    client.force_login(agent)
    mark = mark_of(client)
    answer = live(client, mark=mark)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    assert answer.json()["new"] == 0 and f'data-case="{old.pk}"' in answer.json()["rows"]

    new = open_case(agent2, category, title="Opened while the page was open")
    data = live(client, mark=mark).json()
    assert data["new"] == 1 and not data["capped"]
    assert "Opened while the page was open" in data["rows"]
    assert f'value="{new.pk}:{new.version}"' in data["rows"]  # the bulk checkbox carries the version


def test_the_poll_sees_what_the_page_sees(client, agent, agent2, specialist, category):
    client.force_login(agent)
    mark = mark_of(client)
    up = open_case(agent2, category, title="Went up to L2")
    workflow.case_take(case_id=up.pk, actor=agent2)
    workflow.case_escalate(case_id=up.pk, actor=agent2, handoff=HANDOFF)
    data = live(client, mark=mark).json()
    assert data["new"] == 0 and "Went up to L2" not in data["rows"]
    client.force_login(specialist)
    data = live(client, mark=mark).json()  # L2's team queue: the escalated case is there
    assert data["new"] == 1 and "Went up to L2" in data["rows"]


def test_the_poll_applies_the_page_filters(client, agent, agent2, category):
    client.force_login(agent)
    mark = mark_of(client)
    open_case(agent2, category, title="A P3 case", impact=3, urgency=3)
    p1 = open_case(agent2, category, title="A P1 case", impact=1, urgency=1)
    data = live(client, mark=mark, priority=p1.priority).json()
    assert data["new"] == 1 and "A P1 case" in data["rows"] and "A P3 case" not in data["rows"]


def test_my_queue_and_following_polls(client, agent, agent2, category):
    client.force_login(agent)
    mark = mark_of(client, "my-queue")
    mine = open_case(agent, category, title="Mine now")
    workflow.case_take(case_id=mine.pk, actor=agent)
    assert live(client, "mine", mark=mark).json()["new"] == 1
    assert live(client, "following", mark=mark).json()["new"] == 1  # the opener follows it
    open_case(agent2, category, title="Someone else's")
    assert live(client, "following", mark=mark).json()["new"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mark": ""},
        {"mark": "-1"},
        {"mark": "x"},
        {"mark": "99999999999999999999999"},
        {"mark": "1", "priority": "9"},
        {"mark": "1", "cursor": "1|0001-01-01T00:00:00+14:00|1"},
        {"mark": "1", "q": "x" * 5000},
        {"mark": "1", "level": "L9"},
        {"mark": "\x00"},  # refused before the view (a NUL anywhere in a query string)
    ],
)
@pytest.mark.parametrize("scope", ["team", "following"])
def test_junk_in_the_poll_is_a_400_with_the_reason(client, agent, params, scope):
    client.force_login(agent)
    answer = live(client, scope, **params)
    if scope == "following" and set(params) - {"mark"} and params.get("mark") == "1":
        assert answer.status_code == 200  # Following has no filters: they are ignored
        return
    assert answer.status_code == 400
    assert "\x00" in params.get("mark", "") or answer.json()["problems"]


def test_the_poll_needs_sign_in(client):
    answer = client.get(reverse("team-queue-live"), {"mark": "1"})
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_the_poll_costs_the_same_for_one_row_and_twenty(client, agent, agent2, category):
    client.force_login(agent)
    open_case(agent2, category)
    mark = 0

    def cost():
        client.get(reverse("team-queue-live"), {"mark": mark})  # warm (sessions, config cache)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("team-queue-live"), {"mark": mark}).status_code == 200
        return len(queries)

    one = cost()
    for i in range(19):
        case = open_case(agent2, category, title=f"Case {i}")
        if i % 2:
            workflow.case_take(case_id=case.pk, actor=agent2)
    assert cost() == one


# -- bulk ----------------------------------------------------------------------------------------


def post_bulk(client, action, cases, **fields):
    data = {"action": action, "case": [f"{c.pk}:{c.version}" for c in cases], "next": reverse("team-queue"), **fields}
    return client.post(reverse("queue-bulk"), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def history_rows(case) -> int:
    return Case.history.filter(id=case.pk).count()


def test_bulk_take_does_each_case_and_refuses_the_one_that_changed(client, agent, agent2, category):
    cases = [open_case(agent2, category, title=f"Case {i}") for i in range(3)]
    seen = [Case.objects.get(pk=c.pk) for c in cases]  # the versions the page showed
    before = {c.pk: history_rows(c) for c in cases}
    workflow.case_take(case_id=cases[1].pk, actor=agent2)  # changed since the page was shown
    after_change = history_rows(cases[1])
    client.force_login(agent)
    response = post_bulk(client, "take", seen)
    assert response.status_code == 302 and response["Location"] == reverse("team-queue")
    said = " ".join(messages_of(response))
    assert "done on 2 of 3 cases" in said and "refused on 1 of 3" in said
    assert f"#{cases[1].pk}: Case #{cases[1].pk} changed since you opened it" in said
    for c in (cases[0], cases[2]):
        assert Case.objects.get(pk=c.pk).assignee == agent
        assert history_rows(c) == before[c.pk] + 1  # one history row per case
        assert Case.history.filter(id=c.pk).latest("history_id").history_user == agent
    assert Case.objects.get(pk=cases[1].pk).assignee == agent2
    assert history_rows(cases[1]) == after_change


def test_bulk_assign_stays_within_the_case_level(client, agent, agent2, specialist, category):
    here = open_case(agent2, category, title="At L1")
    up = open_case(agent2, category, title="Going up")
    workflow.case_take(case_id=up.pk, actor=agent2)
    workflow.case_escalate(case_id=up.pk, actor=agent2, handoff=HANDOFF)
    workflow.case_accept(case_id=up.pk, actor=specialist)
    manager = staff("Manager", "mona")
    client.force_login(manager)
    response = post_bulk(
        client, "assign", [Case.objects.get(pk=here.pk), Case.objects.get(pk=up.pk)], assignee=agent.pk
    )
    said = " ".join(messages_of(response))
    assert Case.objects.get(pk=here.pk).assignee == agent
    assert Case.objects.get(pk=up.pk).assignee == specialist
    assert f"#{up.pk}: " in said and "does not work at L2" in said


def test_bulk_note_and_follow(client, agent, agent2, category):
    theirs = open_case(agent2, category, title="Theirs")
    mine = open_case(agent, category, title="Mine")  # the opener follows it already
    client.force_login(agent)
    response = post_bulk(client, "note", [theirs, mine], body="Same outage as #1")
    assert Note.objects.filter(body="Same outage as #1").count() == 2
    assert "done on 2 of 2" in " ".join(messages_of(response))
    response = post_bulk(client, "follow", [Case.objects.get(pk=theirs.pk), Case.objects.get(pk=mine.pk)])
    said = " ".join(messages_of(response))
    assert "done on 1 of 2" in said and f"#{mine.pk}: You already follow case #{mine.pk}" in said
    assert theirs.watchers.filter(pk=agent.pk).exists()


def test_bulk_refuses_cases_out_of_sight_without_saying_more(client, agent, agent2, specialist, category):
    up = open_case(agent2, category, title="Secret at L2")
    workflow.case_take(case_id=up.pk, actor=agent2)
    workflow.case_escalate(case_id=up.pk, actor=agent2, handoff=HANDOFF)
    workflow.case_accept(case_id=up.pk, actor=specialist)
    outsider = staff("Agent", "olga")
    outcomes = bulk.run(outsider, "take", [(up.pk, Case.objects.get(pk=up.pk).version), (10**12, 0)], {})
    assert [o.message for o in outcomes] == [bulk.OUT_OF_SIGHT, bulk.OUT_OF_SIGHT]
    assert Case.objects.get(pk=up.pk).assignee == specialist


def test_bulk_input_is_bounded_and_checked(client, agent, agent2, category):
    case = open_case(agent2, category)
    client.force_login(agent)
    cases = [f"{i}:0" for i in range(1, 102)]
    for data, message in [
        ({"action": "take", "case": cases}, "at most 100 cases"),
        ({"action": "take"}, "Choose at least one case"),
        ({"action": "take", "case": ["1:x"]}, "damaged"),
        ({"action": "take", "case": ["99999999999999999999:1"]}, "damaged"),
        ({"action": "burn", "case": [f"{case.pk}:{case.version}"]}, "Choose take, assign, note or follow"),
        ({"action": "assign", "case": [f"{case.pk}:{case.version}"]}, "Choose whom"),
        ({"action": "assign", "case": [f"{case.pk}:{case.version}"], "assignee": "999999"}, "valid choice"),
        ({"action": "note", "case": [f"{case.pk}:{case.version}"], "body": "  "}, "Write the note"),
    ]:
        response = client.post(reverse("queue-bulk"), data)
        assert response.status_code == 302, data
        assert any(message in m for m in messages_of(response)), (data, messages_of(response))
    assert Case.objects.get(pk=case.pk).version == case.version
    with pytest.raises(ValueError):
        bulk.run(agent, "take", [(i, 0) for i in range(1, 102)], {})
    with pytest.raises(ValueError):
        bulk.run(agent, "resolve", [(case.pk, case.version)], {})


def test_bulk_goes_back_only_to_a_queue(client, agent, agent2, category):
    case = open_case(agent2, category)
    client.force_login(agent)
    for target, expected in [
        ("https://evil.example/queue/team/", reverse("my-queue")),
        ("/admin/", reverse("my-queue")),
        ("/queue/team/?priority=1", "/queue/team/?priority=1"),
    ]:
        response = post_bulk(client, "follow", [case], next=target)
        assert response["Location"] == expected


def test_bulk_is_post_with_csrf_and_not_for_auditors(agent, agent2, auditor, category):
    case = open_case(agent2, category)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert (
        strict.post(reverse("queue-bulk"), {"action": "take", "case": f"{case.pk}:{case.version}"}).status_code == 403
    )
    assert strict.get(reverse("queue-bulk")).status_code == 405
    reader = Client()
    reader.force_login(auditor)
    assert (
        reader.post(reverse("queue-bulk"), {"action": "take", "case": f"{case.pk}:{case.version}"}).status_code == 403
    )
    assert Case.objects.get(pk=case.pk).version == case.version


def test_the_queue_page_offers_the_bar_and_checkboxes_to_writers_only(client, agent, agent2, auditor, category):
    case = open_case(agent2, category)
    client.force_login(agent)
    page = client.get(reverse("team-queue")).content.decode()
    assert 'id="bulk-form"' in page and f'value="{case.pk}:{case.version}"' in page
    client.force_login(auditor)
    page = client.get(reverse("team-queue")).content.decode()
    assert 'id="bulk-form"' not in page and 'name="case"' not in page


# -- saved filters -------------------------------------------------------------------------------


def test_save_pick_and_delete_a_filter(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("queue-filter-save"), {"queue": "team", "name": "  Urgent  ones ", "query": "priority=1&junk=1&q=vpn"}
    )
    assert response.status_code == 302 and response["Location"] == "/queue/team/?q=vpn&priority=1"
    row = SavedQueueFilter.objects.get(user=agent, name="Urgent ones")
    assert row.query == "q=vpn&priority=1"  # parsed again by the queue's form: only valid fields kept
    page = client.get(reverse("team-queue"), {"priority": "2"}).content.decode()
    assert 'href="?q=vpn&amp;priority=1">Urgent ones</a>' in page
    # the same name again replaces it
    client.post(reverse("queue-filter-save"), {"queue": "team", "name": "Urgent ones", "query": "priority=2"})
    assert SavedQueueFilter.objects.get(user=agent, name="Urgent ones").query == "priority=2"
    response = client.post(reverse("queue-filter-delete", args=[row.pk]))
    assert response.status_code == 302 and not SavedQueueFilter.objects.filter(pk=row.pk).exists()


def test_a_filter_is_refused_with_a_reason(client, agent):
    client.force_login(agent)
    for data in [
        {"queue": "team", "name": "", "query": "priority=1"},
        {"queue": "team", "name": "x" * 81, "query": "priority=1"},
        {"queue": "following", "name": "A", "query": ""},
        {"queue": "team", "name": "A", "query": "q=" + "x" * 1000},
    ]:
        response = client.post(reverse("queue-filter-save"), data)
        assert response.status_code == 302
        assert any("not saved" in m for m in messages_of(response)), data
    assert not SavedQueueFilter.objects.exclude(name="").exists()
    with pytest.raises(workflow.InvalidAction, match="at most 50"):
        for i in range(51):
            preferences.filter_save(agent, "mine", f"Filter {i}", "")


def test_nobody_deletes_someone_elses_filter(client, agent, agent2):
    theirs, _ = preferences.filter_save(agent2, "team", "Mine", "priority=1")
    client.force_login(agent)
    assert client.post(reverse("queue-filter-delete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("queue-filter-delete", args=[10**15])).status_code == 404
    assert SavedQueueFilter.objects.filter(pk=theirs.pk).exists()


def test_the_filter_last_used_is_applied_when_the_queue_opens_bare(client, agent):
    client.force_login(agent)
    assert client.get(reverse("team-queue")).status_code == 200  # never filtered: no redirect
    client.get(reverse("team-queue"), {"priority": "1", "assigned": "unassigned"})
    assert SavedQueueFilter.objects.get(user=agent, queue="team", name="").query == "priority=1&assigned=unassigned"
    response = client.get(reverse("team-queue"))
    assert response.status_code == 302 and response["Location"] == "/queue/team/?priority=1&assigned=unassigned"
    assert client.get(reverse("my-queue")).status_code == 200  # per queue
    page = client.get(response["Location"]).content.decode()
    assert 'href="?clear=1">Clear filters</a>' in page
    client.get(reverse("team-queue"), {"clear": "1"})  # cleared: the bare queue is the bare queue again
    assert client.get(reverse("team-queue")).status_code == 200
    assert SavedQueueFilter.objects.get(user=agent, queue="team", name="").query == ""


def test_an_invalid_filter_is_not_remembered(client, agent):
    client.force_login(agent)
    assert client.get(reverse("team-queue"), {"priority": "9", "assigned": "me"}).status_code == 400
    assert SavedQueueFilter.objects.get(user=agent, queue="team", name="").query == "assigned=me"


def test_saving_needs_csrf(agent):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert strict.post(reverse("queue-filter-save"), {"queue": "team", "name": "A"}).status_code == 403
    assert not SavedQueueFilter.objects.exists()


# -- junk ------------------------------------------------------------------------------------------

JUNK = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.sampled_from(["", "-1", "0", "1:0", "1:-1", "9" * 30, "9" * 30 + ":1", "1:" + "9" * 30, "x" * 3000, "L9"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def test_the_tools_survive_junk(agent, agent2, category):
    case = open_case(agent2, category)
    client = Client(raise_request_exception=True)
    client.force_login(agent)
    names = ["action", "case", "assignee", "body", "next", "queue", "name", "query", "mark", "cursor", "priority"]

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(["/queue/bulk/", "/queue/filters/save/", f"/queue/filters/{case.pk}/delete/"]),
        st.dictionaries(st.sampled_from(names), st.one_of(JUNK, st.lists(JUNK, max_size=3)), max_size=6),
        st.sampled_from(["/queue/mine/live/", "/queue/team/live/", "/queue/following/live/"]),
    )
    def check(post_url, data, live_url):
        assert client.post(post_url, data).status_code < 500
        flat = {k: v[0] if isinstance(v, list) and v else v for k, v in data.items()}
        assert client.get(live_url, {k: v for k, v in flat.items() if isinstance(v, str)}).status_code < 500

    check()

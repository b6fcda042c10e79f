"""No malformed or forged request yields a 500: every POST endpoint (and the GET endpoints
that read parameters) fed generated input — junk text, NUL bytes, huge and non-finite
numbers, missing and unknown fields, wrong users, absurd ids in the URL."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalations import workflow
from escalations.actions import catalogue
from escalations.domain import requester_links as requester
from escalations.models import ApprovalRequest, CannedReply, KnowledgeArticle

from .factories import HANDOFF, CategoryFactory, open_case, staff

pytestmark = pytest.mark.django_db

ACTIONS = {a.slug: a for a in catalogue.case_page_actions()}

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "NaN",
            "-Infinity",
            "1e999",
            "-1",
            "0",
            "2147483648",
            "99999999999999999999999",
            "3.14",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "L9",
            "EXEC",
            "approve",
            "reject",
            "yes",
            "no",
            "on",
            "spend",
            "major_incident",
            "x" * 20_000,
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def form_data(prefix: str, fields: list[str]):
    names = st.sampled_from([f"{prefix}-{f}" if prefix else f for f in fields] + ["junk", "csrfmiddlewaretoken"])
    return st.dictionaries(names, junk, max_size=len(fields) + 2)


@pytest.fixture
def world(agent, specialist, senior):
    category = CategoryFactory(code="fuzz")
    case = open_case(agent, category)
    up = open_case(agent, category, title="Escalated")
    workflow.case_take(case_id=up.pk, actor=agent)
    workflow.case_escalate(case_id=up.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=up.pk, actor=specialist)
    approval = workflow.approval_request(
        case_id=up.pk, actor=specialist, kind="spend", amount="10", description="Fuzz me"
    )
    article = KnowledgeArticle.objects.create(title="Fuzz article", body="Body")
    CannedReply.objects.create(name="Fuzz reply", body="Hello {requester_name} {case_ref} {x}")
    return {
        "case": case,
        "up": up,
        "approval": approval,
        "article": article,
        "agent": agent,
        "specialist": specialist,
        "senior": senior,
    }


def client_for(user) -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client


def assert_no_server_error(response):
    assert response.status_code < 500, response.content[:500]


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_case_actions_survive_junk(world, action):
    form = ACTIONS[action].form
    fields = list(form.base_fields)
    clients = [client_for(world["agent"]), client_for(world["specialist"])]

    @FUZZ
    @given(data=form_data(action, fields), who=st.integers(0, 1), which=st.sampled_from(["case", "up"]))
    def check(data, who, which):
        response = clients[who].post(f"/cases/{world[which].pk}/{action}/", data)
        assert_no_server_error(response)

    check()


def test_new_case_survives_junk(world):
    from escalations.actions.forms import NewCaseForm

    client = client_for(world["agent"])

    @FUZZ
    @given(data=form_data("", list(NewCaseForm.base_fields) + ["check"]))
    def check(data):
        assert_no_server_error(client.post("/cases/new/", data))

    check()


def test_decisions_links_and_reviews_survive_junk(world):
    approval, case, article = world["approval"], world["case"], world["article"]
    clients = [client_for(world["agent"]), client_for(world["senior"])]
    endpoints = [
        (f"/approvals/{approval.pk}/decide/", f"decide{approval.pk}", ["decision", "note"]),
        (f"/cases/{case.pk}/articles/link/", "link", ["article"]),
        (f"/cases/{case.pk}/articles/{article.pk}/unlink/", "", ["x"]),
        (f"/cases/{case.pk}/canned-reply/", "public-update", ["version", "body", "canned"]),
        (
            f"/cases/{world['up'].pk}/review/",
            "",
            ["root_cause", "went_well", "went_badly", "escalation_warranted", "prevention_actions", "complete"],
        ),
    ]

    @FUZZ
    @given(
        st.sampled_from(endpoints).flatmap(lambda e: st.tuples(st.just(e[0]), form_data(e[1], e[2]))), st.integers(0, 1)
    )
    def check(endpoint, who):
        url, data = endpoint
        assert_no_server_error(clients[who].post(url, data))

    check()


def test_absurd_ids_and_actions_in_urls(world):
    client = client_for(world["agent"])

    @FUZZ
    @given(
        st.one_of(st.integers(min_value=0, max_value=10**30), st.just(2**63), st.just(2**63 - 1)),
        st.sampled_from(sorted(ACTIONS) + ["review", "articles/link", "nonsense", "articles/1/unlink", "canned-reply"]),
    )
    def check(pk, action):
        assert_no_server_error(client.post(f"/cases/{pk}/{action}/", {"take-version": "1"}))
        assert_no_server_error(client.get(f"/cases/{pk}/"))
        assert_no_server_error(client.get(f"/cases/{pk}/similar/"))
        assert_no_server_error(client.post(f"/approvals/{pk}/decide/", {}))
        assert_no_server_error(client.get(f"/kb/{pk}/"))

    check()


def test_query_parameters_survive_junk(world):
    client = client_for(world["agent"])
    params = ["q", "status", "priority", "level", "team", "assigned", "cursor", "title", "description", "category"]

    @FUZZ
    @given(
        st.sampled_from(["/queue/mine/", "/queue/team/", "/cases/similar/", "/kb/"]),
        st.dictionaries(st.sampled_from(params), junk, max_size=5),
        st.sampled_from(
            ["", "1|2024-01-01T00:00:00+00:00|5", "2|not-a-date|1", "1|9999-12-31T23:59:59|999999999999999999999"]
        ),
    )
    def check(url, data, cursor):
        if cursor:
            data = {**data, "cursor": cursor}
        assert_no_server_error(client.get(url, data))

    check()


def test_requester_link_survives_junk(world, agent):
    case = world["case"]
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Done")
    good = requester.confirmation_token(case.__class__.objects.get(pk=case.pk))
    client = Client(raise_request_exception=True)

    @FUZZ
    @given(
        st.one_of(st.just(good), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:_-.", max_size=120)),
        form_data("", ["answer", "reason"]),
    )
    def check(token, data):
        url = f"/confirm/{token}/"
        if not token or "/" in token:
            return
        assert_no_server_error(client.get(url))
        assert_no_server_error(client.post(url, data))

    check()


def test_approval_ids_of_other_cases_are_not_leaked(world, agent):
    """An agent posting a decision for an approval on a case above their level gets 404 (403
    for the agent who escalated it: they read the case, and may not decide on it)."""
    approval = ApprovalRequest.objects.get(pk=world["approval"].pk)
    data = {f"decide{approval.pk}-decision": "approve"}
    outsider = staff("Agent", "outsider")
    assert client_for(outsider).post(f"/approvals/{approval.pk}/decide/", data).status_code == 404
    assert client_for(agent).post(f"/approvals/{approval.pk}/decide/", data).status_code in (403, 404)
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"

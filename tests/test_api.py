"""The REST API through real requests (DRF behind Django's test client): tokens and
scopes, what a user may see, keyset pages, opening a case, notes, every case action of
the catalogue through one endpoint with its 400/403/409, the schema and its docs."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.renderers import JSONRenderer

from escalations import workflow
from escalations.actions import catalogue
from escalations.api import token_lookup
from escalations.api.serializers import CaseDetailSerializer
from escalations.models import ApiToken, Case, CaseSuggestion, Level, Note, NoteKind
from escalations.models.api import digest

from .factories import HANDOFF, CategoryFactory, fresh, open_case

pytestmark = pytest.mark.django_db


def token_for(user, scopes="read,act") -> str:
    return ApiToken.objects.issue(user=user, scopes=scopes.split(","))[1]


def call(client, method, url, token=None, body=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is not None:
        return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)
    return getattr(client, method)(url, **headers)


@pytest.fixture
def category(db):
    return CategoryFactory(code="network", name="Network")


def test_token_is_stored_hashed_and_printed_once(agent, capsys):
    call_command("api_token", "create", "--user", agent.username, "--scopes", "intake,read")
    text = capsys.readouterr().out.strip()
    row = ApiToken.objects.get()
    assert text.startswith("esc_") and text not in (row.key_hash, row.prefix)
    assert row.scope_set == {"intake", "read"} and len(row.key_hash) == 64
    with pytest.raises(CommandError, match="Scopes must be among"):
        call_command("api_token", "create", "--user", agent.username, "--scopes", "root")
    with pytest.raises(CommandError, match="no user"):
        call_command("api_token", "create", "--user", "nobody", "--scopes", "read")


def test_revoked_or_unknown_token_is_401(client, agent, capsys):
    text = token_for(agent)
    assert call(client, "get", reverse("api:cases"), text).status_code == 200
    call_command("api_token", "revoke", text[:12])
    response = call(client, "get", reverse("api:cases"), text)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert call(client, "get", reverse("api:cases"), "esc_forged").status_code == 401
    assert call(client, "get", reverse("api:cases")).status_code == 401


def test_session_login_is_not_enough(client, agent):
    client.force_login(agent)
    assert client.get(reverse("api:cases")).status_code == 401


def test_list_shows_what_the_user_may_see_in_keyset_pages(client, agent, manager, category):
    mine = [open_case(agent, category, title=f"L1 case {i}") for i in range(5)]
    high = open_case(manager, category, title="Above L1")
    workflow.case_take(case_id=high.pk, actor=manager)
    workflow.case_escalate(case_id=high.pk, actor=manager, handoff=HANDOFF)
    text = token_for(agent, "read")
    seen, cursor = [], None
    while True:
        url = reverse("api:cases") + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "get", url, text).json()
        seen += [row["id"] for row in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted((c.pk for c in mine), reverse=True)
    assert call(client, "get", reverse("api:case", args=[high.pk]), text).status_code == 404
    assert call(client, "get", reverse("api:case", args=[high.pk]), token_for(manager, "read")).status_code == 200


@pytest.mark.parametrize("query", ["cursor=garbage", "cursor=MQ:forged", "limit=0", "limit=x", "status=bogus"])
def test_bad_list_parameters_are_400(client, agent, query):
    response = call(client, "get", reverse("api:cases") + "?" + query, token_for(agent, "read"))
    assert response.status_code == 400, response.content


def test_read_scope_cannot_write(client, agent, category):
    case = open_case(agent, category)
    text = token_for(agent, "read")
    url = reverse("api:case-action", args=[case.pk, "take"])
    response = call(client, "post", url, text, {"version": case.version})
    assert response.status_code == 403 and "act" in response.json()["detail"]
    assert fresh(case).version == case.version


def test_open_case_and_notes(client, agent, category):
    text = token_for(agent, "read,act")
    body = {
        "title": "VPN down",
        "requester_name": "Rita",
        "requester_email": "rita@example.com",
        "category": category.pk,
        "impact": 1,
        "urgency": 1,
        "description": "Nobody can connect.",
    }
    response = call(client, "post", reverse("api:cases"), text, body)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.priority == 1 and case.created_by == agent
    bad = call(client, "post", reverse("api:cases"), text, {**body, "impact": 9, "requester_email": "x"})
    assert bad.status_code == 400 and {"impact", "requester_email"} <= set(bad.json()["errors"])
    note = call(client, "post", reverse("api:case-notes", args=[case.pk]), text, {"body": "Checked the router."})
    assert note.status_code == 201 and Note.objects.get(pk=note.json()["id"]).kind == NoteKind.INTERNAL
    public = {"kind": "public", "body": "We are on it.", "version": case.version}
    assert call(client, "post", reverse("api:case-notes", args=[case.pk]), text, public).status_code == 201
    stale = call(client, "post", reverse("api:case-notes", args=[case.pk]), text, public)
    assert stale.status_code == 409 and "changed since" in stale.json()["detail"]
    assert call(client, "post", reverse("api:case-notes", args=[case.pk]), text, {"body": ""}).status_code == 400


def test_malformed_json_is_400(client, agent, category):
    case = open_case(agent, category)
    response = client.post(
        reverse("api:case-notes", args=[case.pk]),
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(agent)}",
    )
    assert response.status_code == 400 and "JSON" in response.json()["detail"]


def test_actions_through_the_catalogue(client, agent, specialist, auditor, category):
    case = open_case(agent, category)
    text = token_for(agent)
    detail = call(client, "get", reverse("api:case", args=[case.pk]), text).json()
    assert "take" in detail["actions"] and "escalate" in detail["actions"]
    take = call(client, "post", reverse("api:case-action", args=[case.pk, "take"]), text, {"version": case.version})
    assert take.status_code == 200, take.content
    assert take.json()["case"]["assignee"] == agent.username
    stale = call(
        client, "post", reverse("api:case-action", args=[case.pk, "pause"]), text, {"version": 0, "reason": "x"}
    )
    assert stale.status_code == 409
    missing = call(client, "post", reverse("api:case-action", args=[case.pk, "pause"]), text, {"version": 1})
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    version = fresh(case).version
    escalate = {"version": version, **{k: getattr(HANDOFF, k) for k in ("summary", "steps_tried", "customer_impact")}}
    done = call(client, "post", reverse("api:case-action", args=[case.pk, "escalate"]), text, escalate)
    assert done.status_code == 200 and "escalated" in done.json()["detail"]
    # the case went to L2: the escalating agent follows it (reads it) but may not act on it (403)
    version = fresh(case).version
    gone = call(client, "post", reverse("api:case-action", args=[case.pk, "accept"]), text, {"version": version})
    assert gone.status_code == 403 and fresh(case).version == version
    other_case = open_case(agent, category)
    body = {"version": other_case.version, "to_level": "L1", "reason": "x"}
    refused = call(client, "post", reverse("api:case-action", args=[other_case.pk, "de-escalate"]), text, body)
    assert refused.status_code == 403 and fresh(other_case).version == other_case.version
    other = token_for(specialist)
    ok = call(client, "post", reverse("api:case-action", args=[case.pk, "accept"]), other, {"version": version})
    assert ok.status_code == 200 and fresh(case).assignee == specialist
    unknown = call(client, "post", reverse("api:case-action", args=[case.pk, "explode"]), text, {})
    assert unknown.status_code == 404
    audit = call(client, "post", reverse("api:case-action", args=[case.pk, "take"]), token_for(auditor), {"version": 1})
    assert audit.status_code == 403


def test_every_case_action_of_the_catalogue_is_reachable(client, manager, category):
    """Each case action answers through the endpoint (a form error at worst), never 404 or 500."""
    case = open_case(manager, category)
    text = token_for(manager)
    for slug, spec in catalogue.ACTIONS.items():
        if spec.target != "case":
            continue
        response = call(client, "post", reverse("api:case-action", args=[case.pk, slug]), text, {"version": 999})
        assert response.status_code in (200, 400, 403, 409), (slug, response.status_code, response.content)


def test_schema_and_docs_are_served_locally(client):
    schema = client.get(reverse("api:schema") + "?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/cases/{id}/actions/{slug}/" in paths and "/api/v1/intake/alertmanager" in paths
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 200
    # Nothing from another site (a random CSP nonce may spell "cdn": look at the addresses).
    assert not re.search(rb"""(src|href)=["']?(https?:)?//""", docs.content), "the docs load files from elsewhere"
    assert b"cdn." not in docs.content.lower()


def test_approval_decision_through_the_case_action_endpoint(client, manager, specialist, category):
    case = open_case(manager, category)
    workflow.case_take(case_id=case.pk, actor=manager)
    approval = workflow.approval_request(
        case_id=case.pk, actor=manager, kind="spend", amount="500", description="A new router"
    )
    url = reverse("api:case-action", args=[case.pk, "decide"])
    text = token_for(specialist)
    missing = call(client, "post", url, text, {"decision": "approve", "note": "ok"})
    assert missing.status_code == 404 and "approval" in missing.json()["detail"]
    done = call(client, "post", url, text, {"approval": approval.pk, "decision": "approve", "note": "Within budget"})
    assert done.status_code == 200, done.content
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_case_read_answers_as_the_detail_serializer(client, agent, manager, category):
    """The case read shapes plain rows itself (``serializers.case_detail``): the same answer,
    field for field and in the same order, as ``CaseDetailSerializer`` over the case."""
    plain = open_case(agent, category, title="Plain")  # no team, no assignee, no notes
    worked = open_case(agent, category, title="Worked")
    workflow.case_take(case_id=worked.pk, actor=agent)
    workflow.case_note(case_id=worked.pk, actor=agent, body="Checked the router.")
    workflow.case_note(case_id=worked.pk, actor=workflow.system_actor(), body="The alert fired again.")
    workflow.case_resolve(case_id=worked.pk, actor=agent, summary="Router restarted.")
    CaseSuggestion.objects.update_or_create(
        case=worked,
        defaults=dict(
            category=category,
            category_confidence=0.9,
            priority=2,
            priority_confidence=0.7,
            level=Level.objects.order_by("rank").first(),
            level_confidence=0.5,
            words={"category": ["router"]},
        ),
    )
    for scopes in ("read", "read,act"):
        text = token_for(agent, scopes)
        for case in (plain, worked):
            case = Case.objects.get(pk=case.pk)
            answer = call(client, "get", reverse("api:case", args=[case.pk]), text)
            available = catalogue.available(case, agent) if "act" in scopes else ()
            expected = CaseDetailSerializer(case, context={"available": available}).data
            assert answer.content == JSONRenderer().render(expected)
    assert len(json.loads(answer.content)["notes"]) >= 2 and json.loads(answer.content)["suggestion"]["level"]


def test_token_lookup_reads_what_the_orm_reads(agent, django_user_model, django_assert_num_queries):
    """``token_lookup.active_token`` (one hand-written statement) gives the token, its user and
    the staff profile as ``ApiToken.objects.active().select_related(...)``; revoked tokens and
    inactive users are not found."""
    no_profile = django_user_model.objects.create_user("robot", password="x")
    for user in (agent, no_profile):
        text = token_for(user, "read")
        found = token_lookup.active_token(digest(text))
        expected = ApiToken.objects.active().select_related("user__staff_profile").get(key_hash=digest(text))
        values = lambda obj: {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}  # noqa: E731
        assert values(found) == values(expected) and values(found.user) == values(expected.user)
        profile = getattr(expected.user, "staff_profile", None)
        with django_assert_num_queries(0):
            found_profile = getattr(found.user, "staff_profile", None)
        assert (found_profile and values(found_profile)) == (profile and values(profile))
    call_command("api_token", "revoke", text[:12])
    assert token_lookup.active_token(digest(text)) is None
    live = token_for(agent, "read")
    django_user_model.objects.filter(pk=agent.pk).update(is_active=False)
    assert token_lookup.active_token(digest(live)) is None

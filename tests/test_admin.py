"""Tests for escalations.admin: pages load, buttons follow permissions, every change goes
through the workflow layer, forged requests never fail with a 500, configuration mistakes
are explained."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from escalations import workflow
from escalations.admin.base import HistoryAdmin
from escalations.core import config_cache
from escalations.models import (
    AlertCase,
    AlertRule,
    ApiToken,
    ApprovalRequest,
    AuditHead,
    AuditSeal,
    BusinessCalendar,
    CannedReply,
    Case,
    CaseStatus,
    Escalation,
    EscalationPath,
    Holiday,
    InboundMessage,
    KnowledgeArticle,
    Level,
    Mailbox,
    Note,
    Notification,
    PathStep,
    RiskModel,
    RoutingPolicy,
    RuleFiring,
    ScoringPolicy,
    SweepHeartbeat,
    TeamWebhook,
    TextModel,
    TriggerRule,
    WorkingRange,
)
from escalations.workflow import preferences

from .factories import HANDOFF, CategoryFactory, TeamFactory, UserFactory, open_case, staff

pytestmark = pytest.mark.django_db

# importedsource: written by import_events, read by the reports only; casewatcher: the
# case admin lists followers, and their history is in the audit log and the case trail;
# casewait: facts for the Waiting report, each start and end is in the case's own history.
NOT_IN_ADMIN = {
    "importedsource",
    "casewatcher",
    "casewait",
    "caserollup",
    "casedurationrollup",
    "entryrollup",
    "handoffrollup",
    "openrollup",
    "raiserrollup",
    "attributerollup",
    "resolvedrollup",
    "rollupstate",
    "caseattribute",
    "reportcache",
    "casesearch",  # a copy of the case text the database keeps (models/search.py)
    "policysnapshot",  # the frozen terms, shown on each case ("Frozen policy")
}
SUPERUSER_ONLY = {
    "apitoken",
    "savedqueuefilter",
}  # API tokens are issued by superusers; saved filters are each user's own
INLINE_ONLY = {"workingrange", "holiday", "slatarget", "pathstep", "ruleproblem", "alertdelivery"}


# -- helpers ---------------------------------------------------------------------------------


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:escalations_{model}_{view}", args=args)


def act_url(case, action: str) -> str:
    return reverse("admin:escalations_case_act", args=[case.pk, action])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def as_user(client, user):
    client.force_login(user)
    return client


def escalate_data(case, **overrides) -> dict:
    data = {
        "version": case.version,
        "summary": HANDOFF.summary,
        "steps_tried": HANDOFF.steps_tried,
        "customer_impact": HANDOFF.customer_impact,
        "knowledge_consulted": HANDOFF.knowledge_consulted,
        "to_level": "",
        "justification": "",
    }
    data.update(overrides)
    return data


def action_slugs(response) -> list[str]:
    return [a["slug"] for a in response.context["case_actions"]]


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


def snapshot() -> tuple:
    """Everything a case action could write."""
    return (
        list(Case.objects.order_by("pk").values_list("pk", "status", "version", "level_id", "assignee_id")),
        Escalation.objects.count(),
        Note.objects.count(),
        ApprovalRequest.objects.count(),
        Case.history.count(),
    )


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def world(agent, specialist, manager, settings, tmp_path):
    """One row of every model, made through the workflow where the workflow writes it."""
    settings.MEDIA_ROOT = str(tmp_path)
    category = CategoryFactory(code="network", name="Network")
    team = TeamFactory(name="Network L1", manager=manager)
    team.members.add(agent)
    team.skills.add(category)
    case = open_case(agent, category=category)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_note(case_id=case.pk, actor=agent, body="Looked at the router.")
    workflow.approval_request(case_id=case.pk, actor=agent, kind="spend", amount="250", description="New router")
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)

    done = open_case(agent, category=category, title="Done and reviewed")
    workflow.case_escalate(case_id=done.pk, actor=manager, handoff=HANDOFF)
    workflow.case_accept(case_id=done.pk, actor=manager)
    workflow.case_resolve(case_id=done.pk, actor=manager, summary="Replaced the switch.")
    workflow.case_close(case_id=done.pk, actor=manager)
    workflow.case_review(case_id=done.pk, actor=manager, root_cause="Old switch.")

    KnowledgeArticle.objects.create(title="Router reset", body="Hold the button.", category=category)
    rule = TriggerRule.objects.order_by("pk").first()
    RuleFiring.objects.create(case=case, rule=rule, level=case.level, fired_at=timezone.now(), reason="test")
    Notification.objects.get_or_create(
        dedupe_key="test:1", defaults=dict(case=case, event="test", recipient="a@example.com", subject="s", body="b")
    )
    SweepHeartbeat.objects.create(name="sweep", last_run_at=timezone.now())
    AuditSeal.objects.create(actor="root", reason="Test seal", tables=[])
    ScoringPolicy.objects.create(name="Default scoring", is_active=True)
    RoutingPolicy.objects.create(name="Suggest", is_active=True)
    RiskModel.objects.create(target="breach", features=["priority"], parameters={}, metrics={"auc": 0.7})
    TextModel.objects.create(  # a one-head text model: the next case opened gets its suggestion
        parameters={"heads": {"category": {"classes": [category.pk, 0], "intercepts": [1, -1], "weights": {}}}}
    )
    config_cache.clear()
    open_case(agent, category=category, title="Router down")  # with a CaseSuggestion
    workflow.case_invite(case_id=case.pk, actor=manager, user_id=specialist.pk, reason="Second pair of eyes")
    workflow.authority_change_propose(
        actor=staff("Manager", "mona"),
        what="staff_level",
        profile=agent.staff_profile,
        level=Level.objects.get(code="L2"),
        reason="Passed the exam",
    )
    mailbox = Mailbox.objects.create(name="Support", source="desk@mail.example:993/INBOX", category=category)
    sent = workflow.case_customer_message(
        actor=workflow.system_actor(),
        case_id=case.pk,
        sender=case.requester_email,
        body="The log.",
        files=[workflow.IncomingFile("log.txt", "text/plain", b"log")],
    )
    InboundMessage.objects.create(
        mailbox=mailbox, message_id="<m1@example.com>", outcome="replied", case=case, note=sent.note
    )
    survey = workflow.survey_answer(  # the requester portal's records
        actor=workflow.system_actor(), case_id=done.pk, requester_email=done.requester_email, score=5
    )
    workflow.knowledge_deflect(
        actor=workflow.system_actor(),
        requester_email=done.requester_email,
        article_id=KnowledgeArticle.objects.get(title="Router reset").pk,
    )
    assert survey.pk
    AlertRule.objects.create(name="Database alerts", match={"team": "db"}, category=category)  # monitoring intake
    AlertCase.objects.create(source="generic", fingerprint="admin-test", case=case)
    TeamWebhook.objects.create(team=team, name="Chat", url="http://127.0.0.1:9/hook")
    CannedReply.objects.create(name="Thanks", body="Hello {requester_name}", team=team)
    ApiToken.objects.issue(user=manager, scopes=["read"])
    preferences.filter_save(manager, "team", "Critical", "priority=1")  # a saved queue filter
    return {"case": fresh(case), "done": fresh(done)}


# -- registration and pages ------------------------------------------------------------------


def test_every_model_is_registered_and_inline_only_ones_are_inlines():
    names = {
        m._meta.model_name
        for m in apps.get_app_config("escalations").get_models()
        if not m.__name__.startswith("Historical")
    }
    registered = {m._meta.model_name for m in admin.site._registry if m._meta.app_label == "escalations"}
    assert registered == names - INLINE_ONLY - NOT_IN_ADMIN
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label == "escalations" and hasattr(model, "history"):
            assert isinstance(model_admin, HistoryAdmin), model


@pytest.mark.parametrize("who", ["superuser", "manager"])
def test_changelist_change_and_history_pages_load(client, world, who, request):
    as_user(client, request.getfixturevalue(who))
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "escalations":
            continue
        name = model._meta.model_name
        if who == "manager" and name in SUPERUSER_ONLY:
            continue
        response = client.get(url(name, "changelist"))
        assert response.status_code == 200, name
        obj = model.objects.order_by("pk").first()
        assert obj is not None, name
        response = client.get(url(name, "change", obj.pk))
        assert response.status_code == 200, name
        if isinstance(model_admin, HistoryAdmin):
            response = client.get(url(name, "history", obj.pk))
            assert response.status_code == 200, name
            past = obj.history.order_by("-history_id").first()
            if past is not None:
                response = client.get(
                    reverse(f"admin:escalations_{name}_simple_history", args=[obj.pk, past.history_id])
                )
                assert response.status_code == 200, name
                assert b'name="_save"' not in response.content, name
        for term in ("42", "#1", "printer", "x' OR 1=1", "9" * 40):
            assert client.get(url(name, "changelist"), {"q": term}).status_code == 200, (name, term)


def test_history_page_shows_field_diffs_and_the_acting_user(client, world, manager):
    case = world["case"]
    response = as_user(client, manager).get(url("case", "history", case.pk))
    html = response.content.decode()
    assert "alice" in html  # the agent who escalated
    assert "Escalated L1 -&gt; L2" in html or "Escalated L1 -> L2" in html
    assert "status" in html.lower()


def test_config_add_pages_load_for_the_manager(client, manager):
    as_user(client, manager)
    for name in (
        "level",
        "category",
        "team",
        "staffprofile",
        "authoritychange",  # grants change only through a four-eyes authority change
        "businesscalendar",
        "slapolicy",
        "escalationpath",
        "triggerrule",
        "knowledgearticle",
    ):
        assert client.get(url(name, "add")).status_code == 200, name
    assert client.get(url("authoritygrant", "add")).status_code == 403


def test_case_page_is_read_only_and_cannot_be_added_or_changed(client, superuser, agent):
    case = open_case(agent)
    as_user(client, superuser)
    page = client.get(url("case", "change", case.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="title"' not in page.content
    assert b"Response target" in page.content  # the SLA clock in words
    assert client.get(url("case", "add")).status_code == 403
    before = snapshot()
    posted = client.post(url("case", "change", case.pk), {"title": "Hijacked", "status": "closed"})
    assert posted.status_code == 403
    assert client.post(url("case", "add"), {"title": "New"}).status_code == 403
    assert client.post(url("case", "delete", case.pk), {"post": "yes"}).status_code == 403
    bulk = client.post(
        url("case", "changelist"), {"action": "delete_selected", "_selected_action": [case.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert snapshot() == before


def test_history_revert_posts_are_refused(client, manager):
    level = Level.objects.get(code="L1")
    level.name = "Level 1 - renamed"
    level.save()
    old = level.history.order_by("history_id").first()
    as_user(client, manager)
    form_url = reverse("admin:escalations_level_simple_history", args=[level.pk, old.history_id])
    assert client.get(form_url).status_code == 200
    response = client.post(
        form_url,
        {"rank": 1, "code": "L1", "name": "Reverted", "response_target": "00:15:00", "resolution_target": "04:00:00"},
    )
    assert response.status_code == 403
    assert Level.objects.get(pk=level.pk).name == "Level 1 - renamed"


# -- case buttons ------------------------------------------------------------------------


def test_buttons_follow_permissions(client, agent, specialist):
    case = open_case(agent)
    response = as_user(client, agent).get(url("case", "change", case.pk))
    slugs = action_slugs(response)
    assert {"take", "escalate", "resolve", "note", "public-update", "request-approval"} <= set(slugs)
    assert "accept" not in slugs and "return" not in slugs and "close" not in slugs
    assert act_url(case, "escalate").encode() in response.content

    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    # Now at L2, above the agent, who escalated it and so follows it: read only, as on the staff pages.
    page = client.get(url("case", "change", case.pk))
    assert page.status_code == 200 and action_slugs(page) == ["unfollow"]

    slugs = action_slugs(as_user(client, specialist).get(url("case", "change", case.pk)))
    assert "accept" in slugs and "return" in slugs
    assert "escalate" not in slugs


def test_auditor_sees_the_case_without_buttons(client, agent, auditor):
    case = open_case(agent)
    response = as_user(client, auditor).get(url("case", "change", case.pk))
    assert response.status_code == 200
    assert action_slugs(response) == []


def test_escalate_through_the_admin(client, agent):
    case = open_case(agent)
    as_user(client, agent)
    form = client.get(act_url(case, "escalate"))
    assert form.status_code == 200
    assert f'name="version" value="{case.version}"'.encode() in form.content
    response = client.post(act_url(case, "escalate"), escalate_data(case))
    assert response.status_code == 302
    assert response["Location"] == url("case", "change", case.pk)
    assert any("escalated L1 -> L2" in m for m in messages_of(response))
    esc = Escalation.objects.get(case=case)
    assert esc.raised_by == agent and esc.summary == HANDOFF.summary
    case = fresh(case)
    assert case.status == CaseStatus.ESCALATED and case.level.code == "L2"
    row = case.history.order_by("-history_id").first()
    assert row.history_user == agent
    assert row.history_change_reason.startswith("Escalated L1 -> L2")


def test_missing_handoff_field_re_renders_with_the_error_and_keeps_input(client, agent):
    case = open_case(agent)
    before = snapshot()
    response = as_user(client, agent).post(act_url(case, "escalate"), escalate_data(case, steps_tried="  "))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["steps_tried"] == ["Say what was tried already."]
    html = response.content.decode()
    assert HANDOFF.summary in html and HANDOFF.customer_impact in html
    assert any("handoff is incomplete" in m for m in messages_of(response))
    assert snapshot() == before


def test_skip_level_jump_needs_a_justification(client, agent):
    case = open_case(agent)
    as_user(client, agent)
    response = client.post(act_url(case, "escalate"), escalate_data(case, to_level="L4"))
    assert response.status_code == 200
    assert "justification" in response.context["form"].errors
    response = client.post(
        act_url(case, "escalate"), escalate_data(case, to_level="L4", justification="Security breach")
    )
    assert response.status_code == 302
    assert Escalation.objects.get(case=case).kind == "jump"


def test_stale_version_gives_the_conflict_message(client, agent, agent2):
    case = open_case(agent)
    seen = case.version
    workflow.case_take(case_id=case.pk, actor=agent2)  # someone else acts meanwhile
    before = snapshot()
    response = as_user(client, agent).post(act_url(case, "escalate"), escalate_data(case, version=seen))
    assert response.status_code == 200
    assert any("changed since you opened it" in m for m in messages_of(response))
    assert snapshot() == before
    html = response.content.decode()
    assert HANDOFF.steps_tried in html  # the typed handoff is kept
    assert f'name="version" value="{fresh(case).version}"' in html  # and may be sent again


def test_one_click_actions_and_the_case_lifecycle(client, agent, specialist):
    case = open_case(agent)
    as_user(client, agent)
    response = client.post(act_url(case, "take"), {"version": case.version})
    assert response.status_code == 302 and fresh(case).assignee == agent
    case = fresh(case)
    assert (
        client.post(act_url(case, "pause"), {"version": case.version, "reason": "Waiting for logs"}).status_code == 302
    )
    assert fresh(case).status == CaseStatus.AWAITING_CUSTOMER
    case = fresh(case)
    assert client.post(act_url(case, "resume"), {"version": case.version, "reason": ""}).status_code == 302
    case = fresh(case)
    client.post(act_url(case, "escalate"), escalate_data(case))
    case = fresh(case)
    as_user(client, specialist)
    response = client.post(act_url(case, "return"), {"version": case.version, "reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert client.post(act_url(case, "accept"), {"version": case.version}).status_code == 302
    case = fresh(case)
    assert case.status == CaseStatus.IN_PROGRESS and case.assignee == specialist
    response = client.post(act_url(case, "resolve"), {"version": case.version, "summary": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["summary"] == ["Say how the case was resolved."]
    client.post(act_url(case, "resolve"), {"version": case.version, "summary": "Patched."})
    case = fresh(case)
    assert case.status == CaseStatus.RESOLVED
    client.post(act_url(case, "reopen"), {"version": case.version, "reason": "Still broken"})
    case = fresh(case)
    assert case.status == CaseStatus.IN_PROGRESS and case.reopen_count == 1
    client.post(act_url(case, "note"), {"version": case.version, "body": "Internal remark"})
    client.post(act_url(case, "public-update"), {"version": case.version, "body": "Working on it"})
    assert list(case.notes.values_list("kind", flat=True)) == ["internal", "public"]
    case = fresh(case)
    client.post(act_url(case, "resolve"), {"version": case.version, "summary": "Patched again."})
    case = fresh(case)
    response = client.post(act_url(case, "close"), {"version": case.version})
    assert response.status_code == 302 and fresh(case).status == CaseStatus.CLOSED


def test_de_escalate_through_the_admin(client, agent, specialist):
    case = open_case(agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    case = fresh(case)
    response = as_user(client, specialist).post(
        act_url(case, "de-escalate"), {"version": case.version, "reason": "Expert part done"}
    )
    assert response.status_code == 302
    assert fresh(case).level.code == "L1"


def test_one_click_failure_redirects_with_the_workflow_message(client, agent, agent2):
    case = open_case(agent)
    stale = case.version
    workflow.case_take(case_id=case.pk, actor=agent2)
    response = as_user(client, agent).post(act_url(case, "take"), {"version": stale})
    assert response.status_code == 302
    assert any("changed since you opened it" in m for m in messages_of(response))
    assert fresh(case).assignee == agent2


# -- forged requests -----------------------------------------------------------------------


def test_unknown_action_is_404(client, agent):
    case = open_case(agent)
    before = snapshot()
    as_user(client, agent)
    assert client.post(act_url(case, "delete"), {"version": case.version}).status_code == 404
    assert client.get(act_url(case, "__init__")).status_code == 404
    assert snapshot() == before


def test_agent_posting_accept_is_forbidden(client, agent):
    case = open_case(agent)  # at L1, in the agent's scope: the role itself may not accept
    before = snapshot()
    as_user(client, agent)
    assert client.post(act_url(case, "accept"), {"version": case.version}).status_code == 403
    assert client.get(act_url(case, "return")).status_code == 403
    assert snapshot() == before


def test_action_out_of_reach_redirects_with_an_error(client, agent, specialist):
    """The role allows it, but not on this case now (wrong state or a level too low)."""
    case = open_case(specialist)  # not opened, escalated or followed by the agent
    workflow.case_escalate(case_id=case.pk, actor=specialist, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    case = fresh(case)  # in progress at L2
    here = open_case(agent, title="Still at L1")  # new: nothing to close, reopen or resume
    before = snapshot()
    as_user(client, agent)
    for action, data in (
        ("take", {}),
        ("escalate", escalate_data(case)),
        ("note", {"body": "hi"}),
        ("resolve", {"summary": "done"}),
        ("close", {}),
        ("reopen", {"reason": "x"}),
    ):
        response = client.post(act_url(case, action), {"version": case.version, **data})
        assert response.status_code == 302, action  # above the agent's level: as if missing
        assert response["Location"] == reverse("admin:index")
    for action, data in (("close", {}), ("reopen", {"reason": "x"}), ("resume", {})):
        response = client.post(act_url(here, action), {"version": here.version, **data})
        assert response.status_code == 302, action
        assert response["Location"] == url("case", "change", here.pk)
        assert any("You cannot" in m for m in messages_of(response)), action
    assert snapshot() == before


@pytest.mark.parametrize("object_id", ["abc", "0", "-1", "99999999999999999999999999", "1.5", "%20"])
def test_bad_case_ids_never_fail(client, agent, object_id):
    open_case(agent)
    before = snapshot()
    as_user(client, agent)
    path = f"/admin/escalations/case/{object_id}/act/take/"
    response = client.post(path, {"version": 1})
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert any("doesn’t exist" in m or "doesn't exist" in m for m in messages_of(response))
    assert client.get(path).status_code in (302, 404)
    assert snapshot() == before


@pytest.mark.parametrize("version", ["", "x", "-3", "1e3", "9" * 40, "1; DROP TABLE"])
def test_garbage_version_redirects_with_an_error(client, agent, version):
    case = open_case(agent)
    before = snapshot()
    as_user(client, agent)
    for action, data in (("take", {}), ("escalate", escalate_data(case)), ("pause", {"reason": "x"})):
        response = client.post(act_url(case, action), {**data, "version": version})
        assert response.status_code == 302, action
        assert any("version" in m for m in messages_of(response)), action
    response = client.post(act_url(case, "take"), {})  # no version at all
    assert response.status_code == 302
    assert snapshot() == before


def test_garbage_and_huge_values_are_form_errors(client, agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    case = fresh(case)
    before = snapshot()
    as_user(client, agent)
    posts = [
        ("escalate", escalate_data(case, to_level="L9' OR 1=1"), "to_level"),
        ("escalate", escalate_data(case, to_level="L1"), "to_level"),  # not above L1
        ("escalate", escalate_data(case, summary="x" * 30_000), "summary"),
        ("request-approval", {"kind": "spend", "amount": "9" * 40, "description": "d"}, "amount"),
        ("request-approval", {"kind": "spend", "amount": "NaN", "description": "d"}, "amount"),
        ("request-approval", {"kind": "spend", "amount": "", "description": "d"}, "amount"),
        ("request-approval", {"kind": "bribe", "amount": "1", "description": "d"}, "kind"),
        ("request-approval", {"kind": "spend", "amount": "-5", "description": "d"}, "amount"),
        ("note", {"body": ""}, "body"),
        ("public-update", {"body": "y" * 30_000}, "body"),
    ]
    for action, data, field in posts:
        response = client.post(act_url(case, action), {"version": case.version, **data})
        assert response.status_code == 200, (action, field)
        assert field in response.context["form"].errors, (action, field, response.context["form"].errors)
    assert snapshot() == before


def test_auditor_is_forbidden_to_act_or_change(client, agent, auditor):
    case = open_case(agent)
    before = snapshot()
    as_user(client, auditor)
    for action in ("take", "escalate", "note", "request-approval", "accept", "close"):
        assert client.post(act_url(case, action), {"version": case.version, "body": "x"}).status_code == 403
        assert client.get(act_url(case, action)).status_code == 403
    assert snapshot() == before


def test_auditor_can_view_but_not_change_configuration(client, auditor):
    as_user(client, auditor)
    level = Level.objects.get(code="L1")
    level.save()  # a history row to try to revert to
    calendar = BusinessCalendar.objects.create(name="Berlin", holiday_country="DE")
    assert client.get(url("level", "changelist")).status_code == 200
    page = client.get(url("level", "change", level.pk))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(url("level", "add")).status_code == 403
    assert (
        client.post(
            url("level", "change", level.pk),
            {"rank": 1, "code": "HACK", "name": "x", "response_target": "1:00:00", "resolution_target": "2:00:00"},
        ).status_code
        == 403
    )
    assert client.post(url("level", "add"), {"rank": 9, "code": "L9", "name": "x"}).status_code == 403
    assert client.post(url("level", "delete", level.pk), {"post": "yes"}).status_code == 403
    response = client.post(
        url("businesscalendar", "changelist"), {"action": "load_public_holidays", "_selected_action": [calendar.pk]}
    )
    assert response.status_code in (200, 302)  # the action is not offered: "no action selected"
    old = level.history.order_by("history_id").first()
    history_form = reverse("admin:escalations_level_simple_history", args=[level.pk, old.history_id])
    assert client.post(history_form, {"rank": 1, "code": "HACK", "name": "x"}).status_code == 403
    assert Level.objects.get(pk=level.pk).code == "L1"
    assert not Holiday.objects.filter(calendar=calendar).exists()
    # The audit trail's own rows are readable by auditors, and only readable.
    head = AuditHead.objects.order_by("pk").first()
    assert head is not None
    assert client.get(url("audithead", "changelist")).status_code == 200
    assert client.get(url("audithead", "change", head.pk)).status_code == 200
    assert client.post(url("audithead", "change", head.pk), {"table": "x", "rows": 0}).status_code == 403
    assert client.post(url("audithead", "delete", head.pk), {"post": "yes"}).status_code == 403


# -- approvals ---------------------------------------------------------------------------


def test_request_and_decide_an_approval_through_the_admin(client, agent, specialist, auditor):
    case = open_case(agent)
    as_user(client, agent)
    response = client.post(
        act_url(case, "request-approval"),
        {"version": case.version, "kind": "spend", "amount": "500", "description": "Parts"},
    )
    assert response.status_code == 302
    req = ApprovalRequest.objects.get(case=case)
    assert req.amount == Decimal("500.00") and req.required_level.code == "L2"

    page = client.get(url("approvalrequest", "change", req.pk))
    assert page.status_code == 200 and not page.context.get("decision_actions")
    assert client.post(url("approvalrequest", "decide", req.pk, "approve")).status_code == 403

    as_user(client, auditor)
    assert client.post(url("approvalrequest", "decide", req.pk, "approve")).status_code == 403

    as_user(client, specialist)
    page = client.get(url("approvalrequest", "change", req.pk))
    assert [a["slug"] for a in page.context["decision_actions"]] == ["approve", "reject"]
    assert client.post(url("approvalrequest", "decide", req.pk, "maybe")).status_code == 404
    response = client.post(url("approvalrequest", "decide", req.pk, "reject"), {"note": ""})
    assert response.status_code == 200 and "note" in response.context["form"].errors
    response = client.post(url("approvalrequest", "decide", req.pk, "approve"), {"note": "ok"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by == specialist
    response = client.post(url("approvalrequest", "decide", req.pk, "reject"), {"note": "late"})
    assert response.status_code == 302 and any("cannot decide" in m for m in messages_of(response))
    req.refresh_from_db()
    assert req.status == "approved"
    assert client.post(url("approvalrequest", "decide", "zz", "approve")).status_code in (302, 404)


def test_approval_beyond_the_authority_of_the_level(client, agent, specialist):
    case = open_case(agent)
    req = workflow.approval_request(case_id=case.pk, actor=agent, kind="spend", amount="5000", description="Server")
    as_user(client, specialist)  # L2 may approve up to 1000
    page = client.get(url("approvalrequest", "change", req.pk))
    assert not page.context.get("decision_actions")
    response = client.post(url("approvalrequest", "decide", req.pk, "approve"), {"note": ""})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "pending"


# -- configuration -------------------------------------------------------------------------


def inline_management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def calendar_post(ranges: list[tuple], **fields) -> dict:
    data = {
        "name": "Support hours",
        "timezone": "Europe/Berlin",
        "holiday_country": "",
        "holiday_subdivision": "",
        **inline_management("ranges", len(ranges)),
        **inline_management("holidays", 0),
    }
    data.update(fields)
    for i, (weekday, start, end, midnight) in enumerate(ranges):
        data.update({f"ranges-{i}-weekday": weekday, f"ranges-{i}-start": start, f"ranges-{i}-end": end})
        if midnight:
            data[f"ranges-{i}-ends_at_midnight"] = "on"
    return data


def test_overlapping_working_ranges_are_rejected(client, manager):
    as_user(client, manager)
    response = client.post(
        url("businesscalendar", "add"),
        calendar_post([(0, "08:00", "12:00", False), (0, "11:00", "18:00", False), (1, "11:00", "18:00", False)]),
    )
    assert response.status_code == 200
    errors = " ".join(str(e) for fs in response.context["inline_admin_formsets"] for e in fs.formset.non_form_errors())
    assert "Monday 08:00-12:00 overlaps Monday 11:00-18:00" in errors
    assert "must not overlap" in response.content.decode()
    assert not BusinessCalendar.objects.filter(name="Support hours").exists()


def test_touching_ranges_and_midnight_are_accepted(client, manager):
    as_user(client, manager)
    response = client.post(
        url("businesscalendar", "add"),
        calendar_post([(0, "08:00", "12:00", False), (0, "12:00", "00:00", True), (1, "22:00", "00:00", True)]),
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    cal = BusinessCalendar.objects.get(name="Support hours")
    assert cal.ranges.count() == 3
    assert cal.as_spec()["weekly_hours"]["0"] == [["08:00", "12:00"], ["12:00", "24:00"]]


def test_bad_range_and_country_are_explained(client, manager):
    as_user(client, manager)
    response = client.post(
        url("businesscalendar", "add"),
        calendar_post(
            [(0, "18:00", "08:00", False), (2, "08:00", "17:00", True)], holiday_country="XX", timezone="Mars/Base"
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "must end after it starts" in html
    assert "the end must be 00:00" in html
    assert "is not a country the holidays package knows" in html
    assert "is not an IANA time zone name" in html
    response = client.post(
        url("businesscalendar", "add"), calendar_post([], holiday_country="de", holiday_subdivision="ZZ")
    )
    assert (
        "DE has no subdivision &#x27;ZZ&#x27;" in response.content.decode()
        or "DE has no subdivision 'ZZ'" in response.content.decode()
    )


def path_post(steps: list[tuple[int, str]]) -> dict:
    data = {"name": "Network ladder", "category": "", **inline_management("steps", len(steps))}
    for i, (order, code) in enumerate(steps):
        data.update(
            {f"steps-{i}-order": order, f"steps-{i}-level": Level.objects.get(code=code).pk, f"steps-{i}-team": ""}
        )
    return data


def test_path_step_below_the_previous_is_rejected(client, manager):
    as_user(client, manager)
    response = client.post(url("escalationpath", "add"), path_post([(1, "L1"), (2, "L3"), (3, "L2")]))
    assert response.status_code == 200
    assert "Step 3 (L2) is not above step 2 (L3); a path must climb." in response.content.decode()
    response = client.post(url("escalationpath", "add"), path_post([(1, "L1"), (1, "L2")]))
    assert response.status_code == 200
    assert "Two steps have order 1" in response.content.decode()
    assert not EscalationPath.objects.filter(name="Network ladder").exists()
    response = client.post(url("escalationpath", "add"), path_post([(2, "L2"), (1, "L1"), (3, "EXEC")]))
    assert response.status_code == 302
    path = EscalationPath.objects.get(name="Network ladder")
    assert list(PathStep.objects.filter(path=path).values_list("level__code", flat=True)) == ["L1", "L2", "EXEC"]


def rule_post(**fields) -> dict:
    data = {
        "name": "Tell the VIP team",
        "order": 100,
        "is_active": "on",
        "level": "",
        "condition": "customer_tier",
        "tier_in": ["vip"],
        "action": "notify",
        "recipients": ["team_manager"],
        "target_level": "",
        "repeat_every": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_trigger_rule_mistakes_are_explained(client, manager):
    as_user(client, manager)
    add = url("triggerrule", "add")
    cases = [
        (rule_post(action=""), "action", "A rule with no action does nothing"),
        (rule_post(recipients=None), "recipients", "Say who to notify"),
        (rule_post(action="jump_level"), "target_level", "A jump needs the level to jump to."),
        (rule_post(condition="sla_percent", percent="75"), "target", "required for the condition"),
        (rule_post(tier_in=["gold"]), "tier_in", "Select a valid choice"),
        (rule_post(tier_in=None), "tier_in", "required for the condition"),
        (rule_post(condition="no_response", minutes="1e300"), "minutes", "not a duration"),
        (rule_post(repeat_every="-1:00:00"), "repeat_every", "not a duration"),
        (rule_post(repeat_every="0"), "repeat_every", "at least 1 min"),
    ]
    for data, field, text in cases:
        response = client.post(add, data)
        assert response.status_code == 200, field
        errors = response.context["adminform"].form.errors
        assert field in errors and text in " ".join(errors[field]), (field, errors)
    assert not TriggerRule.objects.filter(name="Tell the VIP team").exists()
    assert client.post(add, rule_post()).status_code == 302
    rule = TriggerRule.objects.get(name="Tell the VIP team")
    assert rule.recipients == ["team_manager"] and rule.params == {"in": ["vip"]}


def test_sla_policy_targets_and_single_default_are_explained(client, manager):
    as_user(client, manager)
    calendar = BusinessCalendar.objects.get(name="24x7")
    data = {
        "name": "Premium",
        "calendar": calendar.pk,
        "is_default": "on",
        **inline_management("targets", 1),
        "targets-0-level": Level.objects.get(code="L1").pk,
        "targets-0-priority": 1,
        "targets-0-response": "02:00:00",
        "targets-0-resolution": "01:00:00",
    }
    response = client.post(url("slapolicy", "add"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "is the default policy; untick it there first" in html
    assert "cannot be shorter than the response target" in html


# -- holidays ----------------------------------------------------------------------------


def test_holiday_loader_is_idempotent(client, manager):
    calendar = BusinessCalendar.objects.create(
        name="Berlin office", timezone="Europe/Berlin", holiday_country="DE", holiday_subdivision="BE"
    )
    as_user(client, manager)
    action = {"action": "load_public_holidays", "_selected_action": [calendar.pk]}
    response = client.post(url("businesscalendar", "changelist"), action)
    assert response.status_code == 302
    count = Holiday.objects.filter(calendar=calendar).count()
    assert count >= 18  # about nine or ten a year in Berlin, for two years
    year = timezone.localdate().year
    assert Holiday.objects.filter(calendar=calendar, date=f"{year}-12-25").exists()
    assert any(f"{count} holiday(s) added" in m for m in messages_of(response))
    response = client.post(url("businesscalendar", "changelist"), action)
    assert Holiday.objects.filter(calendar=calendar).count() == count
    assert any("0 holiday(s) added" in m for m in messages_of(response))


def test_holiday_loader_with_an_unknown_or_missing_country(client, manager):
    bad = BusinessCalendar.objects.create(name="Atlantis", holiday_country="XX")
    none = BusinessCalendar.objects.get(name="24x7")
    as_user(client, manager)
    response = client.post(
        url("businesscalendar", "changelist"), {"action": "load_public_holidays", "_selected_action": [bad.pk, none.pk]}
    )
    assert response.status_code == 302
    text = " ".join(messages_of(response))
    assert "Atlantis: cannot load holidays" in text
    assert "24x7: set a holiday country first" in text
    assert not Holiday.objects.exists()


# -- the sweep's heartbeat ---------------------------------------------------------------


def test_sweep_warning_when_it_never_ran_or_is_stale(client, manager):
    as_user(client, manager)
    for page in (url("sweepheartbeat", "changelist"), url("case", "changelist"), reverse("admin:index")):
        response = client.get(page)
        assert response.status_code == 200
        assert any("has never run" in m for m in messages_of(response)), page
    beat = SweepHeartbeat.objects.create(name="sweep", last_run_at=timezone.now() - timedelta(minutes=42))
    response = client.get(url("sweepheartbeat", "changelist"))
    assert "42 min ago" in response.content.decode()
    assert any("last ran 42 min ago" in m for m in messages_of(response))
    beat.last_run_at = timezone.now()
    beat.save()
    response = client.get(url("sweepheartbeat", "changelist"))
    assert "just now" in response.content.decode()
    assert not any("sweep" in m.lower() for m in messages_of(response))


# -- the rest of the configuration ----------------------------------------------------------


def test_manager_edits_configuration_with_history(client, manager):
    as_user(client, manager)
    calendar = BusinessCalendar.objects.get(name="Mon-Fri 08:00-18:00")
    data = {
        "name": calendar.name,
        "timezone": "Europe/Paris",
        "holiday_country": "fr",
        "holiday_subdivision": "",
        **inline_management("ranges", 0),
        **inline_management("holidays", 0),
    }
    ranges = list(calendar.ranges.all())
    data.update(inline_management("ranges", len(ranges), len(ranges)))
    for i, r in enumerate(ranges):
        data.update(
            {
                f"ranges-{i}-id": r.pk,
                f"ranges-{i}-calendar": calendar.pk,
                f"ranges-{i}-weekday": r.weekday,
                f"ranges-{i}-start": "08:00",
                f"ranges-{i}-end": "18:00",
            }
        )
    response = client.post(url("businesscalendar", "change", calendar.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    calendar.refresh_from_db()
    assert calendar.timezone == "Europe/Paris" and calendar.holiday_country == "FR"
    assert calendar.history.order_by("-history_id").first().history_user == manager
    assert WorkingRange.objects.filter(calendar=calendar).count() == 5


def test_case_changelist_queries_do_not_grow_with_rows(client, agent, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team = TeamFactory(name="Desk")
    category = CategoryFactory()
    open_case(agent, category=category, team=team)
    as_user(client, manager)
    client.get(url("case", "changelist"))  # warm: permission sets are cached per process
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("case", "changelist")).status_code == 200
    for _ in range(5):
        case = open_case(agent, category=category, team=team)
        workflow.case_take(case_id=case.pk, actor=agent)
    with CaptureQueriesContext(connection) as six:
        assert client.get(url("case", "changelist")).status_code == 200
    assert len(six) == len(one)

"""The requester portal (``escalations.portal``) and its workflow (``workflow.portal``),
through real requests on PostgreSQL: sign-in by e-mailed link, the requester's cases in
plain words, replies with files, new requests with suggestions and deflection, the
survey once per resolution, and what the portal must never show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from escalations import workflow
from escalations.domain import portal_links
from escalations.models import (
    Case,
    CaseStatus,
    Deflection,
    KnowledgeArticle,
    Note,
    NoteKind,
    Notification,
    SatisfactionSurvey,
    StaffProfile,
    TriggerRule,
)
from escalations.portal.session import COOKIE

from .factories import HANDOFF, CategoryFactory, TeamFactory, fresh, level, open_case

pytestmark = pytest.mark.django_db

RITA = "rita@example.com"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


def portal_client(client, email=RITA):
    client.cookies[COOKIE] = portal_links.session_value(email)
    return client


def link_from_outbox(email: str) -> str:
    row = Notification.objects.filter(event="portal_link", recipient=email).latest("pk")
    return re.search(r"https?://\S+", row.body).group(0)


def test_sign_in_by_mailed_link_then_the_cookie_lets_in(client, agent):
    open_case(agent, requester_email="Rita@Example.com")
    assert client.get("/portal/")["Location"] == reverse("portal:sign-in")
    response = client.post("/portal/sign-in/", {"email": "rita@example.com"})
    assert response.status_code == 200 and b"Check your e-mail" in response.content
    url = link_from_outbox(RITA)
    path = url.split("localhost:8000", 1)[1] if "localhost:8000" in url else url
    assert client.get(path).status_code == 200  # GET only shows a button (mail scanners)
    assert COOKIE not in client.cookies or not client.cookies[COOKIE].value
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    page = client.get("/portal/")
    assert page.status_code == 200 and b"Printer on fire" in page.content


def test_sign_in_link_expires_and_forged_ones_are_refused(client, settings):
    token = portal_links.sign_in_token(RITA)
    settings.PORTAL_LINK_MINUTES = 0
    assert client.post(reverse("portal:enter", args=[token])).status_code == 410
    assert client.get(reverse("portal:enter", args=["forged:xyz"])).status_code == 404
    survey_token = portal_links.survey_token  # a value of another kind is not a sign-in
    assert survey_token  # (checked below with a session value)
    settings.PORTAL_LINK_MINUTES = 30
    with pytest.raises(signing.BadSignature):
        portal_links.read_sign_in_token(portal_links.session_value(RITA))


def test_sign_in_links_are_rate_limited_per_address_and_per_ip(client, settings):
    settings.PORTAL_LINKS_PER_ADDRESS, settings.PORTAL_LINKS_PER_IP = 2, 3
    assert client.post("/portal/sign-in/", {"email": RITA}).status_code == 200
    assert client.post("/portal/sign-in/", {"email": RITA}).status_code == 200
    refused = client.post("/portal/sign-in/", {"email": RITA})
    assert refused.status_code == 429 and b"Too many" in refused.content
    assert Notification.objects.filter(event="portal_link").count() == 2
    # another address from the same client: the per-IP budget (3) is spent after one more
    assert client.post("/portal/sign-in/", {"email": "bob@example.com"}).status_code == 429
    assert Notification.objects.filter(event="portal_link").count() == 2


def test_bad_sign_in_input_is_a_clear_400(client):
    response = client.post("/portal/sign-in/", {"email": "not an address"})
    assert response.status_code == 400 and b"valid email" in response.content
    assert not Notification.objects.filter(event="portal_link").exists()


def test_staff_login_is_not_a_portal_session(client, agent):
    client.force_login(agent)
    assert client.get("/portal/")["Location"] == reverse("portal:sign-in")
    # and a portal cookie is not a staff login
    client.logout()
    portal_client(client)
    assert client.get("/desk/").status_code == 302


def test_cases_in_plain_words_and_only_their_own(client, agent, specialist):
    mine = open_case(agent, title="My VPN")
    workflow.case_take(case_id=mine.pk, actor=agent)
    workflow.case_escalate(case_id=mine.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=mine.pk, actor=specialist)
    theirs = open_case(agent, title="Bob's secret", requester_email="bob@example.com")
    portal_client(client)
    page = client.get("/portal/").content.decode()
    assert "My VPN" in page and "Bob&#x27;s secret" not in page and "Bob's secret" not in page
    assert "With our specialists" in page
    assert client.get(reverse("portal:case", args=[theirs.pk])).status_code == 404
    detail = client.get(reverse("portal:case", args=[mine.pk])).content.decode()
    assert "We are working on it" in detail and "With our specialists" in detail


def test_never_internal_notes_handoffs_or_private_names(client, agent, specialist):
    agent.first_name, agent.last_name = "Alice", "Agentson"
    agent.save()
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_note(case_id=case.pk, actor=agent, body="INTERNAL: customer is grumpy")
    workflow.case_public_update(case_id=case.pk, actor=agent, body="We are on it.")
    workflow.approval_request(case_id=case.pk, actor=agent, kind="spend", amount="50", description="APPROVAL TEXT")
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    portal_client(client)
    page = client.get(reverse("portal:case", args=[case.pk])).content.decode()
    assert "We are on it." in page and "Alice" in page  # first name only, by default
    for secret in ("INTERNAL", HANDOFF.summary, HANDOFF.steps_tried, "APPROVAL TEXT", "Agentson", "alice"):
        assert secret not in page, secret
    StaffProfile.objects.filter(user=agent).update(customer_name="team")
    page = client.get(reverse("portal:case", args=[case.pk])).content.decode()
    assert "Alice" not in page and "Our team" in page
    StaffProfile.objects.filter(user=agent).update(customer_name="full")
    assert "Alice Agentson" in client.get(reverse("portal:case", args=[case.pk])).content.decode()


def test_reply_with_a_file_resumes_a_paused_clock(client, agent, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Need the log")
    portal_client(client)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("portal:case", args=[case.pk]),
        {"body": "Here is the log.", "attachments": SimpleUploadedFile("log.txt", b"boom", "text/plain")},
    )
    assert response.status_code == 302
    case = fresh(case)
    assert case.status == CaseStatus.IN_PROGRESS and case.paused_at is None
    note = Note.objects.get(case=case, kind=NoteKind.CUSTOMER, body="Here is the log.")
    attachment = note.attachments.get()
    assert attachment.filename == "log.txt"
    download = client.get(reverse("portal:attachment", args=[case.pk, attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"boom"
    assert Notification.objects.filter(event="customer_reply", case=case).exists()


def test_a_file_too_large_or_of_a_refused_type_writes_nothing(client, agent, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT, settings.ATTACHMENT_MAX_BYTES = str(tmp_path), 10
    case = open_case(agent)
    portal_client(client)
    before = Note.objects.count()
    big = client.post(
        reverse("portal:case", args=[case.pk]),
        {"body": "big", "attachments": SimpleUploadedFile("big.txt", b"x" * 11, "text/plain")},
    )
    assert big.status_code == 400 and b"too large" in big.content
    settings.ATTACHMENT_MAX_BYTES = 1000
    exe = client.post(
        reverse("portal:case", args=[case.pk]),
        {"body": "exe", "attachments": SimpleUploadedFile("a.exe", b"MZ", "application/x-msdownload")},
    )
    assert exe.status_code == 400 and b"not accepted" in exe.content and b"exe" in exe.content
    assert Note.objects.count() == before


def test_new_request_suggests_articles_and_a_deflection_is_recorded(client, agent):
    category = CategoryFactory(code="mail", name="Mail")
    KnowledgeArticle.objects.create(title="Outlook password reset", body="Use the self-service page.")
    KnowledgeArticle.objects.create(title="Printer toner", body="Order toner.", is_published=False)
    portal_client(client)
    data = {"requester_name": "Rita", "title": "Outlook password", "category": category.pk, "body": "Forgot it"}
    checked = client.post("/portal/new/", data)
    page = checked.content.decode()
    assert checked.status_code == 200 and "Outlook password reset" in page and "Printer toner" not in page
    assert not Case.objects.exists()
    article = KnowledgeArticle.objects.get(title="Outlook password reset")
    solved = client.post(
        "/portal/solved/", {"article_id": article.pk, "query": "Outlook password", "category": category.pk}
    )
    assert solved.status_code == 200 and b"Glad it helped" in solved.content
    row = Deflection.objects.get()
    assert (row.article, row.category, row.requester_email) == (article, category, RITA)
    assert not Case.objects.exists()  # closes nothing, opens nothing
    sent = client.post("/portal/new/", {**data, "step": "send"})
    case = Case.objects.get()
    assert sent["Location"] == reverse("portal:case", args=[case.pk])
    assert case.requester_email == RITA and case.notes.get().kind == NoteKind.CUSTOMER


def test_live_suggestions_fragment_while_typing(client):
    category = CategoryFactory(code="mail", name="Mail")
    article = KnowledgeArticle.objects.create(title="Outlook password reset", body="Use the self-service page.")
    KnowledgeArticle.objects.create(title="Outlook password expiry", body="Draft.", is_published=False)
    assert client.get("/portal/suggestions/", {"title": "Outlook"})["Location"] == reverse("portal:sign-in")
    portal_client(client)
    found = client.get("/portal/suggestions/", {"title": "outlook passw", "body": "", "category": category.pk})
    page = found.content.decode()
    assert found.status_code == 200 and "Outlook password reset" in page and "expiry" not in page
    assert f'name="article_id" value="{article.pk}"' in page and f'name="category" value="{category.pk}"' in page
    assert 'name="csrfmiddlewaretoken"' in page  # "This solved it" posts from the fragment itself
    assert client.get("/portal/suggestions/", {"title": "  ", "body": ""}).content.strip() == b""
    assert b"These articles" not in client.get("/portal/suggestions/", {"title": "zebra"}).content
    assert not Deflection.objects.exists() and not Case.objects.exists()  # looking records nothing
    form = client.get("/portal/new/").content.decode()
    assert 'data-suggest-url="/portal/suggestions/"' in form and 'id="live-suggestions"' in form


def test_bad_suggestion_queries_are_clear_400s(client):
    portal_client(client)
    too_long = client.get("/portal/suggestions/", {"title": "x" * 201})
    assert too_long.status_code == 400 and b"at most 200 characters" in too_long.content
    bad_category = client.get("/portal/suggestions/", {"title": "printer", "category": "abc"})
    assert bad_category.status_code == 400 and b"category" in bad_category.content
    assert client.post("/portal/suggestions/", {"title": "printer"}).status_code == 405


def test_bad_new_request_and_bad_deflection_are_clear_400s(client):
    portal_client(client)
    response = client.post("/portal/new/", {"title": "", "category": "999999", "body": ""})
    assert response.status_code == 400 and b"Describe the problem" in response.content
    assert client.post("/portal/solved/", {"article_id": "abc"}).status_code == 400
    assert client.post("/portal/solved/", {"article_id": "123456"}).status_code == 400
    assert not Deflection.objects.exists() and not Case.objects.exists()


def resolved_case(agent, **kwargs):
    case = open_case(agent, **kwargs)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Replaced the cable")
    return fresh(case)


def test_resolution_sends_a_survey_link_answered_once_per_resolution(client, agent):
    TriggerRule.objects.filter(condition="low_satisfaction").update(is_active=False)
    case = resolved_case(agent)
    mail = Notification.objects.get(event="survey", case=case)
    assert mail.recipient == RITA and mail.to_requester
    path = re.search(r"https?://[^/]+(/\S+)", mail.body).group(1)
    assert client.get(path).status_code == 200  # no sign-in needed
    assert client.post(path, {"score": "4", "comment": "Quick"}).status_code == 200
    survey = SatisfactionSurvey.objects.get()
    assert (survey.score, survey.comment, survey.via, survey.level.code) == (4, "Quick", "e-mail", "L1")
    again = client.post(path, {"score": "1"})
    assert again.status_code == 400 and b"already rated" in again.content
    # reopen + a new resolution: a new answer is allowed (in the portal this time)
    workflow.case_reopen(case_id=case.pk, actor=agent, reason="Still broken")
    assert b"no longer used" in client.get(path).content
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Replaced the switch")
    portal_client(client)
    assert b"Rate how we handled it" in client.get(reverse("portal:case", args=[case.pk])).content
    response = client.post(reverse("portal:survey", args=[case.pk]), {"score": "5"})
    assert response.status_code == 200 and SatisfactionSurvey.objects.filter(case=case).count() == 2


def test_bad_survey_input_is_refused_and_writes_nothing(client, agent):
    case = resolved_case(agent)
    portal_client(client)
    for data in ({"score": "9"}, {"score": "x"}, {}):
        response = client.post(reverse("portal:survey", args=[case.pk]), data)
        assert response.status_code == 400 and b"score from 1 to 5" in response.content
    assert client.get(reverse("portal:survey-link", args=["garbage"])).status_code == 404
    assert not SatisfactionSurvey.objects.exists()


def test_staff_cannot_answer_for_the_requester(agent):
    case = resolved_case(agent)
    with pytest.raises(workflow.NotAllowed):
        workflow.survey_answer(actor=agent, case_id=case.pk, requester_email=RITA, score=5)
    with pytest.raises(workflow.NotAllowed):
        workflow.survey_answer(actor=workflow.system_actor(), case_id=case.pk, requester_email="bob@x.org", score=5)
    open_one = open_case(agent)
    with pytest.raises(workflow.InvalidAction):
        workflow.survey_answer(actor=workflow.system_actor(), case_id=open_one.pk, requester_email=RITA, score=5)
    assert not SatisfactionSurvey.objects.exists()


def test_a_low_score_opens_a_follow_up_for_the_team_manager(agent, manager):
    team = TeamFactory(name="Service desk", level=level("L1"), manager=manager)
    case = resolved_case(agent, team=team)
    survey = workflow.survey_answer(
        actor=workflow.system_actor(), case_id=case.pk, requester_email=RITA, score=2, comment="Slow"
    )
    survey.refresh_from_db()
    follow_up = survey.follow_up
    assert follow_up is not None and follow_up.follow_up_of_id == case.pk and follow_up.team == team
    assert follow_up.requester_email == manager.email and "Slow" in follow_up.description
    assert survey.rule.condition == "low_satisfaction"
    assert Notification.objects.filter(event="low_satisfaction", recipient=manager.email).exists()
    assert not Notification.objects.filter(case=follow_up, recipient=RITA).exists()
    # a good score fires nothing
    other = resolved_case(agent, team=team, title="Second")
    good = workflow.survey_answer(actor=workflow.system_actor(), case_id=other.pk, requester_email=RITA, score=5)
    assert good.follow_up is None and good.rule is None


def test_the_low_satisfaction_rule_can_just_notify_and_never_fires_in_the_sweep(agent, manager):
    rule = TriggerRule.objects.get(condition="low_satisfaction")
    rule.action, rule.params = "notify", {"at_most": 3}
    rule.full_clean()
    rule.save()
    team = TeamFactory(name="Service desk", level=level("L1"), manager=manager)
    case = resolved_case(agent, team=team)
    survey = workflow.survey_answer(actor=workflow.system_actor(), case_id=case.pk, requester_email=RITA, score=3)
    assert survey.follow_up is None and Case.objects.count() == 1
    assert Notification.objects.filter(event="low_satisfaction", recipient=manager.email).exists()
    from escalations.domain import rules

    assert list(rules.decide(case, [rule], {}, timezone.now() + timedelta(days=1))) == []


@pytest.mark.postgres
def test_a_requesters_cases_are_found_through_the_address_index(agent):
    """At a million cases the portal must not scan them all for one address."""
    from django.db import connection

    open_case(agent, requester_email="Rita@Example.com")
    qs = Case.objects.filter(search_text__requester_email__iexact=RITA)  # as ``requester_cases`` asks
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert "casesearch_email_upper" in plan


def test_the_portal_pages_cost_the_same_queries_for_many_cases(client, agent, django_assert_max_num_queries):
    for n in range(25):
        case = open_case(agent, title=f"Case {n}")
        workflow.case_public_update(case_id=case.pk, actor=agent, body=f"Update {n}")
    portal_client(client)
    with django_assert_max_num_queries(6):
        assert client.get("/portal/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("portal:case", args=[case.pk])).status_code == 200


def test_confirm_or_reject_the_resolution_in_the_portal(client, agent):
    case = resolved_case(agent)
    other = resolved_case(agent, title="Other")
    portal_client(client)
    url = reverse("portal:resolution", args=[case.pk])
    assert client.post(url, {"answer": "maybe"})["Location"] == reverse("portal:case", args=[case.pk])
    assert fresh(case).status == CaseStatus.RESOLVED
    client.post(url, {"answer": "reject", "reason": "Still no mail"})
    assert fresh(case).status == CaseStatus.IN_PROGRESS
    page = client.post(url, {"answer": "confirm"}, follow=True).content.decode()
    assert "cannot close" in page and fresh(case).status == CaseStatus.IN_PROGRESS  # not resolved any more
    client.post(reverse("portal:resolution", args=[other.pk]), {"answer": "confirm"})
    assert fresh(other).status == CaseStatus.CLOSED
    portal_client(client, "bob@example.com")
    assert client.post(url, {"answer": "confirm"}).status_code == 404

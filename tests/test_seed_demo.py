"""The demo desk (``seed_demo``), built once for this module on the test database and
rolled back at the end: four use cases with cases at every level and in every status, made
through the workflow (history, rule firings, notices), no contradictions, every report page
with something to say, the risk model trained, the logins as docs/authorization.md lists
them, and a second run that changes nothing."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from escalations.domain import authority
from escalations.management.demo import desk
from escalations.management.demo.stories import DOMAINS
from escalations.models import (
    AlertCase,
    ApprovalRequest,
    Case,
    CaseStatus,
    Escalation,
    EscalationKind,
    EscalationStatus,
    InboundMessage,
    KnowledgeArticle,
    Level,
    Notification,
    Review,
    RoutingPolicy,
    RuleFiring,
    SatisfactionSurvey,
)
from escalations.models.choices import OPEN_STATUSES
from escalations.reports import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Seed once; everything is rolled back when the module ends."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            out = io.StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _snapshot() -> dict:
    counts = {m.__name__: m.objects.count() for m in (Case, Escalation, ApprovalRequest, Review, Notification)}
    counts["history"] = Case.history.count()
    counts["users"] = get_user_model().objects.count()
    counts["versions"] = sum(Case.objects.values_list("version", flat=True))
    return counts


def test_four_use_cases_with_a_few_hundred_cases_over_eight_weeks(demo):
    assert 200 <= Case.objects.count() <= 400
    per_category = Counter(Case.objects.values_list("category__code", flat=True))
    for d in DOMAINS:
        assert per_category[d.category[0]] >= 50, per_category
    oldest = Case.objects.order_by("opened_at").first().opened_at
    assert timezone.now() - oldest > timedelta(weeks=7)


def test_todays_desk_has_every_level_and_status_in_each_use_case(demo):
    levels = list(Level.objects.values_list("code", flat=True))
    for d in DOMAINS:
        open_cases = Case.objects.open().filter(category__code=d.category[0])
        assert set(open_cases.values_list("level__code", flat=True)) == set(levels), d.key
        # each level's cases are with the use case's own team at that level
        for case in open_cases.select_related("team", "level"):
            assert case.team.name == d.teams[case.level.code], case
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    soon = timezone.now() + timedelta(hours=1)
    assert Case.objects.open().filter(resolution_due_at__gt=timezone.now(), resolution_due_at__lte=soon).exists()
    assert not Case.objects.filter(team__isnull=True).exists()


def test_the_history_is_made_by_the_workflow(demo):
    created = Case.history.filter(history_type="+")
    assert created.count() == Case.objects.count()
    assert not created.filter(history_action="").exists()  # each written by a named workflow action
    assert created.filter(history_action="open").count() > 200
    kinds = Counter(Escalation.objects.values_list("kind", "status"))
    assert kinds[(EscalationKind.ESCALATE, EscalationStatus.ACCEPTED)] > 50
    assert kinds[(EscalationKind.JUMP, EscalationStatus.ACCEPTED)] > 0
    assert sum(n for (kind, status), n in kinds.items() if status == EscalationStatus.RETURNED) > 0
    assert Escalation.objects.filter(kind=EscalationKind.DE_ESCALATE).exists()
    assert Escalation.objects.filter(rule__isnull=False).exists()  # the sweep escalated some
    assert RuleFiring.objects.filter(rule__name__startswith="Warn").exists()  # near misses were warned
    assert Case.objects.exclude(resolution_breached_at=None).exists()
    assert Case.history.filter(history_action="pause").exists()
    assert Review.objects.filter(status="completed").count() > 10
    assert SatisfactionSurvey.objects.count() > 10
    assert Notification.objects.exists()
    for d in DOMAINS:
        assert KnowledgeArticle.objects.filter(category__code=d.category[0]).count() >= 3


def test_approvals_at_every_authority_level_and_none_pending_on_finished_cases(demo):
    decided = set(ApprovalRequest.objects.exclude(status="pending").values_list("required_level__code", flat=True))
    assert {"L2", "L3", "L4", "EXEC"} <= decided
    assert ApprovalRequest.objects.filter(kind="major_incident", status="approved").exists()
    assert ApprovalRequest.objects.filter(status="pending").exists()
    assert not ApprovalRequest.objects.filter(status="pending").exclude(case__status__in=OPEN_STATUSES).exists()


def test_handoffs_and_jumps_fit_their_cases(demo):
    for esc in Escalation.objects.filter(rule__isnull=True, kind__in=["escalate", "jump"]).select_related("case"):
        assert esc.summary.startswith(esc.case.title), (esc.pk, esc.summary)
    for esc in Escalation.objects.filter(kind="jump").select_related("case", "to_level"):
        story = next(s for d in DOMAINS for s in d.stories if s.title == esc.case.title)
        assert story.jump == (esc.to_level.code, esc.justification)


def test_the_manager_decides_no_approvals_and_routing_suggests(demo):
    manager = get_user_model().objects.get(username="manager")
    assert authority.user_level(manager) is None
    assert not authority.can_decide("spend", 1, manager)
    assert not ApprovalRequest.objects.filter(decided_by=manager).exists()
    assert RoutingPolicy.objects.get(is_active=True).mode == RoutingPolicy.Mode.SUGGEST
    assert Case.objects.exclude(routing_note="").count() > 100


def test_channels_email_and_monitoring(demo):
    mailed = InboundMessage.objects.get(message_id="<demo-1@demo.example>")
    assert mailed.case is not None
    alert = AlertCase.objects.get()
    assert alert.case.created_by.username == "system"


def test_risk_models_trained_so_no_case_is_unscored(demo):
    assert not Case.objects.open().filter(breach_risk__isnull=True, escalation_risk__isnull=True).exists()
    client = Client()
    client.force_login(get_user_model().objects.get(username="agent"))
    closed = Case.objects.filter(status="closed").first()
    for case in (Case.objects.open().filter(level__code="L1").first(), closed):
        assert "not scored yet" not in client.get(f"/cases/{case.pk}/").content.decode()


def test_every_report_page_has_something_to_say(demo):
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    for name in REGISTRY:
        response = client.get(f"/admin/reports/{name}/")
        assert response.status_code == 200, name
        html = response.content.decode()
        rows = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)
        assert any(re.search(r"<td[^>]*>\s*[1-9]", body) for body in rows), f"{name}: every table is empty"


def test_logins_match_the_authorization_doc_and_readme(demo):
    doc = (ROOT / "docs" / "authorization.md").read_text()
    roles = re.findall(r"^\| (\w+) \| (\w+|\(superuser\)) \| ([\w-]+) \|", doc, re.M)
    documented = {user: (group, level) for user, group, level in roles if user != "role"}
    printed = {user: (role, level) for user, role, level, _ in desk.LOGINS}
    User = get_user_model()
    for user, (role, level) in printed.items():
        if user in documented:
            group, doc_level = documented[user]
            assert group == role, user
            want = {"none": None, "Executive": "EXEC"}.get(doc_level, doc_level)
            assert level == want, user
        found = User.objects.get(username=user)
        assert found.groups.filter(name=role).exists()
        assert (authority.user_level(found).code if authority.user_level(found) else None) == level
    assert set(documented) - {"admin"} <= set(printed)
    readme = (ROOT / "README.md").read_text()
    for user, role, level, _ in desk.LOGINS:
        assert f"| `{user}` | {role} | {level or '-'} |" in readme, user
    for user, role, level, _ in desk.LOGINS:
        assert re.search(rf"{role}\s+{user}\s+level {level or '-'}", demo), user


def test_a_second_run_changes_nothing(demo):
    before = _snapshot()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert _snapshot() == before

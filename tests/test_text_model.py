"""The text model (issue 17): hashed n-gram features, training with the minimum-data guard
and the time-ordered hold-out, the JSON line, the suggestion stored at intake on every
channel, staff accepting or changing it, and routing straight to the predicted level."""

import copy
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from escalations import workflow
from escalations.core import config_cache
from escalations.intelligence.text import features, predict
from escalations.intelligence.text.train import NotTrainable, fit_head, probabilities, train
from escalations.models import (
    Case,
    CaseStatus,
    CaseSuggestion,
    Escalation,
    EscalationKind,
    RoutingPolicy,
    SuggestionDecision,
    TextModel,
)
from escalations.reports import REGISTRY, Filters
from escalations.selectors import suggestion_figures as figures

from .factories import CategoryFactory, fresh, level, open_case

pytestmark = pytest.mark.django_db

# Three kinds of case, each with its own words, priority and resolving level.
KINDS = {
    "network": (["vpn tunnel drops", "router offline", "wifi signal lost", "dns lookups fail"], 2, "L2"),
    "printers": (["printer jammed paper", "toner empty printer", "printer prints blank pages"], 4, "L1"),
    "access": (["password reset locked", "account locked out", "cannot login password expired"], 3, "L1"),
}


def corpus(agent, per_kind: int = 30, start=datetime(2025, 1, 6, 9, tzinfo=UTC), only=None) -> dict:
    """Resolved cases written in bulk (cloned from one opened through the workflow): training
    data, not behaviour under test."""
    cats = {name: CategoryFactory(code=name, name=name.title()) for name in KINDS}
    template = open_case(agent, category=cats["network"], title="template", description="")
    base = Case.objects.get(pk=template.pk)
    rows, i = [], 0
    for n in range(per_kind):
        for name, (phrases, priority, code) in KINDS.items():
            if only and name not in only:
                continue
            c = copy.copy(base)
            c.pk = c.id = None
            c._state.adding = True
            c.title = phrases[n % len(phrases)]
            c.description = f"Reported by user {n}: {phrases[(n + 1) % len(phrases)]} again."
            c.category, c.priority, c.level = cats[name], priority, level(code)
            c.opened_at = c.level_entered_at = start + timedelta(hours=i)
            c.resolved_at = c.opened_at + timedelta(hours=1)
            c.__dict__["status"] = CaseStatus.RESOLVED  # the protected FSM field, set on a copy
            rows.append(c)
            i += 1
    Case.objects.bulk_create(rows)
    return cats


def trained(agent, **kwargs) -> dict:
    cats = corpus(agent, **kwargs)
    train("all", min_cases=5)
    config_cache.clear()
    return cats


def test_features_are_stable_and_told_back_per_word():
    v = features.vector("VPN drops, vpn drops")
    assert v == features.vector("vpn DROPS vpn drops")  # case and punctuation do not matter
    assert abs(sum(x * x for x in v.values()) - 1) < 1e-9  # unit length
    parts, norm = features.word_parts("vpn drops")
    assert set(parts) == {"vpn", "drops"} and norm > 0


def test_stored_coefficients_predict_what_numpy_evaluated():
    texts = ["vpn tunnel drops", "printer jammed", "vpn offline", "printer toner", "router vpn", "printer blank"]
    X = features.matrix(texts)
    head = fit_head(X, [1, 2, 1, 2, 1, 2], min_cases=2)
    as_json = json.loads(json.dumps(head))  # as the database gives it back
    numpy_p = probabilities(X, head)
    pure = predict.Head.from_json(as_json)
    for row, text in enumerate(texts):
        p = pure.probabilities(features.vector(text))
        assert p == pytest.approx(list(numpy_p[row]), abs=1e-9)
    assert pure.predict("vpn drops").label == 1
    assert "vpn" in pure.predict("vpn drops").words


def test_minimum_data_guard(agent):
    corpus(agent, per_kind=6)
    with pytest.raises(NotTrainable, match="fewer than two categories"):
        train("all", min_cases=10)  # 4-5 training cases per category: below the guard
    with pytest.raises(CommandError, match="Not trained"):
        call_command("train_text_model", "--min-cases", "10", stdout=StringIO())
    assert not TextModel.objects.exists()
    case = open_case(agent, title="router offline", description="vpn tunnel drops")
    assert not CaseSuggestion.objects.filter(case=case).exists()  # no model: no suggestion


def test_a_category_below_the_guard_is_never_suggested(agent):
    corpus(agent, per_kind=30, only=("network", "printers"))
    corpus_rare = CategoryFactory(code="access", name="Access")
    Case.objects.filter(title="template").update(category=corpus_rare)
    r = train("all", min_cases=5)
    head = r.model.parameters["heads"]["category"]
    assert corpus_rare.pk not in head["classes"] and len(head["classes"]) == 2
    assert r.metrics["category"]["classes"] == 2


def test_command_prints_the_json_line_last(agent):
    corpus(agent)
    out = StringIO()
    call_command("train_text_model", "--min-cases", "5", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert {"top1", "top3", "macro_f1", "baseline_top1"} <= set(last)
    assert last["top1"] > last["baseline_top1"]  # the words tell the kinds apart; the majority cannot
    assert last["top3"] >= last["top1"] and 0 <= last["macro_f1"] <= 1
    assert last["n_test"] == 18 and TextModel.objects.filter(is_active=True).count() == 1
    assert "Suggestions at intake:" in out.getvalue()


def test_the_daily_schedule_retrains(agent, settings):
    assert Schedule.objects.filter(name="escalations.text_retrain", minutes=24 * 60).exists()
    from escalations.automation.tasks import text_retrain

    assert "skipped" in text_retrain()  # nothing resolved yet: the previous model (none) stays
    corpus(agent)
    settings.TEXT_MODEL_MIN_CASES = 5
    assert text_retrain()["top1"] is not None


def test_channel_intake_stores_a_pending_suggestion_that_staff_accept(agent):
    cats = trained(agent)
    desk = workflow.system_actor()
    case = open_case(desk, category=cats["printers"], title="vpn tunnel drops", description="router offline")
    s = CaseSuggestion.objects.get(case=case)
    assert s.decision == SuggestionDecision.PENDING and s.category == cats["network"]
    assert s.priority == 2 and s.level.code == "L2" and s.category_confidence > 0.5
    assert "vpn" in s.words["category"] or "tunnel" in s.words["category"]
    workflow.case_classify(case_id=case.pk, actor=agent, category=cats["network"], priority=2)
    s.refresh_from_db()
    case = fresh(case)
    assert s.decision == SuggestionDecision.ACCEPTED and s.decided_by == agent
    assert (s.category_accepted, s.priority_accepted) == (True, True)
    assert case.category == cats["network"] and case.priority == 2  # the case took the choice
    assert "accepted the text model's suggestion" in case.history.first().history_change_reason
    with pytest.raises(workflow.InvalidAction, match="no suggestion waiting"):
        workflow.case_classify(case_id=case.pk, actor=agent, category=cats["network"], priority=2)


def test_the_api_returns_the_suggestion(client, agent):
    from escalations.models import ApiToken

    cats = trained(agent)
    _row, key = ApiToken.objects.issue(user=agent, scopes=["read", "act"])
    r = client.post(
        reverse("api:cases"),
        {
            "title": "router offline",
            "description": "vpn tunnel drops",
            "requester_name": "Dana",
            "requester_email": "dana@example.com",
            "category": cats["printers"].pk,
            "impact": 2,
            "urgency": 2,
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code == 201, r.content
    got = r.json()["suggestion"]
    assert got["category"] == cats["network"].pk and got["decision"] == "pending" and got["level"] == "L2"


def test_staff_change_the_suggestion_and_it_is_recorded(agent):
    cats = trained(agent)
    case = open_case(workflow.system_actor(), category=cats["printers"], title="vpn tunnel drops")
    workflow.case_classify(case_id=case.pk, actor=agent, category=cats["access"], priority=3)
    s = CaseSuggestion.objects.get(case=case)
    assert s.decision == SuggestionDecision.CHANGED
    assert (s.category_accepted, s.priority_accepted) == (False, False)
    assert fresh(case).category == cats["access"]
    d = figures.decisions()
    assert (d.decided, d.changed, d.accepted) == (1, 1, 0)


def test_staff_form_shows_the_suggestion_and_records_the_choice(client, agent):
    cats = trained(agent)
    client.force_login(agent)
    form = {
        "requester_name": "Dana",
        "requester_email": "dana@example.com",
        "title": "printer jammed paper",
        "description": "toner empty printer",
        "category": cats["printers"].pk,
        "impact": 3,
        "urgency": 3,
        "complexity": "medium",
        "customer_tier": "standard",
    }
    fragment = client.get(reverse("case-suggest"), {"title": form["title"], "description": form["description"]})
    assert b"Suggested from the text" in fragment.content and b"Printers" in fragment.content
    assert b"printer" in fragment.content and b"% confident" in fragment.content
    page = client.post(reverse("case-new"), {**form, "check": "1"})  # the page without JavaScript
    assert b"Suggested from the text" in page.content
    assert b'name="suggestion_shown" value="1"' in page.content
    client.post(reverse("case-new"), {**form, "suggestion_shown": "1"})
    s = CaseSuggestion.objects.get(case__title="printer jammed paper")
    assert s.decision == SuggestionDecision.ACCEPTED and s.decided_by == agent  # P4 printers, as suggested
    other = {**form, "title": "router offline", "description": "vpn tunnel drops", "suggestion_shown": "1"}
    client.post(reverse("case-new"), other)  # suggested: Network; kept: Printers
    s = CaseSuggestion.objects.get(case__title="router offline")
    assert s.decision == SuggestionDecision.CHANGED and s.category_accepted is False


def test_suggest_fragment_refuses_bad_input_without_error(client, agent):
    client.force_login(agent)
    r = client.get(reverse("case-suggest"), {"title": "x" * 500})
    assert r.status_code == 200 and b"Suggested" not in r.content


def test_case_page_offers_the_pending_suggestion(client, agent):
    cats = trained(agent)
    case = open_case(workflow.system_actor(), category=cats["printers"], title="router offline")
    client.force_login(agent)
    page = client.get(reverse("case-detail", args=[case.pk]))
    assert b"Accept or change the suggested classification" in page.content
    assert b"confidence; the words that weighed most" in page.content


def routing_policy(threshold=0.5):
    return RoutingPolicy.objects.create(
        name="route by text", is_active=True, route_to_predicted_level=True, predicted_level_confidence=threshold
    )


def test_routing_straight_to_the_predicted_level_and_how_often_it_was_right(agent, specialist):
    cats = trained(agent)
    routing_policy()
    config_cache.clear()
    case = open_case(workflow.system_actor(), category=cats["network"], title="vpn tunnel drops")
    case = fresh(case)
    assert case.level.code == "L2" and case.status == CaseStatus.ESCALATED
    esc = Escalation.objects.get(case=case)
    assert esc.from_level.code == "L1" and esc.to_level.code == "L2" and esc.kind == EscalationKind.ESCALATE
    assert esc.justification.startswith("Skipped L1 at intake") and "text model" in esc.justification
    assert "L1 skipped" in esc.reason and esc.summary.startswith("Routed straight to L2")
    assert CaseSuggestion.objects.get(case=case).routed

    printer = open_case(workflow.system_actor(), category=cats["printers"], title="printer jammed paper")
    assert fresh(printer).level.code == "L1"  # predicted L1: nothing to skip

    second = open_case(workflow.system_actor(), category=cats["network"], title="router offline")
    workflow.case_accept(case_id=case.pk, actor=specialist)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Tunnel re-keyed.")
    workflow.case_return(case_id=second.pk, actor=specialist, reason="A printer, not the network.")
    r = figures.routed()
    assert (r.routed, r.settled, r.right, r.returned) == (2, 2, 1, 1) and r.right_rate == 0.5
    out = StringIO()
    call_command("train_text_model", "--min-cases", "5", "--no-save", stdout=out)
    assert "Routed straight to the predicted level: 2 cases, 2 settled, 1 right" in out.getvalue()
    assert json.loads(out.getvalue().strip().splitlines()[-1])["routed_right_rate"] == 0.5
    today = timezone.now().date()
    result = REGISTRY["suggestions"].run(Filters(date_from=today, date_to=today))
    routed = next(t for t in result.tables if t.key == "routed")
    assert routed.rows == [[2, 2, 1, 1, 50.0]]  # the report page's figure


def test_no_routing_below_the_confidence_threshold(agent):
    cats = trained(agent)
    routing_policy(threshold=0.999)
    config_cache.clear()
    case = open_case(workflow.system_actor(), category=cats["network"], title="vpn tunnel drops")
    assert fresh(case).level.code == "L1" and not Escalation.objects.filter(case=case).exists()

"""Impact scoring: the matrix, tier boosts and business impact; intake uses the active
policy; the admin explains a bad matrix; the queue order follows priority then score."""

import pytest
from django.urls import reverse

from escalations.intelligence import scoring
from escalations.models import Case, ScoringPolicy, priority_for

from .factories import open_case

pytestmark = pytest.mark.django_db


def test_without_a_policy_the_built_in_matrix_applies():
    for i in (1, 2, 3):
        for u in (1, 2, 3):
            priority, score = scoring.priority_and_score(i, u, "vip", 0)
            assert priority == priority_for(i, u)  # no tier boost without a policy
            assert score == (5 - priority) * scoring.PRIORITY_POINTS
    assert scoring.priority_and_score(2, 2, "standard", 3) == (3, 23.0)  # one point per business-impact step


def test_the_active_policy_sets_cells_tier_boost_and_weight():
    ScoringPolicy.objects.create(
        name="Ours",
        is_active=True,
        matrix={"3,3": 3, "2,2": 4},
        tier_boost={"vip": 2, "premium": 1},
        business_impact_weight=2.5,
    )
    assert scoring.priority_and_score(3, 3, "standard", 0) == (3, 20.0)  # the cell overrides P4
    assert scoring.priority_and_score(2, 2, "standard", 0)[0] == 4
    assert scoring.priority_and_score(2, 2, "vip", 0)[0] == 2  # boosted two steps
    assert scoring.priority_and_score(1, 1, "vip", 0)[0] == 1  # never above P1
    assert scoring.priority_and_score(2, 3, "premium", 2) == (3, 25.0)  # P4 -> P3; 20 + 2 x 2.5
    # An inactive policy is ignored (saved as the admin saves it, which refreshes the cache).
    for policy in ScoringPolicy.objects.all():
        policy.is_active = False
        policy.save()
    assert scoring.priority_and_score(3, 3, "standard", 0)[0] == 4


def test_malformed_cells_fall_back_instead_of_failing_intake():
    ScoringPolicy.objects.create(name="Odd", is_active=True, matrix={"1,1": "x", "2,2": 9}, tier_boost={"vip": "lots"})
    assert scoring.priority_and_score(1, 1, "vip", 0)[0] == 1
    assert scoring.priority_and_score(2, 2, "vip", 0)[0] == 3


def test_intake_uses_the_active_policy_and_records_the_score(agent):
    ScoringPolicy.objects.create(name="VIP first", is_active=True, tier_boost={"vip": 1}, business_impact_weight=2)
    case = open_case(agent, impact=2, urgency=2, customer_tier="vip", business_impact=3)
    case = Case.objects.get(pk=case.pk)
    assert (case.priority, case.score, case.business_impact) == (2, 36.0, 3)
    # The SLA targets follow the scored priority (L1 P2 response: 15 min).
    assert (case.response_due_at - case.opened_at).total_seconds() == 15 * 60


def test_intake_refuses_an_out_of_range_business_impact(agent):
    from escalations.workflow import InvalidAction

    with pytest.raises(InvalidAction) as exc:
        open_case(agent, business_impact=7)
    assert "business_impact" in exc.value.errors


def test_queue_order_is_priority_then_score_then_age(agent):
    low = open_case(agent, impact=3, urgency=3, title="low")
    mid_plain = open_case(agent, impact=2, urgency=2, title="mid plain")
    mid_severe = open_case(agent, impact=2, urgency=2, business_impact=3, title="mid severe")
    top = open_case(agent, impact=1, urgency=1, title="top")
    order = list(scoring.in_queue_order(Case.objects.all()).values_list("title", flat=True))
    assert order == [top.title, mid_severe.title, mid_plain.title, low.title]


@pytest.mark.parametrize(
    "matrix, message",
    [
        ({"4,1": 1}, "is not a cell"),
        ({"1;1": 1}, "is not a cell"),
        ({"1,1": 5}, "priority from 1 (P1) to 4"),
        ({"1,1": True}, "priority from 1 (P1) to 4"),
        ([1, 2], "JSON object"),
    ],
)
def test_matrix_problems_are_explained(matrix, message):
    assert any(message in p for p in scoring.matrix_problems(matrix))


@pytest.mark.parametrize(
    "boost, message",
    [
        ({"gold": 1}, "not a customer tier"),
        ({"vip": 4}, "from 0 to 3"),
        ({"vip": 1.5}, "from 0 to 3"),
        ("vip", "JSON object"),
    ],
)
def test_tier_boost_problems_are_explained(boost, message):
    assert any(message in p for p in scoring.tier_boost_problems(boost))


def test_good_configuration_has_no_problems():
    assert scoring.matrix_problems({"1,1": 1, "3,3": 4}) == []
    assert scoring.tier_boost_problems({"vip": 3, "premium": 0, "standard": 0}) == []


def _post(client, **overrides):
    data = {"name": "Draft", "matrix": '{"1,1": 1}', "tier_boost": '{"vip": 1}', "business_impact_weight": "1"}
    data.update(overrides)
    return client.post(reverse("admin:escalations_scoringpolicy_add"), data)


def test_admin_form_explains_mistakes_and_saves_a_good_policy(client, manager):
    client.force_login(manager)
    response = _post(client, matrix='{"1,4": 1, "2,2": 7}')
    assert response.status_code == 200
    text = response.content.decode()
    assert "&quot;1,4&quot; is not a cell" in text and "must be a priority from 1 (P1) to 4" in text
    response = _post(client, tier_boost='{"gold": 1}')
    assert "not a customer tier" in response.content.decode()
    assert not ScoringPolicy.objects.exists()

    assert _post(client, is_active="on").status_code == 302
    policy = ScoringPolicy.objects.get(name="Draft")
    assert policy.is_active and policy.matrix == {"1,1": 1}
    page = client.get(reverse("admin:escalations_scoringpolicy_change", args=[policy.pk]))
    assert page.status_code == 200 and "impact 1: P1 P2 P3" in page.content.decode()

    response = _post(client, name="Second", is_active="on")
    assert "is the active scoring policy" in response.content.decode()


def test_agents_cannot_change_scoring_policies(client, agent):
    client.force_login(agent)
    assert _post(client).status_code == 403

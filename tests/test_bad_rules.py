"""Configuration cannot stop intake (issue 14, finding 5): a rule already stored with an
absurd value (saved around validation) is skipped by intake and the sweep, the reason is
recorded, and the admin warns; the forms refuse such values with an explanation."""

import pytest
from django.urls import reverse

from escalations.automation import sweep
from escalations.models import Case, RuleProblem, TriggerRule

from .factories import open_case

pytestmark = pytest.mark.django_db

BAD = [
    ("no_response", {"minutes": 1e300}),
    ("sla_percent", {"target": "response", "percent": 1e300}),
    ("sla_percent", {"target": "resolution", "percent": "many"}),
    ("reassignments", {"at_least": None}),
    ("no_response", {"minutes": 30, "and": [{"condition": "priority", "at_most": "x"}]}),
]


@pytest.mark.parametrize(("condition", "params"), BAD)
def test_intake_and_sweep_survive_a_bad_stored_rule(clock, agent, condition, params):
    rule = TriggerRule.objects.create(name="Sane", order=1, condition="no_response", params={"minutes": 30}, action="notify",
                                      recipients=["assignee"])  # fmt: skip
    TriggerRule.objects.filter(pk=rule.pk).update(condition=condition, params=params)  # around validation
    case = open_case(agent, title="Still opens")
    assert Case.objects.filter(pk=case.pk).exists()
    clock.advance(days=3)
    result = sweep.run_sweep()
    assert result.examined >= 1
    problem = RuleProblem.objects.get(rule=rule)
    assert problem.reason and problem.skipped >= 1


def test_the_admin_warns_about_a_skipped_rule(client, manager, clock, agent):
    rule = TriggerRule.objects.create(name="Broken one", condition="no_response", params={"minutes": 30},
                                      action="notify", recipients=["assignee"])  # fmt: skip
    TriggerRule.objects.filter(pk=rule.pk).update(params={"minutes": 1e300})
    open_case(agent)
    client.force_login(manager)
    page = client.get(reverse("admin:escalations_triggerrule_changelist")).content.decode()
    assert "Broken one" in page and "is skipped" in page


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"condition": "no_response", "minutes": "1e300"}, "minutes", "not a duration"),
        ({"condition": "no_response", "minutes": "400 d"}, "minutes", "at most 365 d"),
        ({"condition": "no_response", "minutes": "0"}, "minutes", "at least 1 min"),
        (
            {"condition": "sla_percent", "target": "response", "percent": "100000"},
            "percent",
            "less than or equal to 1000",
        ),
        ({"condition": "reassignments", "at_least": "99999999"}, "at_least", "less than or equal to 1000"),
        ({"condition": "priority", "priority_at_most": ""}, "priority_at_most", "required"),
    ],
)
def test_the_rule_form_refuses_absurd_numbers_with_an_explanation(client, manager, data, field, words):
    client.force_login(manager)
    post = {"name": "Absurd", "order": "10", "is_active": "on", "action": "notify", "recipients": ["assignee"], **data}
    response = client.post(reverse("admin:escalations_triggerrule_add"), post)
    assert response.status_code == 200, "refused, shown again"
    errors = response.context["adminform"].form.errors
    assert field in errors and words in " ".join(errors[field]).lower()
    assert not TriggerRule.objects.filter(name="Absurd").exists()


def test_the_rule_form_writes_params_without_json(client, manager):
    client.force_login(manager)
    post = {"name": "Warn at 75", "order": "10", "is_active": "on", "condition": "sla_percent", "target": "response",
            "percent": "75", "action": "notify", "recipients": ["assignee", "team"], "repeat_every": "4 h"}  # fmt: skip
    response = client.post(reverse("admin:escalations_triggerrule_add"), post)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = TriggerRule.objects.get(name="Warn at 75")
    assert rule.params == {"target": "response", "percent": 75} and rule.recipients == ["assignee", "team"]
    assert rule.repeat_every.total_seconds() == 4 * 3600
    page = client.get(reverse("admin:escalations_triggerrule_change", args=[rule.pk])).content.decode()
    assert 'value="4 h"' in page and 'name="percent"' in page


def test_huge_repeat_and_order_are_refused(client, manager):
    client.force_login(manager)
    post = {"name": "Too long", "order": "99999999999", "is_active": "on", "condition": "no_response", "minutes": "30",
            "action": "notify", "recipients": ["assignee"], "repeat_every": "999999 d"}  # fmt: skip
    response = client.post(reverse("admin:escalations_triggerrule_add"), post)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "order" in errors and "repeat_every" in errors

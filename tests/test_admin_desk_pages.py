"""The what-if beside the current setup (preselected), and the sweep health page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from escalations.automation import sweep, whatif
from escalations.automation.whatif_compare import compare
from escalations.models import SlaPolicy, SweepHeartbeat, TriggerRule

from .test_whatif import draft, period  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_whatif_preselects_the_current_setup_and_compares(client, manager, draft, period):  # noqa: F811
    url = reverse("admin:escalations_scoringpolicy_whatif")
    client.force_login(manager)
    blank = client.get(url)
    form = blank.context["form"]
    assert form.initial["policy"] == SlaPolicy.objects.default().pk
    assert set(form.initial["rules"]) == set(TriggerRule.objects.filter(is_active=True))
    params = {
        "date_from": "2025-06-02",
        "date_to": "2025-06-02",
        "policy": draft[0].pk,
        "rules": [r.pk for r in draft[1]],
    }
    page = client.get(url, params)
    text = page.content.decode()
    assert "Draft and current side by side" in text and "Difference" in text
    comparison = page.context["comparison"]
    drafted = page.context["report"]
    assert [c.draft for _, c in comparison["summary"]][0] == drafted.cases_breaching_response
    assert url in client.get(reverse("admin:escalations_slapolicy_changelist")).content.decode()
    assert url in client.get(reverse("admin:escalations_triggerrule_changelist")).content.decode()
    assert url in client.get(reverse("admin:index")).content.decode()


def test_compare_gives_the_difference():
    a = whatif.Report(date_from=None, date_to=None, policy="a", rules=[], cases_breaching_response=5)
    b = whatif.Report(date_from=None, date_to=None, policy="b", rules=[], cases_breaching_response=2)
    a.levels["L1"] = whatif.LevelCounts(cases=4, response_breaches=3)
    b.teams["T"] = whatif.TeamLoad(cases=1)
    out = compare(a, b)
    label, cell = out["summary"][0]
    assert (cell.current, cell.draft, cell.diff_text) == (5, 2, "−3")
    assert out["levels"][0][1][1].diff == -3 and out["teams"][0][1][0].diff_text == "+1"


def test_sweep_health_shows_ms_cases_lag_and_warns_when_late(client, manager, agent):
    sweep.run_sweep()
    url = reverse("admin:escalations_sweepheartbeat_changelist")
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert " ms<" in page and "just now" in page and "Cases handled" in page
    assert "The sweep is late" not in page
    SweepHeartbeat.objects.update(last_run_at=timezone.now() - timedelta(hours=2))
    page = client.get(url).content.decode()
    assert "The sweep is late" in page and "LATE" in page and "2 h ago" in page
    assert url in client.get(reverse("admin:index")).content.decode()

"""Models worth acting on: censoring at the training cut (slow cases are trained on too),
Platt calibration fitted on a later slice of the training period, the expected calibration
error, and a served model that is never worse than the boosted baseline on the hold-out."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from escalations.intelligence.risk import calibration, time_split, train
from escalations.intelligence.risk.features import Row
from escalations.models import Case, CaseStatus, Category, Level

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def row(i, opened_h, closed_h=None, *, breach=False, due_h=None, breached_h=None, escalated_h=None) -> Row:
    at = lambda h: None if h is None else T0 + timedelta(hours=h)  # noqa: E731
    return Row(
        id=i,
        opened_at=at(opened_h),
        closed_at=at(closed_h),
        priority=3,
        impact=2,
        urgency=2,
        complexity="medium",
        customer_tier="standard",
        business_impact=0,
        category="c",
        category_name="c",
        requester="r",
        team="",
        team_name="",
        level_rank=1,
        level_code="L1",
        breach=breach,
        escalation=escalated_h is not None,
        due_at=at(due_h),
        breached_at=at(breached_h),
        escalated_at=at(escalated_h),
    )


def test_a_case_open_at_the_cut_is_a_breach_if_its_deadline_had_passed_else_left_out():
    rows = [row(i, i, i + 0.5, breach=i % 3 == 0) for i in range(10)]
    rows += [
        row(100, 1, 500, breach=True, due_h=3, breached_h=3),  # slow, deadline passed before the cut
        row(101, 2, None, due_h=5),  # still open today, deadline passed before the cut
        row(102, 3, 400, breach=True, due_h=300),  # deadline after the cut: unknown then
        row(103, 4, None, due_h=900),  # open, deadline far away: unknown
    ]
    split = time_split(rows, "breach")
    assert split.cutoff == T0 + timedelta(hours=8)
    kept = dict(zip([r.id for r in split.train], split.labels))
    assert kept[100] == 1 and kept[101] == 1  # trained on, as breaches: known at the cut
    assert 102 not in kept and 103 not in kept
    assert split.censored == 2 and split.dropped == 2
    assert all(r.label_at("breach", split.cutoff) is not None for r in split.train)


def test_escalation_labels_at_the_cut_come_from_the_first_move_up():
    late = row(1, 0, 100, escalated_h=50)
    early = row(2, 0, 100, escalated_h=2)
    cut = T0 + timedelta(hours=10)
    assert early.label_at("escalation", cut) is True
    assert late.label_at("escalation", cut) is None
    assert row(3, 0, 5).label_at("escalation", cut) is False  # closed by the cut, never escalated


def test_expected_calibration_error():
    assert calibration.ece([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert calibration.ece([1, 1, 1, 1], [0.05, 0.05, 0.05, 0.05]) == 0.95
    assert calibration.ece([], []) is None


def test_platt_scaling_repairs_an_overconfident_model():
    rnd = random.Random(1)
    truth = [rnd.random() for _ in range(4000)]
    y = [int(rnd.random() < t) for t in truth]
    overconfident = [calibration.sigmoid(4 * calibration.logit(t)) for t in truth]  # pushed to 0 and 1
    before = calibration.ece(y, overconfident)
    fitted = calibration.fit_platt(overconfident[:2000], y[:2000])  # the earlier slice
    after = calibration.ece(y[2000:], [calibration.apply(fitted, p) for p in overconfident[2000:]])
    assert before > 0.1 and after < 0.05
    assert calibration.fit_platt([0.2, 0.4], [1, 1]) == {"a": 1.0, "b": 0.0}  # one outcome: identity


@pytest.mark.django_db
def test_the_served_model_matches_the_baseline_and_is_calibrated():
    """Cases whose breach depends on an interaction the linear model cannot draw (a category
    breaches only at priority 1): the boosted model ranks better, so it serves, calibrated."""
    l1 = Level.objects.get(code="L1")
    cats = [Category.objects.create(code=f"c{i}", name=f"C{i}") for i in range(3)]
    rnd = random.Random(5)
    for i in range(900):
        cat, priority = cats[i % 3], rnd.choice([1, 2, 3, 4])
        p = 0.85 if (cat == cats[0]) == (priority <= 2) else 0.08
        opened = T0 + timedelta(hours=2 * i)
        end = opened + timedelta(hours=rnd.randint(1, 20))
        breached = rnd.random() < p
        Case.objects.create(
            title="Synthetic",
            requester_name="R",
            requester_email=f"u{i % 40}@example.com",
            category=cat,
            priority=priority,
            impact=min(priority, 3),
            urgency=min(priority, 3),
            level=l1,
            highest_level=l1,
            opened_at=opened,
            level_entered_at=opened,
            status=CaseStatus.CLOSED,
        )
        Case.objects.filter(requester_email=f"u{i % 40}@example.com", opened_at=opened).update(
            resolved_at=end, closed_at=end, resolution_breached_at=end if breached else None
        )
    result = train("breach", save=True)
    m = result.metrics
    assert m["auc"] >= m["baseline_auc"] - 1e-9  # the served model matches or beats the baseline
    assert m["served"] == "boosted" and m["baseline_auc"] > m["logistic_auc"]
    assert m["ece"] <= 0.05, repr(m)
    assert "boosted" in result.model.parameters and result.model.parameters["calibration"]

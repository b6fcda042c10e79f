"""Models worth acting on: censoring at the training cut (slow cases are trained on too),
Platt calibration fitted on a later slice of the training period, the expected calibration
error, and a served model that is never worse than the boosted baseline on the hold-out."""

import importlib
import random
from datetime import UTC, datetime, timedelta

import pytest

from escalations.intelligence.risk import calibration, time_split, train
from escalations.intelligence.risk.features import Row
from escalations.models import Case, CaseStatus, Category, Level

train_module = importlib.import_module("escalations.intelligence.risk.train")  # the package exports the function

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


def test_the_outcome_is_known_at_the_resolution_not_at_the_closing():
    """Resolved within its deadline before the cut, closed (confirmed) days after: known then,
    and not a breach (it was counted as a breach once the deadline passed before it closed)."""
    cut = T0 + timedelta(hours=30)
    quick = row(1, 0, 120, due_h=12)
    quick.resolved_at = T0 + timedelta(hours=1)
    assert quick.label_at("breach", cut) is False and quick.done_at() == quick.resolved_at
    late = row(2, 0, 120, breach=True, due_h=12, breached_h=12)
    late.resolved_at = T0 + timedelta(hours=20)
    assert late.label_at("breach", cut) is True
    pending = row(3, 25, 120, due_h=37)
    pending.resolved_at = T0 + timedelta(hours=40)
    assert pending.label_at("breach", cut) is None  # unresolved, deadline ahead
    moved = row(4, 0, 120, escalated_h=50)
    moved.resolved_at = T0 + timedelta(hours=2)
    assert moved.label_at("escalation", cut) is False  # resolved unescalated by the cut


def test_the_calibration_slice_ends_a_maturity_gap_before_the_cut():
    rows = [row(i, i, i + 1, due_h=i + (10 if i % 10 else 40)) for i in range(200)]
    labels = [0] * len(rows)
    cut = T0 + timedelta(hours=200)
    assert train_module.maturity_gap(rows) == timedelta(hours=40)  # the 90th percentile of the targets
    fit_rows, _, cal_rows, _ = train_module.older_newer(rows, labels, cut)
    assert cal_rows[-1].opened_at < cut - timedelta(hours=40)  # the newest 40 h are in neither part
    assert len(cal_rows) == int(160 * train_module.CALIBRATION_FRACTION) and len(fit_rows) == 160 - len(cal_rows)
    assert fit_rows[-1].opened_at < cal_rows[0].opened_at  # calibrated on a later slice than fitted
    assert train_module.older_newer(rows, labels) == (rows[:160], labels[:160], rows[160:], labels[160:])


def test_isotonic_calibration_repairs_what_platt_cannot_and_auto_chooses_it():
    """A model whose errors are not a straight line in log-odds (the true rate is a flat 0.25
    up to a raw 0.6, then climbs steeply): Platt's two numbers cannot follow the bend, the
    isotonic curve can, and the choice made on the slice's own halves picks it."""
    rnd = random.Random(3)
    raw = [rnd.random() for _ in range(6000)]
    y = [int(rnd.random() < (0.25 if r < 0.6 else 0.25 + (r - 0.6) / 0.4 * 0.75)) for r in raw]
    before = calibration.ece(y[3000:], raw[3000:])
    platt = calibration.fit(raw[:3000], y[:3000], "platt")
    fitted = calibration.fit(raw[:3000], y[:3000])  # auto
    assert fitted["method"] == "isotonic" and platt["method"] == "platt"
    after = calibration.ece(y[3000:], [calibration.apply(fitted, p) for p in raw[3000:]])
    after_platt = calibration.ece(y[3000:], [calibration.apply(platt, p) for p in raw[3000:]])
    assert before > 0.1 and after <= 0.05 and after < after_platt
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw[:3000], y[:3000])
    for p, q in zip(raw[3000:3200], iso.predict(raw[3000:3200])):  # pure Python = scikit-learn
        assert abs(calibration.apply(fitted, p) - q) < 1e-9
    assert calibration.fit([0.2, 0.4], [1, 1]) == {"a": 1.0, "b": 0.0, "method": "platt"}


def test_resolved_quickly_closed_late_cases_train_a_calibrated_model():
    """Cases resolved (or breached at their 48 h deadline) and closed five days later, the
    shape of the BPIC 2013 log. Labelled at the resolution (not at the closing, which made
    every quickly resolved case open at the cut a breach) and calibrated on a slice that ended
    a maturity gap before the cut, the training labels are not inflated and the hold-out is
    calibrated."""
    rnd = random.Random(11)
    rows = []
    for i in range(6000):
        priority = rnd.choice([1, 2, 3, 4])
        breach = rnd.random() < (0.7, 0.45, 0.25, 0.1)[priority - 1]
        opened = i * 0.25
        resolved = opened + 48 + rnd.uniform(1, 30) if breach else opened + rnd.uniform(0.2, 47)
        r = row(i, opened, resolved + 120, breach=breach, due_h=opened + 48, breached_h=opened + 48 if breach else None)
        r.resolved_at, r.priority, r.requester = T0 + timedelta(hours=resolved), priority, f"r{i % 50}"
        rows.append(r)
    m = train("breach", rows=rows, save=False).metrics
    assert abs(m["train_positive_rate"] - m["base_rate"]) < 0.03, m  # labels not inflated
    assert m["ece"] <= 0.05 and m["calibration_cases"] > 800, m

"""Risk models (escalations.risk): JSON parameters, scoring without scikit-learn, a hold-out
that only ever learns from the past, reasons in words, the command's JSON line, the schedule.

Synthetic data: closed cases written as rows (with their intake history row), a breach
pattern driven by priority and category, escalations driven by category."""

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from escalations.automation import tasks
from escalations.domain.defaults import SCHEDULES
from escalations.intelligence.risk import boosted, predict, score_open_cases, time_split, train
from escalations.intelligence.risk.features import Row, load_rows, make_spec, matrix, past_rates
from escalations.intelligence.risk.predict import probability
from escalations.intelligence.risk.train import scaled
from escalations.models import Case, CaseStatus, Category, Level, RiskModel

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def make_case(
    category,
    opened_at,
    *,
    priority=3,
    closed_after=None,
    breached=False,
    escalated=False,
    requester="rita@example.com",
    source="",
    made_sla=None,
    **extra,
) -> Case:
    l1 = Level.objects.get(code="L1")
    closed = closed_after is not None
    fields = dict(
        title="Synthetic",
        requester_name="Rita",
        requester_email=requester,
        category=category,
        priority=priority,
        impact=min(priority, 3),
        urgency=min(priority, 3),
        level=l1,
        highest_level=l1,
        opened_at=opened_at,
        level_entered_at=opened_at,
        source=source,
        external_id=f"x{Case.objects.count()}" if source else "",
        source_made_sla=made_sla,
        status=CaseStatus.CLOSED if closed else CaseStatus.IN_PROGRESS,
    )
    fields.update(extra)
    case = Case.objects.create(**fields)  # history "+" row: the intake values
    if closed:
        end = opened_at + closed_after
        Case.objects.filter(pk=case.pk).update(
            resolved_at=end,
            closed_at=end,
            resolution_breached_at=end if breached else None,
            escalation_count=1 if escalated else 0,
            highest_level=Level.objects.get(code="L2") if escalated else l1,
        )
    return case


@pytest.fixture
def categories():
    return (
        Category.objects.create(code="network", name="Network"),
        Category.objects.create(code="printing", name="Printing"),
    )


@pytest.fixture
def history(categories):
    """160 closed cases, one every 3 hours; P1 and Network breach far more often."""
    network, printing = categories
    rnd = random.Random(7)
    for i in range(160):
        cat = network if i % 2 else printing
        priority = rnd.choice([1, 2, 3, 4])
        p_breach = 0.1 + 0.5 * (priority == 1) + 0.3 * (cat == network)
        make_case(
            cat,
            T0 + timedelta(hours=3 * i),
            priority=priority,
            closed_after=timedelta(hours=rnd.randint(1, 30)),
            breached=rnd.random() < p_breach,
            escalated=rnd.random() < (0.6 if cat == network else 0.1),
            requester=f"user{i % 9}@example.com",
        )
    return categories


def rows_from(specs):
    """Pure rows: (id, opened hour, closed hour or None, category, breach)."""
    return [
        Row(
            id=i,
            opened_at=T0 + timedelta(hours=o),
            closed_at=None if c is None else T0 + timedelta(hours=c),
            priority=3,
            impact=2,
            urgency=2,
            complexity="medium",
            customer_tier="standard",
            business_impact=0,
            category=cat,
            category_name=cat,
            requester="r",
            team="",
            team_name="",
            level_rank=1,
            level_code="L1",
            breach=b,
        )
        for i, o, c, cat, b in specs
    ]


# -- training stores JSON ----------------------------------------------------------------


def test_training_stores_an_active_model_with_json_parameters(history):
    result = train("breach")
    model = RiskModel.objects.get(pk=result.model.pk)
    assert model.is_active and model.target == "breach"
    params = json.loads(json.dumps(model.parameters))  # plain JSON, no pickles
    assert params == model.parameters
    n = len(model.features)
    assert model.features == params["names"]
    assert len(params["coefficients"]) == len(params["means"]) == len(params["scales"]) == n
    assert isinstance(params["intercept"], float)
    assert model.n_train == result.n_train > 0 and model.n_test == result.n_test == 32
    assert 0 <= model.metrics["auc"] <= 1 and 0 <= model.metrics["brier"] <= 1
    assert len(model.metrics["reliability"]) == 5

    again = train("breach")
    assert list(RiskModel.objects.filter(target="breach", is_active=True)) == [again.model]


def test_features_never_include_later_counts_or_times(history):
    names = train("escalation", save=False).params["names"]
    for leaky in ("reassignment", "reopen", "escalation_count", "highest_level", "resolved", "closed"):
        assert not any(leaky in n for n in names)


def test_pure_python_prediction_matches_scikit_learn(history):
    result = train("breach", save=False)
    expected = result.fitted.proba(result.X_all)  # scikit-learn's served model, then calibration
    ours = [probability(result.params, x) for x in result.X_all]
    assert max(abs(a - b) for a, b in zip(ours, expected)) < 1e-9
    scaler, clf = result.estimator  # the logistic model (reasons come from it) ...
    logistic = {k: v for k, v in result.params.items() if k not in ("boosted", "calibration")}
    lr = clf.predict_proba(scaled(scaler, result.X_all))[:, 1]
    assert max(abs(probability(logistic, x) - p) for x, p in zip(result.X_all, lr)) < 1e-9
    trees = boosted.export(result.fitted.boost)  # ... and the boosted trees exported to JSON
    sk = result.fitted.boost.predict_proba(result.X_all)[:, 1]
    assert max(abs(boosted.probability(trees, x) - p) for x, p in zip(result.X_all, sk)) < 1e-9


def test_predict_needs_no_scikit_learn(history, monkeypatch):
    train("breach")
    train("escalation")
    case = make_case(history[0], T0 + timedelta(days=60), priority=1)
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of it now fails
    monkeypatch.setitem(sys.modules, "sklearn", None)
    out = predict(case)
    assert 0 < out["breach_risk"] < 1 and 0 < out["escalation_risk"] < 1
    assert out["reasons"] == [f"breach: {w}" for w in out["breach_reasons"]] + [
        f"escalation: {w}" for w in out["escalation_reasons"]
    ]


# -- the evaluation only ever uses past data ---------------------------------------------


def test_split_trains_only_on_cases_closed_before_the_first_test_case_opened():
    # ten cases, opened hourly; case 6 stays open (closes) long after the cutoff
    rows = rows_from([(i, i, i + (50 if i == 6 else 0.5), "a", i % 2 == 0) for i in range(10)])
    split = time_split(rows)
    assert [r.id for r in split.test] == [8, 9]
    assert split.cutoff == min(r.opened_at for r in split.test)
    assert 6 not in [r.id for r in split.train] and split.dropped == 1
    assert max(r.closed_at for r in split.train) <= min(r.opened_at for r in split.test)
    assert max(r.opened_at for r in split.train) < split.cutoff


def test_split_property_on_stored_cases(history):
    result = train("breach", save=False)
    split = result.split
    assert max(r.closed_at for r in split.train) <= min(r.opened_at for r in split.test)
    assert result.n_train + result.n_test + split.dropped == 160


def test_past_rates_count_only_cases_closed_before_opening():
    rows = rows_from([(1, 0, 5, "a", True), (2, 3, 4, "a", False), (3, 5, 9, "a", False), (4, 6, 7, "a", True)])
    past_rates(rows, rows, "breach")
    by_id = {r.id: r.past["category"] for r in rows}
    assert by_id[1] == (0, 0)
    assert by_id[2] == (0, 0)  # case 1 was still open at hour 3
    assert by_id[3] == (0, 1)  # case 2 closed at 4; case 1 closes at 5, not strictly before 5
    assert by_id[4] == (1, 2)


def test_changing_or_shuffling_future_rows_does_not_change_training_features(history):
    rows = load_rows(Case.objects.filter(status=CaseStatus.CLOSED))
    past_rates(rows, rows, "breach")
    split = time_split(rows)
    spec = make_spec(split.train)
    before = matrix(split.train, spec)

    train_ids = {r.id for r in split.train}
    future = [r for r in rows if r.id not in train_ids]
    rnd = random.Random(3)
    for r in future:  # rewrite the future: other outcomes, another category, shuffled order
        r.breach = not r.breach
        r.category, r.category_name = "999", "Elsewhere"
    rnd.shuffle(future)
    again = [r for r in rows if r.id in train_ids] + future
    rnd.shuffle(again)
    past_rates(again, again, "breach")
    assert matrix(split.train, make_spec(split.train)) == before


def test_intake_values_are_used_not_later_ones(history):
    case = make_case(history[0], T0 + timedelta(days=60), priority=4)
    Case.objects.filter(pk=case.pk).update(priority=1, escalation_count=3)  # known only later
    (row,) = load_rows(Case.objects.filter(pk=case.pk))
    assert row.priority == 4


def test_labels_from_escalation_and_source_sla_verdict(categories):
    network, _ = categories
    made = make_case(network, T0, closed_after=timedelta(hours=1), source="uci", made_sla=True)
    missed = make_case(network, T0, closed_after=timedelta(hours=1), source="uci", made_sla=False)
    climbed = make_case(network, T0, closed_after=timedelta(hours=1), escalated=True)
    rows = {r.id: r for r in load_rows(Case.objects.all())}
    assert (rows[made.pk].breach, rows[missed.pk].breach) == (False, True)
    assert rows[climbed.pk].escalation and not rows[made.pk].escalation


# -- scoring and reasons -----------------------------------------------------------------


def test_score_open_cases_writes_risk_and_reasons_in_words(history):
    network, _ = history
    train("breach")
    train("escalation")
    hot = make_case(network, T0 + timedelta(days=60), priority=1)
    closed = Case.objects.filter(status=CaseStatus.CLOSED).first()
    assert score_open_cases() == 1
    hot.refresh_from_db()
    closed.refresh_from_db()
    assert 0 < hot.breach_risk < 1 and 0 < hot.escalation_risk < 1 and hot.risk_scored_at is not None
    assert closed.breach_risk is None
    assert hot.risk_reasons and all(isinstance(r, str) for r in hot.risk_reasons)
    text = " | ".join(hot.risk_reasons)
    assert "priority P1 critical" in text or "Network" in text
    for raw in ("priority:", "category:", "past_rate", "level_rank"):
        assert raw not in text
    assert predict(hot)["breach_risk"] == hot.breach_risk


def test_score_without_models_does_nothing(categories):
    make_case(categories[0], T0)
    assert score_open_cases() == 0


# -- the command, the task, the schedule -----------------------------------------------


def test_command_prints_a_table_and_ends_with_one_json_line(history):
    out = StringIO()
    call_command("train_risk_model", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert "ROC AUC" in out.getvalue() and "reliability" in out.getvalue()
    last = json.loads(lines[-1])
    assert {"auc", "baseline_auc", "brier", "baseline_brier", "ece", "precision_at_10", "n_train", "n_test"} <= set(
        last
    )
    assert last["served"] in ("logistic", "boosted") and 0 <= last["ece"] <= 1
    assert last["n_test"] == 32 and 0 <= last["precision_at_10"] <= 1


def test_command_both_targets_ends_with_the_breach_json(history):
    out = StringIO()
    call_command("train_risk_model", "--target", "both", "--source", "live", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    breach = RiskModel.objects.get(target="breach", is_active=True)
    assert RiskModel.objects.filter(target="escalation", is_active=True).exists()
    assert (last["n_train"], last["auc"]) == (breach.n_train, breach.metrics["auc"])


def test_command_without_data_fails_clearly(db):
    with pytest.raises(CommandError):
        call_command("train_risk_model", "--source", "uci", stdout=StringIO())


def test_schedule_runs_the_retrain_task(history):
    func, minutes = SCHEDULES["escalations.risk_retrain"]
    assert func == "escalations.automation.tasks.risk_retrain" and minutes >= 60
    make_case(history[0], T0 + timedelta(days=60), priority=1)
    result = tasks.risk_retrain()
    assert result["scored"] == 1 and result["breach"]["n_test"] == 32
    assert RiskModel.objects.filter(is_active=True).count() == 2


def test_past_rate_reasons_only_when_above_the_overall_rate_and_not_thin():
    from escalations.intelligence.risk.features import describe

    (row,) = rows_from([(1, 0, None, "7", False)])
    row.category_name = "Network"
    row.past = {"category": (4, 10), "requester": (1, 2), "team": (1, 10), "all": (20, 100)}
    assert describe("past_rate:category", row, "escalation") == (
        "category Network cases were escalated 40 % of the time (4 of 10 closed)"
    )
    assert describe("past_rate:requester", row, "breach") is None  # two cases: too thin
    assert describe("past_rate:team", row, "breach") is None  # 10 % is below the overall 20 %

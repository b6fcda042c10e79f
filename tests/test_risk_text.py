"""Text columns in the risk model (issue 17): the text classifier's priority and level
heads read each case's title and description; training cases get their values out of fold,
so no value comes from a head that saw the case, and serving computes the same columns
from the stored heads in pure Python."""

import random
from datetime import timedelta

import pytest
from sklearn.metrics import roc_auc_score

from escalations.intelligence.risk import text_columns, train
from escalations.intelligence.risk.features import load_rows, vector
from escalations.intelligence.risk.predict import score_row
from escalations.intelligence.text import features as text_features
from escalations.intelligence.text.train import fit_head, probabilities
from escalations.models import Case, Category, Level, RiskModel
from tests.test_risk import T0, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def unique_words(db):
    """120 resolved cases; each title is one word no other case has, its level and priority
    are coin flips. A head that saw a case knows its level from its word (in sample: perfect);
    a head that did not has nothing to go on (out of fold: chance)."""
    network = Category.objects.create(code="network", name="Network")
    l1, l2 = Level.objects.get(code="L1"), Level.objects.get(code="L2")
    rnd = random.Random(3)
    for i in range(120):
        word = "".join(rnd.choice("bcdfghjklmnpqrstvwxz") for _ in range(9))
        up = rnd.random() < 0.5
        make_case(
            network,
            T0 + timedelta(hours=3 * i),
            priority=2 if rnd.random() < 0.5 else 4,
            closed_after=timedelta(hours=2),
            breached=up,
            escalated=up,
            level=l2 if up else l1,
            title=word,
            description="",
        )
    return network


def test_out_of_fold_values_do_not_come_from_a_head_that_saw_the_case(unique_words, monkeypatch):
    monkeypatch.setattr(text_columns, "ENABLED", True)
    rows = load_rows(Case.objects.all())
    cut = rows[-1].opened_at + timedelta(days=1)
    payload = text_columns.attach(rows, [], cut, min_cases=5)
    assert payload is not None
    l2 = Level.objects.get(code="L2").pk
    truth = [int(r.text_labels["level"] == l2) for r in rows]
    oof = [r.text_columns["text:level"] for r in rows]
    # In sample (the full head scoring the cases it was fitted on): the words give it away.
    X = text_features.matrix([r.text for r in rows])
    head = payload["heads"]["level"]
    p = probabilities(X, head)
    in_sample = [sum(pk * (2.0 if c == l2 else 1.0) for c, pk in zip(head["classes"], ps)) for ps in p]
    assert roc_auc_score(truth, in_sample) > 0.95
    assert roc_auc_score(truth, oof) < 0.75  # out of fold: no better than chance, give or take
    # And each value is the one a head fitted without the case's fold gives.
    order = sorted(range(len(rows)), key=lambda i: (rows[i].opened_at, rows[i].id))
    block = set(order[: len(rows) // text_columns.FOLDS])
    others = [i for i in range(len(rows)) if i not in block]
    fold_head = fit_head(X[others], [rows[i].text_labels["level"] for i in others], 5)
    i = min(block)
    expected = sum(
        pk * (2.0 if c == l2 else 1.0) for c, pk in zip(fold_head["classes"], probabilities(X[i], fold_head)[0])
    )
    assert rows[i].text_columns["text:level"] == pytest.approx(expected)


def test_feature_vector_has_the_text_columns_and_serving_computes_them(unique_words, settings, monkeypatch):
    settings.TEXT_MODEL_MIN_CASES = 5
    monkeypatch.setattr(text_columns, "ENABLED", True)
    result = train("escalation", rows=load_rows(Case.objects.all()))
    names = result.params["names"]
    assert "text:priority" in names and "text:level" in names
    assert set(result.params["text"]["heads"]) == {"priority", "level"}
    model = RiskModel.objects.get(target="escalation", is_active=True)
    case = make_case(unique_words, T0 + timedelta(days=30), title=Case.objects.first().title)
    row = load_rows(Case.objects.filter(pk=case.pk))[0]
    score_row(model, row)
    x = vector(row, model.parameters)
    served = row.text_columns["text:level"]
    assert x[names.index("text:level")] == served
    # The same value the NumPy arithmetic of training gives with the stored head.
    head = model.parameters["text"]["heads"]["level"]
    ranks = model.parameters["text"]["values"]["level"]
    p = probabilities(text_features.matrix([row.text]), head)[0]
    assert served == pytest.approx(sum(pk * ranks[str(c)] for c, pk in zip(head["classes"], p)))


def test_switched_off_no_text_columns(unique_words, settings, monkeypatch):
    settings.TEXT_MODEL_MIN_CASES = 5
    monkeypatch.setattr(text_columns, "ENABLED", False)
    result = train("escalation", rows=load_rows(Case.objects.all()), save=False)
    assert not any(n.startswith("text:") for n in result.params["names"])
    assert "text" not in result.params

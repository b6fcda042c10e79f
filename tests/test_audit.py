"""The tamper-evident trail: chained history rows, detection of raw SQL edits, deletes and
inserts, the append-only guard on PostgreSQL, and the documented maintenance path."""

import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from escalations import workflow
from escalations.audit import maintenance, verify
from escalations.models import AuditHead, AuditSeal, Case

from .factories import HANDOFF, open_case, staff

pytestmark = pytest.mark.django_db
CASE_HISTORY = Case.history.model._meta.db_table


def broken_tables():
    return {s.table: s.broken for s in verify.verify() if s.broken}


def tamper(sql, params=()):
    """Change history rows behind the application's back: the raw SQL an intruder with
    the maintainer role would run (on PostgreSQL they first lift the guard for their
    transaction; a test runs in one)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT escalations_audit_unlock('intruder')")
        cur.execute(sql, params)


@pytest.fixture
def worked_case(agent, specialist):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    return case


def test_every_history_row_is_chained(worked_case):
    rows = list(Case.history.filter(id=worked_case.pk).order_by("history_id"))
    assert len(rows) == 4 and all(len(r.row_hash) == 64 for r in rows)
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    head = AuditHead.objects.get(table=CASE_HISTORY)
    assert (head.last_history_id, head.last_hash) == (rows[-1].history_id, rows[-1].row_hash)
    assert broken_tables() == {}


def test_an_edit_is_detected(worked_case):
    victim = Case.history.filter(id=worked_case.pk).order_by("history_id")[1]
    tamper(
        f"UPDATE {CASE_HISTORY} SET history_change_reason = 'nothing happened' WHERE history_id = %s",
        [victim.history_id],
    )
    broken = broken_tables()[CASE_HISTORY]
    assert broken.history_id == victim.history_id and "content does not match" in broken.problem


def test_a_delete_is_detected(worked_case):
    rows = list(Case.history.filter(id=worked_case.pk).order_by("history_id"))
    tamper(f"DELETE FROM {CASE_HISTORY} WHERE history_id = %s", [rows[1].history_id])
    broken = broken_tables()[CASE_HISTORY]
    assert broken.history_id == rows[2].history_id and "does not follow" in broken.problem


def test_deleting_the_newest_row_is_detected(worked_case):
    last = Case.history.order_by("-history_id").first()
    tamper(f"DELETE FROM {CASE_HISTORY} WHERE history_id = %s", [last.history_id])
    assert "rows at the end were deleted or added" in broken_tables()[CASE_HISTORY].problem


def test_an_insert_is_detected(worked_case):
    last = Case.history.order_by("-history_id").first()
    columns = [f.column for f in Case.history.model._meta.concrete_fields if f.column != "history_id"]
    tamper(
        f"INSERT INTO {CASE_HISTORY} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {CASE_HISTORY} "
        "WHERE history_id = %s",
        [last.history_id],
    )
    broken = broken_tables()[CASE_HISTORY]
    assert broken.history_id > last.history_id


def test_verify_audit_command_exits_non_zero_naming_the_record(worked_case, capsys):
    call_command("verify_audit")
    assert "Every chain is intact" in capsys.readouterr().out
    victim = Case.history.order_by("history_id").first()
    tamper(f"UPDATE {CASE_HISTORY} SET title = 'x' WHERE history_id = %s", [victim.history_id])
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit")
    assert exit_.value.code == 1
    assert f"history_id={victim.history_id}" in capsys.readouterr().err


def test_maintenance_path_reseals_and_records_why(worked_case, manager):
    rows = list(Case.history.filter(id=worked_case.pk).order_by("history_id"))
    with maintenance.maintenance(actor="dba", reason="GDPR erasure request #12", tables=[CASE_HISTORY]):
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {CASE_HISTORY} SET requester_email = 'erased@example.com' WHERE id = %s", [worked_case.pk]
            )
    assert broken_tables() == {}
    seal = AuditSeal.objects.get()
    assert seal.reason == "GDPR erasure request #12" and seal.tables == [CASE_HISTORY]
    assert Case.history.get(history_id=rows[0].history_id).requester_email == "erased@example.com"
    with pytest.raises(ValueError):
        with maintenance.maintenance(actor="dba", reason=" "):
            pass


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_history(worked_case):
    for sql in (f"UPDATE {CASE_HISTORY} SET title = 'x'", f"DELETE FROM {CASE_HISTORY}"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
    assert broken_tables() == {}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_chain_stays_valid_under_concurrent_writers():
    agents = [staff("Agent", f"writer{i}") for i in range(4)]
    cases = [open_case(a) for a in agents]
    barrier, errors = threading.Barrier(4), []

    def work(agent, case):
        try:
            barrier.wait()
            for i in range(5):
                workflow.case_note(case_id=case.pk, actor=agent, body=f"note {i}")
                workflow.case_take(case_id=case.pk, actor=agent)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=pair) for pair in zip(agents, cases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert broken_tables() == {}
    assert AuditHead.objects.get(table=CASE_HISTORY).rows == Case.history.count()

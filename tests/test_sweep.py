"""The sweep: heartbeat, schedules, the outbox, and (on PostgreSQL) concurrency and crashes."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from escalations.audit import verify
from escalations.automation import outbox
from escalations.automation.sweep import run_sweep, sweep_lag
from escalations.domain.defaults import SCHEDULES, declare_schedules
from escalations.models import Case, Escalation, Notification, NotificationStatus, RuleFiring

from .factories import TeamFactory, open_case

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def due_cases(actor, n, **kw):
    team = TeamFactory(name="Desk")
    team.members.add(actor)
    return [open_case(actor, impact=1, urgency=1, team=team, **kw) for _ in range(n)]


def counts(cases):
    ids = [c.pk for c in cases]
    return (
        Escalation.objects.filter(case_id__in=ids).count(),
        Case.history.filter(id__in=ids).count(),
        Notification.objects.filter(case_id__in=ids).count(),
        RuleFiring.objects.filter(case_id__in=ids).count(),
    )


def test_empty_sweep_records_a_heartbeat(db):
    r = run_sweep()
    assert (r.examined, r.actions) == (0, 0)
    beat, lag = sweep_lag()
    assert beat.examined == 0 and 0 <= lag < 1


def test_run_sweep_command(agent, capsys):
    due_cases(agent, 2)
    call_command("run_sweep")
    assert "examined 0 due cases" in capsys.readouterr().out  # nothing is due yet


def test_schedules_are_declared_once_by_name(db):
    assert set(Schedule.objects.values_list("name", flat=True)) >= set(SCHEDULES)  # by the migration
    declare_schedules(Schedule)
    declare_schedules(Schedule)
    call_command("setup_schedules")
    for name, (func, minutes) in SCHEDULES.items():
        schedule = Schedule.objects.get(name=name)
        assert (schedule.func, schedule.minutes) == (func, minutes)


def test_down_for_an_hour_escalates_everything_due_once(agent):
    cases = due_cases(agent, 6)
    later = timezone.now() + timedelta(hours=1)
    first = run_sweep(now=later)
    assert first.escalations == 6
    after_first = counts(cases)
    assert run_sweep(now=later).examined == 0
    assert counts(cases) == after_first
    for case in Case.objects.filter(pk__in=[c.pk for c in cases]).select_related("level"):
        assert case.level.code == "L2" and case.escalation_count == 1
        assert case.history.count() == 2  # opened, swept once (warnings and escalation together)
    assert [s.broken for s in verify.verify() if s.broken] == []  # bulk history rows are chained too


def test_outbox_is_sent_after_commit_once(agent, django_capture_on_commit_callbacks):
    case = due_cases(agent, 1)[0]
    from escalations import workflow
    from escalations.models import Level

    from .factories import HANDOFF

    TeamFactory(name="Second line", level=Level.objects.get(code="L2"), email="second-line@example.com")
    workflow.case_take(case_id=case.pk, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)  # urgent: sent right away
    assert [m.subject for m in mail.outbox if "Escalation: case" in m.subject]
    row = Notification.objects.get(case=case, event="escalated")
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    # The intake acknowledgement is not urgent: it asked for no delivery of its own, and
    # went out with the first flush after it was due (here, the escalation's).
    ack = Notification.objects.get(case=case, event="opened")
    assert ack.status == NotificationStatus.SENT and ack.attempts == 1
    sent = len(mail.outbox)
    assert outbox.flush() == 0 and len(mail.outbox) == sent  # never twice


def test_a_non_urgent_notice_waits_for_a_flush(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = due_cases(agent, 1)[0]
    assert callbacks == []  # no delivery task queued for the acknowledgement alone
    ack = Notification.objects.get(case=case, event="opened")
    assert ack.status == NotificationStatus.PENDING
    assert outbox.flush() == 1 and outbox.flush() == 0


def test_failed_delivery_is_retried_then_recovers(agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    case = due_cases(agent, 1)[0]
    assert outbox.flush() == 0
    row = Notification.objects.get(case=case, event="opened")
    assert row.status == NotificationStatus.PENDING and row.attempts == 1 and row.last_error
    assert row.not_before > timezone.now()  # backs off
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.flush() == 0  # not yet due
    assert outbox.flush(now=row.not_before + timedelta(seconds=1)) == 1
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT and row.attempts == 2 and row.last_error == ""
    assert len(mail.outbox) == 1


def test_delivery_gives_up_after_max_attempts(agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    case = due_cases(agent, 1)[0]
    later = timezone.now()
    for _ in range(outbox.MAX_ATTEMPTS):
        later += timedelta(days=1)
        outbox.flush(now=later)
    row = Notification.objects.get(case=case, event="opened")
    assert row.status == NotificationStatus.FAILED and row.attempts == outbox.MAX_ATTEMPTS


def test_non_urgent_notice_waits_for_working_hours(agent):
    from escalations.models import SlaPolicy

    SlaPolicy.objects.update(is_default=False)
    SlaPolicy.objects.filter(name="Business hours").update(is_default=True)
    case = due_cases(agent, 1)[0]
    row = Notification.objects.get(case=case, event="opened")
    from escalations.domain import clock

    cal = clock.calendar_of(case)
    assert row.not_before == (row.created_at if cal.is_working(row.created_at) else cal.next_opening(row.created_at))


# -- PostgreSQL: concurrent sweepers and crashes --------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_four_concurrent_sweeps_do_each_action_once():
    from .factories import staff

    agent = staff("Agent", "sweeper-agent")
    cases = due_cases(agent, 60)
    before = counts(cases)
    later = timezone.now() + timedelta(hours=1)
    barrier, results, errors = threading.Barrier(4), [], []

    def sweeper():
        try:
            barrier.wait()
            results.append(run_sweep(now=later, batch_size=7, heartbeat=""))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.escalations for r in results) == 60
    esc, hist, notes, firings = counts(cases)
    assert esc == 60 and hist == before[1] + 60
    # Per case: 50 % and 75 % warnings to the team, the escalation notice; all distinct.
    assert notes - before[2] == sum(r.notifications for r in results)
    assert firings == 60 * 3  # the 50 %, 75 % warnings and the escalation, once each
    assert Notification.objects.values("dedupe_key").distinct().count() == Notification.objects.count()
    assert sum(1 for r in results if r.examined) >= 2  # the work really was shared


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sweep_killed_mid_batch_leaves_nothing_and_the_next_completes():
    from .factories import staff

    agent = staff("Agent", "crash-agent")
    cases = due_cases(agent, 20)
    ids = [c.pk for c in cases]
    # Make them due now (the subprocess sweeps at the real now).
    Case.objects.filter(pk__in=ids).update(
        opened_at=timezone.now() - timedelta(hours=1),
        level_entered_at=timezone.now() - timedelta(hours=1),
        response_due_at=timezone.now() - timedelta(minutes=45),
        next_check_at=timezone.now() - timedelta(minutes=45),
    )
    before = counts(cases)
    with connection.cursor() as cur:  # stall the batch inside its transaction, after the case update
        cur.execute("""
            CREATE OR REPLACE FUNCTION test_stall() RETURNS trigger AS $$
            BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_stall AFTER INSERT ON escalations_historicalescalation
            FOR EACH STATEMENT EXECUTE FUNCTION test_stall();""")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_sweep"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        backend = None
        for _ in range(300):
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE '%%historicalescalation%%' "
                    "AND wait_event = 'PgSleep'"
                )
                row = cur.fetchone()
            if row:
                backend = row[0]
                break
            time.sleep(0.1)
        assert backend, "the sweep never reached the stalled insert"
        proc.send_signal(signal.SIGKILL)  # the worker dies mid-batch
        proc.wait(timeout=10)
        with connection.cursor() as cur:  # and its server session goes with it
            cur.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        if proc.poll() is None:
            proc.kill()
        with connection.cursor() as cur:
            cur.execute(
                "DROP TRIGGER IF EXISTS test_stall ON escalations_historicalescalation; "
                "DROP FUNCTION IF EXISTS test_stall();"
            )
    assert counts(cases) == before  # nothing half-written
    assert set(Case.objects.filter(pk__in=ids).values_list("level__code", flat=True)) == {"L1"}
    result = run_sweep()
    assert result.escalations == 20
    esc, hist, _, _ = counts(cases)
    assert esc == 20 and hist == before[1] + 20

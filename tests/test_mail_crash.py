"""Exactly-once under real failures: ``fetch_mail`` runs as its own process against the
test database and the session's Dovecot, and is SIGKILLed at the moment under test (a
PostgreSQL trigger holds it there). Then a normal poll must finish the work, and every
message must have opened exactly one case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from escalations.channels.mail.config import MailboxConfig
from escalations.channels.mail.fetch import fetch_all
from escalations.models import Case, InboundMessage, Mailbox, Note

from .factories import CategoryFactory
from .mail_conftest import deliver, mail, unseen

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def box(imap_url, settings, tmp_path):
    settings.MAILBOX_URLS = [imap_url]
    settings.MEDIA_ROOT = str(tmp_path)
    Mailbox.objects.create(
        name="crash", source=MailboxConfig.from_url(imap_url).source, category=CategoryFactory(code="crash-mail")
    )
    return imap_url


def fetch_process(url: str, tmp_path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "MAILBOX_URLS": url,
        "MEDIA_ROOT": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "fetch_mail"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def stall(table: str, when: str = "") -> None:
    """Make the next matching insert into ``table`` sleep inside its transaction."""
    with connection.cursor() as cur:
        cur.execute(f"""
            CREATE OR REPLACE FUNCTION test_mail_stall() RETURNS trigger AS $$
            BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_mail_stall AFTER INSERT ON {table} FOR EACH ROW {when}
            EXECUTE FUNCTION test_mail_stall();""")


def kill_when_stalled(proc: subprocess.Popen, table: str) -> None:
    try:
        backend = None
        for _ in range(300):
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE %s", [f"%{table}%"]
                )
                row = cur.fetchone()
            if row:
                backend = row[0]
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert backend, "fetch_mail never reached the stalled insert"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        with connection.cursor() as cur:  # its server session dies with it, rolling back
            cur.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        if proc.poll() is None:
            proc.kill()
        with connection.cursor() as cur:
            cur.execute(
                f"DROP TRIGGER IF EXISTS test_mail_stall ON {table}; DROP FUNCTION IF EXISTS test_mail_stall();"
            )


def test_killed_after_commit_before_flagging_the_message_is_read_again_and_not_duplicated(box, tmp_path):
    deliver(
        box, mail(subject="first", message_id="<c1@example.com>"), mail(subject="second", message_id="<c2@example.com>")
    )
    # The first message commits; the process dies while taking in the second, before the
    # chunk's \Seen flags are stored.
    stall("escalations_inboundmessage", "WHEN (NEW.subject = 'second')")
    kill_when_stalled(fetch_process(box, tmp_path), "escalations_inboundmessage")
    assert list(InboundMessage.objects.values_list("message_id", flat=True)) == ["<c1@example.com>"]
    assert list(Case.objects.values_list("title", flat=True)) == ["first"]
    assert unseen(box) == 2  # committed, but the server was never told

    result = fetch_all()[0]
    assert result.outcomes == {"duplicate": 1, "opened": 1}
    assert sorted(Case.objects.values_list("title", flat=True)) == ["first", "second"]
    assert unseen(box) == 0


def test_killed_between_parsing_and_commit_nothing_is_written_and_the_next_poll_takes_it(box, tmp_path):
    deliver(box, mail(subject="mid-way", message_id="<c3@example.com>"))
    # The process has parsed the message, claimed its row and opened the case, and is
    # writing the first note when it dies: all inside one transaction.
    stall("escalations_historicalnote")
    kill_when_stalled(fetch_process(box, tmp_path), "escalations_historicalnote")
    assert InboundMessage.objects.count() == 0 and Case.objects.count() == 0 and Note.objects.count() == 0
    assert unseen(box) == 1

    assert fetch_all()[0].outcomes == {"opened": 1}
    assert Case.objects.count() == 1 and Note.objects.count() == 1 and unseen(box) == 0


def test_two_polls_at_once_take_each_message_once(box, tmp_path):
    deliver(box, *[mail(subject=f"parallel {n}", message_id=f"<p{n}@example.com>") for n in range(30)])
    procs = [fetch_process(box, tmp_path) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert Case.objects.count() == 30 and InboundMessage.objects.count() == 30
    assert unseen(box) == 0

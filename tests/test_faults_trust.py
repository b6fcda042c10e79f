"""Fault runs (issue 14): the database's disk full, the database restarted mid-sweep and
mid-import, and a qcluster killed mid-flush of the outbox. Each time: a clear error (exit
status 1, no traceback), nothing half-written, the work finished after recovery, and
``check_invariants`` and ``verify_audit`` clean.

Nothing here touches the shared PostgreSQL: the tests start their own throwaway server
(``devtools/benchmarks/pgserver.py``), build a migrated and seeded template database in
it once, give each test a fresh copy, and drive the desk as an operator would, through
``manage.py`` processes pointed at that server (``DATABASE_URL``). The faults are real: the
server is stopped and started with ``pg_ctl`` (fast, and immediate as in a crash), the disk
is a tmpfs tablespace filled to the brim, the qcluster's whole process group is SIGKILLed.

Figures (how long recovery took, how much was redone) are printed on lines starting with
``FAULT FIGURE`` (run with ``-s`` to see them); README "Faults" records a run."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalations.audit.guards import MAINTAINER_ROLE
from escalations.devtools.benchmarks import pgserver

ROOT = Path(__file__).resolve().parent.parent
SEED_CASES = 120
LATER = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()


def _need_server() -> None:
    if pgserver.bindir() is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def figure(name: str, **values) -> None:
    print(f"FAULT FIGURE {name}: {json.dumps(values)}")


# --- the desk as separate processes against the throwaway server -----------------------


def desk_env(pg: pgserver.PgServer, db: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=pg.url(db),
        DB_CONN_MAX_AGE="0",
        **extra,
    )
    env.pop("AUDIT_CHECKPOINT_DIR", None)
    return env


def manage(pg, db, *args, timeout=300, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=desk_env(pg, db, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn(pg, db, *args, **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=desk_env(pg, db, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed whole, as a container is
    )


def shell(pg, db, code: str, **extra) -> str:
    done = manage(pg, db, "shell", "-c", code, **extra)
    assert done.returncode == 0, done.stderr
    return done.stdout


def clean(pg, db) -> None:
    """``check_invariants`` and ``verify_audit`` both pass (each exits 1 on a failure)."""
    code = "from django.core.management import call_command as c; c('check_invariants'); c('verify_audit')"
    done = manage(pg, db, "shell", "-c", code)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert '"invariants_held": true' in done.stdout and "Every chain is intact." in done.stdout


def wait_for(predicate, seconds: float = 90.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def every_table(pg, db) -> dict[str, int]:
    tables = pg.sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", db=db
    ).splitlines()
    counts = pg.sql(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables), db=db)
    return {name: int(n) for name, n in (line.split("|") for line in counts.splitlines())}


def half_written_cases(pg, db) -> int:
    """Cases whose row disagrees with their newest history row: a write that half-landed."""
    return int(
        pg.sql(
            "SELECT count(*) FROM escalations_case c CROSS JOIN LATERAL (SELECT h.status, h.level_id, h.version "
            "FROM escalations_historicalcase h WHERE h.id = c.id ORDER BY h.history_date DESC, h.history_id DESC "
            "LIMIT 1) h WHERE (h.status, h.level_id, h.version) IS DISTINCT FROM (c.status, c.level_id, c.version)",
            db=db,
        )
    )


def writing_transaction(pg, db) -> bool:
    """A desk session in ``db`` holds an open transaction that has written (has an xid)."""
    return (
        pg.sql(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid()",
        )
        != "0"
    )


def no_traceback(done) -> None:
    text = (done.stdout or "") + (done.stderr or "")
    assert "Traceback" not in text, text


# --- the throwaway server, migrated once -----------------------------------------------


def _cache_key() -> str:
    """Migrations and installed packages: a dump of a migrated database is reused while neither changes."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "escalations" / "migrations").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()):
        digest.update(dist.encode())
    return digest.hexdigest()[:16]


def _migrated(pg: pgserver.PgServer) -> float:
    """Create ``base``: restore a cached dump of a migrated database, or migrate (two minutes
    on a busy machine: rendering 80-odd migration states) and cache it. Seconds taken."""
    began = time.monotonic()
    cache = Path(os.environ.get("FAULTS_CACHE_DIR", Path(os.environ.get("TMPDIR", "/tmp")) / "esc-faults-cache"))
    dump = cache / f"base-{_cache_key()}.dump"
    pg.sql("CREATE DATABASE base")
    pg.sql(f"CREATE ROLE {MAINTAINER_ROLE} NOLOGIN")  # cluster-wide, so not in a database's dump
    if dump.exists():
        done = subprocess.run(
            [str(pg.bin / "pg_restore"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "base",
             "--no-owner", str(dump)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode == 0:
            return time.monotonic() - began
        pg.sql("DROP DATABASE base")
        pg.sql("CREATE DATABASE base")
    done = manage(pg, "base", "migrate", "-v0", timeout=600)
    assert done.returncode == 0, done.stderr
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(pg.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-Fc", "-f",
         str(dump) + ".part", "base"],
        check=True, capture_output=True,
    )  # fmt: skip
    os.replace(str(dump) + ".part", dump)
    return time.monotonic() - began


SEED = f"""
from tests.factories import TeamFactory, open_case, staff
from django_q.models import Schedule
agent = staff("Agent", "alice")
team = TeamFactory(name="Desk")
team.members.add(agent)
for i in range({SEED_CASES}):
    open_case(agent, impact=1, urgency=1, team=team, title=f"Fault run {{i}}")
Schedule.objects.all().delete()  # the tests start each task themselves
"""


@pytest.fixture(scope="module")
def pg():
    _need_server()
    server = pgserver.PgServer()
    try:
        server.start()
        took = _migrated(server)
        began = time.monotonic()
        server.sql("CREATE DATABASE seeded TEMPLATE base")
        shell(server, "seeded", SEED)
        figure("setup", migrated_or_restored_s=round(took, 1), seeded_s=round(time.monotonic() - began, 1))
        yield server
    finally:
        server.close()


_copies = iter(range(1, 1000))


def fresh(pg, tablespace: str | None = None) -> str:
    """A copy of the seeded database for one test."""
    name = f"fault_{next(_copies)}"
    pg.sql(f"CREATE DATABASE {name} TEMPLATE seeded" + (f" TABLESPACE {tablespace}" if tablespace else ""))
    return name


# --- an event log big enough to take a while -----------------------------------------

HEADER = (
    "SR Number,Change Date+Time,Status,Sub Status,Activity,Activity Level,Involved ST Function Div,"
    "Involved Org line 3,Involved ST,Involved ST 2,ST Level,SR Latest Impact,Product,Country,Owner Country,"
    "Owner First Name,Resource"
)
STEPS = [
    ("08:00", "Accepted", "In Progress", "L1", "G1"),
    ("08:30", "Queued", "Awaiting Assignment", "L2", "G2 2nd"),
    ("09:00", "Accepted", "In Progress", "L2", "G2 2nd"),
    ("10:00", "Completed", "Resolved", "L2", "G2 2nd"),
    ("11:00", "Completed", "Closed", "L2", "G2 2nd"),
]


def big_log(path: Path, incidents: int) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for n in range(incidents):
            day = datetime(2012, 1, 1) + timedelta(days=n % 300)
            for at, status, sub, level, team in STEPS:
                fh.write(
                    f"7-{n},{day:%Y-%m-%d}T{at}:00+01:00,{status},{sub},{status}-{sub},{status}-{sub}-{level},"
                    f"A2_4,Org line A2,{team},{team},{level},Medium,PROD{n % 7},se,Sweden,Anna,se-Anna\n"
                )
    return path


# --- the faults ------------------------------------------------------------------------


def test_database_restarted_mid_sweep(pg):
    db = fresh(pg)
    firings = lambda: int(pg.sql("SELECT count(*) FROM escalations_rulefiring", db=db))  # noqa: E731
    assert firings() == 0
    sweep = spawn(pg, db, "run_sweep", "--at", LATER, "--batch-size", "10")
    try:
        # Mid-sweep: batches before have committed, the current one has written and not committed.
        assert wait_for(lambda: firings() > 0 and writing_transaction(pg, db)), "the sweep never got going"
        down = pg.restart("fast")  # the server ends every session (57P01) and comes back
        out, err = sweep.communicate(timeout=120)
    finally:
        sweep.kill()
    assert sweep.returncode == 1, out + err
    assert "during the sweep" in err and "Nothing of the interrupted batch was saved" in err
    assert "Traceback" not in out + err
    assert half_written_cases(pg, db) == 0  # the interrupted batch rolled back whole
    left = int(pg.sql(f"SELECT count(*) FROM escalations_case WHERE next_check_at <= '{LATER}'", db=db))
    assert left > 0
    clean(pg, db)
    began = time.monotonic()
    again = manage(pg, db, "run_sweep", "--at", LATER)  # recovery: the next sweep
    recovery = time.monotonic() - began
    assert again.returncode == 0, again.stderr
    assert pg.sql(f"SELECT count(*) FROM escalations_case WHERE next_check_at <= '{LATER}'", db=db) == "0"
    once = firings()
    assert "examined 0 due cases" in manage(pg, db, "run_sweep", "--at", LATER).stdout
    assert firings() == once  # each action happened once
    assert half_written_cases(pg, db) == 0
    clean(pg, db)
    examined = int(re.search(r"examined (\d+) due cases", again.stdout).group(1))
    figure(
        "mid-sweep restart",
        server_down_s=round(down, 1),
        cases_still_due_after_crash=left,
        of_cases=SEED_CASES,
        claims_redone_by_next_sweep=examined,
        next_sweep_s=round(recovery, 1),
    )


def test_database_crashed_mid_import(pg, tmp_path):
    db = fresh(pg)
    log = big_log(tmp_path / "log.csv.gz", 1500)
    before = every_table(pg, db)
    run = spawn(pg, db, "import_events", str(log), "--format", "bpic2013", "--no-progress")
    try:
        # Mid-import: the whole-file check is done and the one transaction has written.
        assert wait_for(lambda: writing_transaction(pg, db), 180), "the import never started writing"
        time.sleep(0.5)
        began = time.monotonic()
        pg.stop("immediate")  # every server process quits at once, as in a crash
        out, err = run.communicate(timeout=120)
        pg.start()  # crash recovery from the WAL
        down = time.monotonic() - began
    finally:
        run.kill()
    assert run.returncode == 1, out + err
    assert "during the import" in err and "Nothing was imported" in err
    assert "Traceback" not in out + err
    assert every_table(pg, db) == before  # nothing half-written, history included
    began = time.monotonic()
    again = manage(pg, db, "import_events", str(log), "--format", "bpic2013", "--no-progress")
    recovery = time.monotonic() - began
    assert again.returncode == 0, again.stderr
    assert "cases created        1,500" in again.stdout
    assert pg.sql("SELECT count(*) FROM escalations_case WHERE source = 'bpic2013'", db=db) == "1500"
    clean(pg, db)
    figure(
        "mid-import crash",
        server_down_and_recovered_s=round(down, 1),
        incidents_redone=1500,
        rows_redone=1500 * len(STEPS),
        reimport_s=round(recovery, 1),
    )


def test_disk_full_under_the_database(pg, tmp_path):
    try:
        point = pg.small_tablespace("small", 96)
    except PermissionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the disk-full run needs root to mount a tmpfs: {exc}")
        pytest.skip(f"the disk-full run needs root to mount a tmpfs: {exc}")
    db = fresh(pg, tablespace="small")
    pg.sql("CHECKPOINT")  # the copy's pages on the small disk before it is filled
    log = big_log(tmp_path / "log.csv.gz", 600)
    ballast = pgserver.fill(point, leave_kb=512)
    try:
        before = every_table(pg, db)
        full = manage(pg, db, "import_events", str(log), "--format", "bpic2013", "--no-progress")
        assert full.returncode == 1, full.stdout + full.stderr
        assert "The database ran out of disk space during the import" in full.stderr, full.stderr
        assert "Nothing was imported" in full.stderr
        no_traceback(full)
        sweep = manage(pg, db, "run_sweep", "--at", LATER, "--batch-size", "50")
        assert sweep.returncode == 1 and "ran out of disk space during the sweep" in sweep.stderr, sweep.stderr
        no_traceback(sweep)
        assert every_table(pg, db) == before  # neither half-landed
        assert pg.sql("SELECT 1") == "1"  # the server itself stayed up (its WAL is on another disk)
        began = time.monotonic()
    finally:
        ballast.unlink()  # the operator frees space (and a failed run leaves none of it behind)
    imported = manage(pg, db, "import_events", str(log), "--format", "bpic2013", "--no-progress")
    assert imported.returncode == 0, imported.stderr
    swept = manage(pg, db, "run_sweep", "--at", LATER)
    assert swept.returncode == 0, swept.stderr
    recovery = time.monotonic() - began
    assert pg.sql(f"SELECT count(*) FROM escalations_case WHERE next_check_at <= '{LATER}'", db=db) == "0"
    assert half_written_cases(pg, db) == 0
    clean(pg, db)
    pg.sql("CHECKPOINT")  # nothing of this database left unwritten for the next test
    figure(
        "disk full",
        tablespace_mb=96,
        incidents_redone=600,
        cases_redone_by_sweep=SEED_CASES,
        import_and_sweep_after_freeing_s=round(recovery, 1),
    )


class Smtp:
    """A loopback SMTP server: it takes the first ``keep`` messages (all when None) and
    keeps them; after that it accepts connections and never answers (a send hangs,
    holding the flush mid-way)."""

    def __init__(self, keep: int | None = None):
        self.keep = keep
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.hung = threading.Event()
        self.messages: list[bytes] = []
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.keep is not None and len(self.messages) >= self.keep:
                self.hung.set()
            else:
                threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rf:
            conn.sendall(b"220 test ESMTP\r\n")
            for line in rf:
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 test\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    body = []
                    for data in rf:
                        if data == b".\r\n":
                            break
                        body.append(data)
                    self.messages.append(b"".join(body))
                    conn.sendall(b"250 kept\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def notices(self) -> list[str]:
        return [m.group(1).decode() for m in (re.search(rb"X-Escalation-Notice: (\d+)", b) for b in self.messages) if m]

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.server.close()


FLUSH = "from django_q.tasks import async_task; async_task('escalations.automation.tasks.flush_outbox')"
QUEUE = {"Q_WORKERS": "1", "Q_TIMEOUT": "60", "Q_RETRY": "90"}


KEPT_BEFORE_THE_KILL = 30


def test_qcluster_killed_mid_flush(pg):
    db = fresh(pg)
    count = lambda status: int(
        pg.sql(f"SELECT count(*) FROM escalations_notification WHERE status = '{status}'", db=db)
    )  # noqa: E731
    pending = lambda: count("pending")  # noqa: E731
    total = pending()
    assert total >= SEED_CASES
    first = Smtp(keep=KEPT_BEFORE_THE_KILL)  # takes 30 notices, then hangs on the next
    cluster = spawn(pg, db, "qcluster", EMAIL_URL=f"smtp://127.0.0.1:{first.port}", **QUEUE)
    try:
        shell(pg, db, FLUSH)
        assert first.hung.wait(120), "the flush never got past the first notices"
        assert writing_transaction(pg, db)  # mid-flush: the notice in flight claimed (FOR UPDATE), uncommitted
        os.killpg(cluster.pid, signal.SIGKILL)  # the whole cluster: sentinel, pusher, monitor, worker
        cluster.wait(30)
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
        first.close()
    # Each notice committed as it was sent: the 30 the server took are sent, the one in
    # flight and the rest still pending with no attempt counted; the claim died with the session.
    assert count("sent") == KEPT_BEFORE_THE_KILL == len(first.messages)
    assert pending() == total - KEPT_BEFORE_THE_KILL
    assert (
        pg.sql("SELECT count(*) FROM escalations_notification WHERE attempts > 0 AND status = 'pending'", db=db) == "0"
    )
    assert wait_for(lambda: not writing_transaction(pg, db), 30)
    # Recovery: a cluster started again, the minute's flush task.
    mail = Smtp()
    began = time.monotonic()
    cluster = spawn(pg, db, "qcluster", EMAIL_URL=f"smtp://127.0.0.1:{mail.port}", **QUEUE)
    try:
        shell(pg, db, FLUSH)
        assert wait_for(lambda: pending() == 0, 120), f"{pending()} notices still pending"
        recovery = time.monotonic() - began
    finally:
        cluster.send_signal(signal.SIGTERM)  # a graceful stop: the main process stops its own
        try:
            cluster.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
        mail.close()
    sent = first.notices() + mail.notices()
    assert len(sent) == total and len(set(sent)) == total  # each notice once, across both servers
    assert len(mail.notices()) == total - KEPT_BEFORE_THE_KILL  # the sent ones were not sent again
    assert count("sent") == total
    clean(pg, db)
    figure(
        "qcluster killed mid-flush",
        notices=total,
        sent_before_the_kill=KEPT_BEFORE_THE_KILL,
        redone=total - KEPT_BEFORE_THE_KILL,
        restart_to_all_sent_s=round(recovery, 1),
    )

"""scale_out: several web workers and several task clusters against one PostgreSQL, with
staff load, sweeps racing each other, and faults on demand; then proof that nothing was
lost or doubled.

The run starts gunicorn (``--web-workers``) and ``--qclusters`` separate ``qcluster``
processes on the configured broker (the ORM broker, or Redis when ``Q_REDIS_URL`` is
set), sets SLA clocks of open L1 cases to run out during the run, and drives whole case
journeys through the pages (``desk_load``) while a pump enqueues a sweep every second
and an outbox flush every few seconds, so the clusters sweep at the same time. On
request it kills a cluster with SIGKILL mid-run (and starts a new one) and restarts
PostgreSQL. Afterwards it drains the queue and checks:

* the invariants (``escalations.invariants``: chains, no double escalation per trigger,
  one pending handoff, every case has history, ...);
* every step the load saw succeed is in the database exactly once (history rows by the
  load's users per case, one note per token), and a step whose answer was lost at most once;
* every notice marked sent was delivered exactly once (the e-mail backend writes files,
  counted here), bar the one send in flight in each worker a fault cut short, and none
  is left pending.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from escalations.automation.outbox import NOTICE_HEADER
from escalations.devtools.benchmarks import pages_bench
from escalations.models import (
    Case,
    CaseStatus,
    Escalation,
    Level,
    Note,
    Notification,
    NotificationStatus,
    StaffProfile,
    Team,
)
from escalations.selectors import invariants

PASSWORD = "scale-out-pass-1"
PAIRS = 4  # agent/specialist pairs the load signs in as


def broker_name() -> str:
    return "redis" if "redis" in settings.Q_CLUSTER else "orm"


def ensure_people() -> list[tuple[str, str]]:
    """Agents at L1 and specialists at L2, on their own teams, with room for the load."""
    User = get_user_model()
    levels = {lv.code: lv for lv in Level.objects.filter(code__in=["L1", "L2"])}
    for code, role, prefix in (("L1", "Agent", "scale-agent"), ("L2", "Specialist", "scale-specialist")):
        team, _ = Team.objects.get_or_create(
            name=f"Scale {code}", defaults={"level": levels[code], "email": f"{code.lower()}@scale.example"}
        )
        for i in range(PAIRS):
            user, created = User.objects.get_or_create(
                username=f"{prefix}-{i}", defaults={"is_staff": True, "email": f"{prefix}-{i}@scale.example"}
            )
            if created or not user.check_password(PASSWORD):
                user.set_password(PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            StaffProfile.objects.update_or_create(user=user, defaults={"level": levels[code], "capacity": 1_000_000})
            team.members.add(user)
    return [(f"scale-agent-{i}", f"scale-specialist-{i}") for i in range(PAIRS)]


def clocks_running_out(count: int, seconds: float) -> int:
    """Scenario set-up: ``count`` open, unassigned L1 cases get response deadlines spread
    over the next ``seconds``, so the sweep has due work every second of the run."""
    now = timezone.now()
    l1 = Level.objects.get(code="L1")
    ids = list(
        Case.objects.filter(
            level=l1, status__in=[CaseStatus.NEW, CaseStatus.IN_PROGRESS], assignee__isnull=True, paused_at__isnull=True
        )
        .order_by("-pk")
        .values_list("pk", flat=True)[:count]
    )
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE escalations_case c SET level_entered_at = %(now)s - interval '15 minutes',
                response_due_at = d.due, next_check_at = d.due, responded_at = NULL, response_breached_at = NULL
            FROM (SELECT id, %(now)s + (row_number() OVER (ORDER BY id)) * %(step)s * interval '1 second' AS due
                  FROM unnest(%(ids)s::bigint[]) AS t(id)) d
            WHERE c.id = d.id""",
            {"now": now, "step": seconds / max(1, len(ids)), "ids": ids},
        )
    return len(ids)


class Processes:
    """The web workers and task clusters of the run, each in its own process group."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir, self.env = workdir, env
        self.clusters: list[subprocess.Popen] = []
        self.web: subprocess.Popen | None = None
        self.kills = 0

    def start_cluster(self) -> None:
        log = (self.workdir / f"qcluster-{len(self.clusters)}.log").open("w")
        self.clusters.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def kill_cluster(self) -> None:
        """SIGKILL a whole cluster (its sentinel, pusher, workers, monitor) mid-run."""
        victim = next(p for p in self.clusters if p.poll() is None)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.start_cluster()

    def start_web(self, port: int, workers: int) -> None:
        self.web = pages_bench.start_gunicorn(port, workers, self.workdir / "gunicorn.log", extra_env=self.env)

    def stop(self) -> None:
        """SIGTERM to each cluster's main process (it stops its own workers) and to gunicorn;
        whatever is still running after 20 s gets SIGKILL."""
        running = [p for p in [*self.clusters, self.web] if p is not None and p.poll() is None]
        for p in running:
            p.terminate()
        for p in running:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                if p in self.clusters:
                    os.killpg(p.pid, signal.SIGKILL)  # the cluster's workers too
                else:
                    p.kill()
                p.wait()


class Pump(threading.Thread):
    """Enqueues a sweep every second and an outbox flush every fifth, on the run's broker."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.enqueued = Counter()
        self.errors = 0

    def run(self) -> None:
        from django_q.tasks import async_task

        tick = 0
        try:
            while not self.stopped.wait(1.0):
                try:
                    async_task("escalations.automation.tasks.sweep", group="scale-out")
                    self.enqueued["sweep"] += 1
                    if tick % 5 == 0:
                        async_task("escalations.automation.tasks.flush_outbox", group="scale-out")
                        self.enqueued["flush_outbox"] += 1
                except Exception:  # the database restarting: the next tick tries again
                    self.errors += 1
                    connection.close()
                tick += 1
        finally:
            connection.close()  # this thread's own connection


def restart_postgres() -> float:
    """Restart the local PostgreSQL cluster serving the configured port (``pg_lsclusters``);
    returns the seconds it took."""
    port = str(settings.DATABASES["default"].get("PORT") or 5432)
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    cluster = next((line.split()[:2] for line in listing.splitlines() if line.split()[2:3] == [port]), None)
    if cluster is None:
        raise RuntimeError(f"no local PostgreSQL cluster listens on port {port}")
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.monotonic() - started


def queue_size() -> int:
    from django_q.brokers import get_broker

    return get_broker().queue_size()


def drain(timeout: float = 120) -> bool:
    """A last sweep and flush, then wait until the clusters have taken every task."""
    from django_q.tasks import async_task

    async_task("escalations.automation.tasks.sweep", group="scale-out")
    async_task("escalations.automation.tasks.flush_outbox", group="scale-out")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue_size() == 0:
            time.sleep(3)  # the last tasks finish
            if queue_size() == 0:
                return True
        time.sleep(1)
    return False


def delivered_messages(maildir: Path) -> Counter:
    """Messages the file e-mail backend wrote, by the outbox row each names."""
    found: Counter = Counter()
    for path in maildir.glob("*.log"):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found[int(message_from_bytes(chunk.strip())[NOTICE_HEADER])] += 1
    return found


def ledger_checks(ledger: dict, users: list[str], since) -> list[invariants.Finding]:
    """Every step the load saw succeed is recorded exactly once; lost answers at most once."""
    ids = [int(k) for k in ledger]
    User = get_user_model()
    user_ids = list(User.objects.filter(username__in=users).values_list("pk", flat=True))
    rows = Counter(
        Case.history.filter(id__in=ids, history_user_id__in=user_ids, history_date__gte=since).values_list(
            "id", flat=True
        )
    )
    notes = Counter(Note.objects.filter(case_id__in=ids).values_list("body", flat=True))
    case_steps = {"intake", "take", "escalate", "accept", "resolve"}  # each writes one case history row
    wrong, unsure_extra = [], 0
    for key, entry in ledger.items():
        sure = sum(1 for s in entry["done"] if s in case_steps)
        maybe = sum(1 for s in entry["unsure"] if s in case_steps and s not in entry["done"])
        seen = rows.get(int(key), 0)
        if not sure <= seen <= sure + maybe:
            wrong.append(f"case {key}: {seen} history rows, load saw {sure} (+{maybe} unsure)")
        unsure_extra += seen - sure
        for token in entry["tokens"]:
            n = notes.get(token, 0)
            if (
                n > 1
                or (n == 0 and "note" in entry["done"])
                or (n == 1 and "note" not in entry["done"] + entry["unsure"])
            ):
                wrong.append(f"case {key}: note token found {n} times")
    steps = sum(len(e["done"]) for e in ledger.values())
    return [
        invariants.Finding(
            "every step the load saw succeed recorded exactly once",
            not wrong,
            wrong[0] if wrong else f"{steps:,} steps on {len(ledger):,} cases; {unsure_extra} lost answers were saved",
        )
    ]


def outbox_checks(maildir: Path, since, in_flight: int = 0) -> list[invariants.Finding]:
    """Every notice marked sent was delivered, and exactly once but for the sends in flight
    when a fault struck: a worker killed (or cut off from PostgreSQL) after the mail server
    took a message and before its row's commit sends that one again, with the same
    Message-ID. ``in_flight`` bounds those: one per worker each fault could cut short."""
    sent = Notification.objects.filter(status=NotificationStatus.SENT, sent_at__gte=since)
    expected = set(sent.values_list("pk", flat=True))
    delivered = delivered_messages(maildir)
    doubled = sum(n - 1 for n in delivered.values() if n > 1)
    missing = len(expected - set(delivered))
    left = Notification.objects.filter(status=NotificationStatus.PENDING, urgent=True).count()
    return [
        invariants.Finding(
            "every notice sent was delivered exactly once (bar one send in flight per worker a fault struck)",
            doubled <= in_flight and missing == 0,
            f"{len(expected):,} sent, {sum(delivered.values()):,} delivered, {doubled} doubled "
            f"(at most {in_flight} in flight at the faults), {missing} missing, {left} urgent still pending",
        )
    ]


def sweep_figures(since) -> dict:
    by_rule = Escalation.objects.filter(rule__isnull=False, created_at__gte=since)
    from django_q.models import Failure, Success

    return {
        "sweep_escalations": by_rule.count(),
        "sweep_tasks_ok": Success.objects.filter(func="escalations.automation.tasks.sweep", started__gte=since).count(),
        "sweep_tasks_failed": Failure.objects.filter(
            func="escalations.automation.tasks.sweep", started__gte=since
        ).count(),
    }


def run(
    *,
    duration: float,
    threads: int,
    web_workers: int,
    qclusters: int,
    due: int,
    kill_at: float | None,
    restart_pg_at: float | None,
    out,
) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="scale_out_"))
    maildir = workdir / "mail"
    maildir.mkdir()
    pairs = ensure_people()
    categories = pages_bench.bench_categories()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "0",
        "EMAIL_URL": f"filemail:///{maildir}",
        "Q_WORKERS": "1",
        "LOG_LEVEL": "ERROR",
    }
    procs = Processes(workdir, env)
    pump = Pump()
    since = timezone.now()
    scheduled = clocks_running_out(due, duration)
    out.write(
        f"{scheduled:,} L1 response clocks run out over the next {duration:.0f} s; broker {broker_name()}; "
        f"logs in {workdir}\n"
    )
    port = pages_bench.free_port()
    faults: dict = {}
    try:
        procs.start_web(port, web_workers)
        for _ in range(qclusters):
            procs.start_cluster()
        pump.start()
        spec = {
            "base": f"http://127.0.0.1:{port}",
            "duration": duration,
            "threads": threads,
            "password": PASSWORD,
            "pairs": pairs,
            "category_ids": categories,
            "tag": since.strftime("%H%M%S"),
        }
        spec_path = workdir / "load.json"
        spec_path.write_text(json.dumps(spec))
        load = subprocess.Popen(
            [sys.executable, "-m", "escalations.devtools.benchmarks.desk_load"],
            cwd=settings.BASE_DIR,
            stdin=spec_path.open(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        began = time.monotonic()
        events = sorted([(t, name) for t, name in ((kill_at, "kill"), (restart_pg_at, "restart_pg")) if t is not None])
        for at, name in events:
            time.sleep(max(0.0, at - (time.monotonic() - began)))
            if name == "kill":
                procs.kill_cluster()
                faults["qcluster_killed_at_s"] = round(time.monotonic() - began, 1)
                out.write(f"  killed a qcluster (SIGKILL) at {faults['qcluster_killed_at_s']} s, started another\n")
            else:
                faults["postgres_restart_s"] = round(restart_postgres(), 1)
                faults["postgres_restarted_at_s"] = round(time.monotonic() - began, 1)
                connection.close()
                out.write(
                    f"  restarted PostgreSQL at {faults['postgres_restarted_at_s']} s "
                    f"(took {faults['postgres_restart_s']} s)\n"
                )
        stdout, stderr = load.communicate(timeout=duration * 4 + 300)
        if load.returncode != 0:
            raise RuntimeError("the load failed: " + stderr[-3000:])
        result = json.loads(stdout.strip().splitlines()[-1])
        pump.stopped.set()
        pump.join()
        connection.close()
        drained = drain()
    finally:
        pump.stopped.set()
        procs.stop()
    connection.close()
    findings = invariants.check()
    findings += ledger_checks(result["ledger"], [u for pair in pairs for u in pair], since)
    workers = settings.Q_CLUSTER["workers"]
    struck = procs.kills * workers + (qclusters * workers if "postgres_restart_s" in faults else 0)
    findings += outbox_checks(maildir, since, in_flight=struck)
    findings.append(
        invariants.Finding(
            "task queue drained after the run", drained, "empty" if drained else f"{queue_size()} tasks left"
        )
    )
    statuses = Counter()
    for per_action in result["statuses"].values():
        statuses.update(per_action)
    findings.append(
        invariants.Finding("no request answered 500", not statuses.get("500"), f"{statuses.get('500', 0)} answered 500")
    )
    figures = {
        "broker": broker_name(),
        "web_workers": web_workers,
        "qclusters": qclusters,
        "threads": threads,
        "seconds": result["seconds"],
        "journeys": result["journeys"],
        "requests": sum(statuses.values()),
        "http_500": statuses.get("500", 0),
        "http_503": statuses.get("503", 0),
        "conflicts_409": statuses.get("409", 0),
        "errors": {k: v for k, v in statuses.items() if not k.isdigit() or k not in ("200", "302", "409", "503")},
        "failed_journeys": result["failures"],
        "actions": result["actions"],
        **sweep_figures(since),
        "sweeps_enqueued": pump.enqueued["sweep"],
        "qcluster_kills": procs.kills,
        **faults,
        "cases": Case.objects.count(),
        "cpus": os.cpu_count(),
        "invariants": {f.name: f.held for f in findings},
        "invariants_held": all(f.held for f in findings),
    }
    if figures["invariants_held"]:  # otherwise the logs and mail stay for a look
        shutil.rmtree(workdir, ignore_errors=True)
    return {"figures": figures, "findings": findings}

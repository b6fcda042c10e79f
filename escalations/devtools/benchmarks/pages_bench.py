"""bench_pages: the staff pages under load, on PostgreSQL with many cases.

Builds the cases with one ``INSERT ... SELECT`` over ``generate_series`` (a mix of
levels, statuses, priorities, categories, teams; most cases closed, as on a desk that
has run for a while), starts gunicorn with two workers on the loopback interface, and
drives it from a second process (``pages_load``): the team queue, the case page and
new-case submissions, each for a bounded time and count.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from escalations import workflow
from escalations.devtools.benchmarks.seeding import creation_history
from escalations.domain import clock
from escalations.models import Case, Category, Level, PolicySnapshot, SlaPolicy, StaffProfile, Team

SOURCE = "bench-pages"
USERNAME = "bench_agent"
PASSWORD = "bench-pages-pass-1"
CATEGORIES = [
    ("bench-vpn", "Bench VPN"),
    ("bench-mail", "Bench Mail"),
    ("bench-print", "Bench Printing"),
    ("bench-billing", "Bench Billing"),
    ("bench-laptop", "Bench Laptops"),
]
WORDS = [
    "VPN",
    "Printer",
    "Mailbox",
    "Laptop",
    "Invoice",
    "Password",
    "Wi-Fi",
    "Database",
    "Phone",
    "Badge",
    "Backup",
    "Calendar",
]
TROUBLES = [
    "keeps disconnecting",
    "is very slow",
    "shows error 42",
    "cannot start",
    "rejects login",
    "lost data",
    "double charge",
    "not syncing",
    "out of space",
    "times out",
]


def ensure_people() -> tuple[object, list[Category]]:
    """The load's user (an L1 agent on a bench team) and the bench categories."""
    levels = {lv.code: lv for lv in Level.objects.all()}
    for code in ("L1", "L2", "L3", "L4"):
        Team.objects.get_or_create(
            name=f"Bench {code}", defaults={"level": levels[code], "email": f"{code.lower()}@bench.example"}
        )
    user, created = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"is_staff": True, "email": "agent@bench.example"}
    )
    if created or not user.check_password(PASSWORD):
        user.set_password(PASSWORD)
        user.save()
    user.groups.add(Group.objects.get(name="Agent"))
    StaffProfile.objects.update_or_create(user=user, defaults={"level": levels["L1"], "capacity": 100_000})
    Team.objects.get(name="Bench L1").members.add(user)
    cats = [Category.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in CATEGORIES]
    return user, cats


def build(total: int, out, history: bool = True) -> float:
    """Top the bench cases up to ``total`` (earlier runs are reused); ``history=False``
    leaves out their creation history rows."""
    started = time.perf_counter()
    user, cats = ensure_people()
    have = Case.objects.filter(source=SOURCE).count()
    if have >= total:
        return 0.0
    levels = {lv.code: lv.pk for lv in Level.objects.all()}
    teams = {t.level.code: t.pk for t in Team.objects.filter(name__startswith="Bench ").select_related("level")}
    snapshot = PolicySnapshot.objects.keep(clock.freeze_policy(SlaPolicy.objects.default()))
    now = timezone.now()
    params = {
        "snap": snapshot,
        "first": have + 1,
        "last": total,
        "total": total,
        "now": now,
        "agent": user.pk,
        "l1": levels["L1"],
        "l2": levels["L2"],
        "l3": levels["L3"],
        "l4": levels["L4"],
        "t1": teams["L1"],
        "t2": teams["L2"],
        "t3": teams["L3"],
        "t4": teams["L4"],
        "cats": [c.pk for c in cats],
        "words": WORDS,
        "troubles": TROUBLES,
    }
    out.write(f"Inserting {total - have:,} cases (have {have:,}) ...\n")
    # i % 100 picks the level (70/20/7/3 %); (i * 7) % 10 the status (60 % closed, 10 % resolved,
    # 10 % in progress, 10 % new, 10 % awaiting the customer); every 1999th L1 case is the
    # agent's (about 100 open ones at a million).
    sql = """
        INSERT INTO escalations_case (
            title, description, requester_name, requester_email, category_id, impact, urgency, priority,
            complexity, customer_tier, status, level_id, team_id, assignee_id, reassignment_count, reopen_count,
            escalation_count, highest_level_id, entry_level_id, policy_id, opened_at, level_entered_at,
            responded_at, first_response_at, response_due_at, resolution_due_at, paused_at, pauses, next_check_at,
            resolved_at, closed_at, resolution_summary, version, updated_at, source, external_id)
        SELECT
            (%(words)s::text[])[1 + i %% 12] || ' ' || (%(troubles)s::text[])[1 + (i / 12) %% 10] || ' (' || i || ')',
            'Generated for the page benchmark.', 'Bench Requester', 'requester' || (i %% 5000) || '@bench.example',
            (%(cats)s::bigint[])[1 + i %% 5], 1 + i %% 3, 1 + (i / 3) %% 3,
            CASE 2 + i %% 3 + (i / 3) %% 3 WHEN 2 THEN 1 WHEN 3 THEN 2 WHEN 4 THEN 3 ELSE 4 END,
            'medium', 'standard', st, lvl, tm, CASE WHEN lvl = %(l1)s AND i %% 1999 = 0 THEN %(agent)s END,
            0, 0, CASE WHEN lvl = %(l1)s THEN 0 ELSE 1 END, lvl, lvl, %(snap)s, opened, opened,
            CASE WHEN st <> 'new' THEN opened + interval '10 minutes' END,
            CASE WHEN st <> 'new' THEN opened + interval '10 minutes' END,
            opened + interval '15 minutes', opened + interval '4 hours',
            CASE WHEN st = 'awaiting_customer' THEN %(now)s - interval '1 hour' END, '[]'::jsonb,
            CASE WHEN st IN ('new', 'in_progress') THEN %(now)s + ((i %% 5760) - 1440) * interval '1 minute' END,
            CASE WHEN st IN ('resolved', 'closed') THEN opened + interval '3 hours' END,
            CASE WHEN st = 'closed' THEN opened + interval '1 day' END,
            CASE WHEN st IN ('resolved', 'closed') THEN 'Fixed: ' || (%(troubles)s::text[])[1 + i %% 10] ELSE '' END,
            1, %(now)s, 'bench-pages', 'p' || i
        FROM (
            SELECT i,
                CASE WHEN i %% 100 < 70 THEN %(l1)s WHEN i %% 100 < 90 THEN %(l2)s
                     WHEN i %% 100 < 97 THEN %(l3)s ELSE %(l4)s END AS lvl,
                CASE WHEN i %% 100 < 70 THEN %(t1)s WHEN i %% 100 < 90 THEN %(t2)s
                     WHEN i %% 100 < 97 THEN %(t3)s ELSE %(t4)s END AS tm,
                CASE (i * 7) %% 10 WHEN 6 THEN 'resolved' WHEN 7 THEN 'in_progress' WHEN 8 THEN 'new'
                     WHEN 9 THEN 'awaiting_customer' ELSE 'closed' END AS st,
                %(now)s - (%(total)s - i) * interval '30 seconds' AS opened
            FROM generate_series(%(first)s, %(last)s) AS s(i)
        ) AS g"""
    step = 200_000
    first_new_pk = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for lo in range(have + 1, total + 1, step):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, {**params, "first": lo, "last": min(total, lo + step - 1)})
        out.write(f"  ... {min(total, lo + step - 1):,}\n")
    if history:
        creation_history(SOURCE, first_new_pk, "Generated case")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE escalations_case")
    return time.perf_counter() - started


def sample_case_ids(user, count: int = 2000) -> list[int]:
    """Cases the load's user may open: L1 bench cases spread over the whole table."""
    l1 = Level.objects.get(code="L1")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM escalations_case TABLESAMPLE SYSTEM (1) WHERE level_id = %s LIMIT %s", [l1.pk, count]
        )
        ids = [r[0] for r in cur.fetchall()]
    return ids or list(Case.objects.filter(level=l1).values_list("pk", flat=True)[:count])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    port: int, workers: int, log_path: Path, threads: int = 1, extra_env: dict | None = None
) -> subprocess.Popen:
    """``threads`` > 1 runs gthread workers: each worker overlaps requests waiting on the database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "LOG_LEVEL": "ERROR",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi:application",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + log_path.read_text()[-2000:]) from None
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def run_load(spec: dict) -> dict:
    """Run the load generator in its own process and return its figures."""
    result = subprocess.run(
        [sys.executable, "-m", "escalations.devtools.benchmarks.pages_load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=Path(settings.BASE_DIR),
        timeout=spec["duration"] * 3 + 120,
    )
    if result.returncode != 0:
        raise RuntimeError("load generator failed: " + result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def scenario_spec(
    base: str, name: str, *, duration: float, requests: int, threads: int, case_ids: list[int], category_ids: list[int]
) -> dict:
    return {
        "base": base,
        "scenario": name,
        "duration": duration,
        "requests": requests,
        "threads": threads,
        "username": USERNAME,
        "password": PASSWORD,
        "case_ids": case_ids,
        "category_ids": category_ids,
    }


def case_open_cost(user, category_ids: list[int], count: int = 50) -> tuple[float, int]:
    """What one ``workflow.case_open`` costs in this process (ms, queries), without HTTP:
    the floor under the new-case POST."""
    from django.test.utils import CaptureQueriesContext

    categories = list(Category.objects.filter(pk__in=category_ids))

    def one(n: int) -> None:
        workflow.case_open(
            actor=user,
            title=f"In-process intake {n}",
            requester_name="Bench",
            requester_email="inprocess@bench.example",
            category=categories[n % len(categories)],
            impact=1 + n % 3,
            urgency=1 + n % 2,
        )

    one(0)
    with CaptureQueriesContext(connection) as queries:
        one(1)
    started = time.perf_counter()
    for n in range(count):
        one(n + 2)
    return (time.perf_counter() - started) * 1000 / count, len(queries.captured_queries)


def bench_categories() -> list[int]:
    return list(Category.objects.filter(code__in=[c for c, _ in CATEGORIES]).values_list("pk", flat=True))

import json
import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

STEPS = ("seed", "reports", "pages", "scale_out", "scale_out_redis", "faults", "sweep")


class Command(BaseCommand):
    help = (
        "Every figure the project states, from one command: seed_scale, then bench_reports, bench_pages, "
        "scale_out on the ORM broker and on Redis, scale_out with a killed cluster and a PostgreSQL restart, "
        "and bench_sweep, each in its own process on the configured (scratch) PostgreSQL database. Prints "
        "one table (throughput, p50/p95/p99, errors, invariants) and, last, one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Cases seed_scale fills the database with.")
        parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load per scale-out run.")
        parser.add_argument(
            "--redis",
            default=os.environ.get("Q_REDIS_URL") or "redis://127.0.0.1:6379/3",
            help="Redis URL for the scale-out run on the Redis broker.",
        )
        parser.add_argument("--only", default=",".join(STEPS), help=f"Comma-separated steps of {', '.join(STEPS)}.")
        parser.add_argument(
            "--restart-postgres",
            action="store_true",
            help="In the faults run, also restart the PostgreSQL cluster serving this database "
            "(every other user of that server sees it).",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("figures measures PostgreSQL: set DATABASE_URL to a scratch postgres:// database.")
        steps = [s for s in o["only"].split(",") if s]
        unknown = set(steps) - set(STEPS)
        if unknown:
            raise CommandError(f"unknown steps: {', '.join(sorted(unknown))}")
        n, d = o["cases"], str(o["duration"])
        current = max(1, round(n * 0.1))
        plan = {
            "seed": (["seed_scale", "--cases", str(n)], {}),
            "reports": (["bench_reports", "--cases", str(n - current)], {}),
            "pages": (["bench_pages", "--cases", str(current), "--duration", "20"], {}),
            "scale_out": (["scale_out", "--duration", d], {"Q_REDIS_URL": ""}),
            "scale_out_redis": (["scale_out", "--duration", d], {"Q_REDIS_URL": o["redis"]}),
            "faults": (
                ["scale_out", "--duration", d, "--kill-at", str(o["duration"] / 4)]
                + (["--restart-postgres-at", str(o["duration"] / 2)] if o["restart_postgres"] else []),
                {"Q_REDIS_URL": ""},
            ),
            # In a database of its own (<name>_sweep): every due case there is the benchmark's.
            # Kept for the next run (removing a million cases means resealing the audit chains).
            "sweep": (
                ["bench_sweep", "--open", str(n), "--due", str(min(10_000, n // 10)), "--reuse", "--keep"],
                {"DATABASE_URL": sweep_database()} if "sweep" in steps else {},
            ),
        }
        results = {}
        for step in steps:
            command, env = plan[step]
            self.stdout.write(f"== {step}: manage.py {' '.join(command)}")
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=settings.BASE_DIR,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
            )
            lines = proc.stdout.strip().splitlines()
            try:
                results[step] = json.loads(lines[-1])
            except (IndexError, json.JSONDecodeError):
                results[step] = {"error": (proc.stderr or proc.stdout)[-1500:]}
            results[step]["exit_code"] = proc.returncode
            self.stdout.write(f"   done in {time.monotonic() - started:.0f} s, exit {proc.returncode}")
        for line in table(results):
            self.stdout.write(line)
        self.stdout.write(json.dumps({"cases": n, "cpus": os.cpu_count(), **results}))
        if any(r.get("exit_code") for r in results.values()):
            raise SystemExit(1)


def sweep_database() -> str:
    """The URL of ``<this database>_sweep`` on the same server, created and migrated if missing."""
    from psycopg import sql

    s = connection.settings_dict
    name = f"{s['NAME']}_sweep"
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cur.fetchone() is not None
    if not exists:
        with connection.cursor() as cur:  # CREATE DATABASE cannot run in a transaction; Django autocommits here
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    url = f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    return url


def table(results: dict) -> list[str]:
    rows = [("figure", "value")]
    if "seed" in results and "error" not in results["seed"]:
        s = results["seed"]
        rows.append(("seed_scale", f"{s['cases']:,} cases ({s['open']:,} open) in {s['seconds']} s"))
    if "reports" in results and "reports_ms" in results["reports"]:
        for name, ms in results["reports"]["reports_ms"].items():
            rows.append((f"report {name}", f"{ms:,.0f} ms"))
    if "pages" in results and "error" not in results["pages"]:
        for name in ("queue", "my_queue", "case", "similar", "new_case"):
            r = results["pages"].get(name)
            if r:
                rows.append(
                    (
                        f"page {name}",
                        f"{r['per_s']}/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
                        f"p99 {r['p99_ms']} ms, errors {r['errors']}",
                    )
                )
    for step in ("scale_out", "scale_out_redis", "faults"):
        r = results.get(step)
        if not r or "error" in r:
            continue
        rows.append(
            (
                step,
                f"{r['journeys']} journeys, {r['requests']:,} requests in {r['seconds']} s on "
                f"{r['broker']}; 500s {r['http_500']}, 503s {r['http_503']}, 409s {r['conflicts_409']}; "
                f"invariants {'held' if r['invariants_held'] else 'BROKEN'}",
            )
        )
        for name, a in r["actions"].items():
            rows.append(
                (f"  {name}", f"{a['per_s']}/s, p50 {a['p50_ms']} ms, p95 {a['p95_ms']} ms, p99 {a['p99_ms']} ms")
            )
    if "sweep" in results and "sweep_per_s" in results["sweep"]:
        s = results["sweep"]
        rows.append(
            (
                "sweep",
                f"{s['sweep_per_s']:,.0f} escalations/s with {s.get('sweepers', 1)} sweeper(s) "
                f"(naive {s['naive_per_s']:,.0f}/s, raw SQL {s['raw_sql_per_s']:,.0f}/s, lean floor "
                f"{s.get('lean_floor_per_s', 0):,.0f}/s), empty sweep {s['empty_sweep_ms']} ms, "
                f"{s['deadlines_per_s']:,.0f} deadlines/s",
            )
        )
    for step, r in results.items():
        if "error" in r:
            rows.append(
                (step, "FAILED: " + r["error"].strip().splitlines()[-1][:200] if r["error"].strip() else "FAILED")
            )
    width = max(len(a) for a, _ in rows)
    return [f"{a:<{width}}  {b}" for a, b in rows]

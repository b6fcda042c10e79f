import json
import os
import subprocess
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks import pages_bench as bench
from escalations.devtools.benchmarks import wrk_load


class Command(BaseCommand):
    help = (
        "Benchmark the staff pages: build N cases on PostgreSQL, start gunicorn (2 workers), drive the team "
        "queue, the case page and new-case submissions from a second process; prints p50/p95/p99 and "
        "throughput, and, last, one JSON line. Use a dedicated database (DATABASE_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Cases to have in the database.")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
        parser.add_argument("--threads", type=int, default=4, help="Concurrent client connections.")
        parser.add_argument(
            "--worker-threads", type=int, default=1, help="Threads per gunicorn worker (more than 1: gthread workers)."
        )
        parser.add_argument("--duration", type=float, default=20.0, help="Seconds per scenario (at most).")
        parser.add_argument("--requests", type=int, default=20_000, help="Requests per scenario (at most).")
        parser.add_argument("--scenarios", default="queue,my_queue,case,similar,new_case")
        parser.add_argument(
            "--load",
            choices=["auto", "wrk", "python"],
            default="auto",
            help="Load generator: wrk (C, light; Debian package 'wrk') or the Python one. auto: wrk when installed.",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("bench_pages measures PostgreSQL: set DATABASE_URL to a dedicated postgres:// database.")
        use_wrk = o["load"] == "wrk" or (o["load"] == "auto" and wrk_load.available())
        if o["load"] == "wrk" and not wrk_load.available():
            raise CommandError("wrk is not installed (apt-get install wrk), or use --load python.")
        run_load = wrk_load.run if use_wrk else bench.run_load
        build_s = bench.build(o["cases"], self.stdout)
        self.stdout.write(f"{o['cases']:,} bench cases ready (built in {build_s:.1f} s)")
        user, _ = bench.ensure_people()
        case_ids, category_ids = bench.sample_case_ids(user), bench.bench_categories()
        port = bench.free_port()
        log = Path(tempfile.gettempdir()) / f"bench_pages_gunicorn_{port}.log"
        server = bench.start_gunicorn(port, o["workers"], log, o["worker_threads"])
        self.stdout.write(f"gunicorn on 127.0.0.1:{port} ({o['workers']} workers), log {log}")
        results, load_before = [], os.getloadavg()[0]
        try:
            for name in o["scenarios"].split(","):
                spec = bench.scenario_spec(
                    f"http://127.0.0.1:{port}",
                    name,
                    duration=o["duration"],
                    requests=o["requests"],
                    threads=o["threads"],
                    case_ids=case_ids,
                    category_ids=category_ids,
                )
                run_load({**spec, "duration": min(3.0, o["duration"]), "requests": 200})  # warm up
                results.append(run_load(spec))
                r = results[-1]
                self.stdout.write(
                    f"{name:<10} {r['requests']:>7,} req in {r['seconds']:>6.1f} s  "
                    f"{r['per_s']:>7.1f}/s  p50 {r['p50_ms']:>6.1f} ms  p95 {r['p95_ms']:>6.1f} ms  "
                    f"p99 {r['p99_ms']:>6.1f} ms  errors {r['errors']} {r['error_kinds'] or ''}"
                )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        open_ms, open_queries = bench.case_open_cost(user, category_ids)
        ceiling = 1000 * o["workers"] / open_ms
        self.stdout.write(
            f"workflow.case_open in this process: {open_ms:.1f} ms per case, {open_queries} queries "
            f"(the floor under a new-case POST: {ceiling:.0f}/s at most with {o['workers']} workers)"
        )
        # Other processes on the machine skew the figures: say how busy it was.
        figures = {
            "cases": o["cases"],
            "load": "wrk" if use_wrk else "python",
            "workers": o["workers"],
            "threads": o["threads"],
            "cpus": os.cpu_count(),
            "loadavg_before": round(load_before, 2),
            "loadavg_after": round(os.getloadavg()[0], 2),
            "case_open_ms": round(open_ms, 1),
            "case_open_queries": open_queries,
            **{
                r["scenario"]: {k: r[k] for k in ("per_s", "p50_ms", "p95_ms", "p99_ms", "requests", "errors")}
                for r in results
            },
        }
        self.stdout.write(json.dumps(figures))

"""bench_intake: alert webhooks accepted per second (dedupe included) and API case read
latency against gunicorn with 2 workers (gthread, 4 threads each by default) on PostgreSQL with many cases, and e-mails per
second through fetch_mail (``bench_mail``, when Dovecot is installed).

Builds (or reuses) the bench cases of ``bench_pages``, issues tokens for its bench agent
(intake, read), adds a catch-all alert rule for a bench category, starts gunicorn and
sends ``--alerts`` Alertmanager webhooks (one alert each, ``--fingerprints`` alerts each
firing ``--starts`` times, the rest redeliveries), then ``--reads`` case reads. Writes
cases: use a dedicated database. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks import intake_bench
from escalations.devtools.benchmarks import pages_bench as bench
from escalations.devtools.benchmarks.dovecot import binary
from escalations.models import AlertRule, ApiToken, Case, Category


class Command(BaseCommand):
    help = "Alert webhooks/s and API case read p95 against gunicorn (2 workers), and fetch_mail e-mails/s."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Cases to have in the database.")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8, help="Concurrent client connections.")
        parser.add_argument(
            "--worker-threads",
            type=int,
            default=4,
            help="Threads per gunicorn worker (gthread workers, as the Procfile runs them; 1: sync workers).",
        )
        parser.add_argument("--alerts", type=int, default=3000)
        parser.add_argument("--fingerprints", type=int, default=50)
        parser.add_argument("--starts", type=int, default=4, help="Distinct firings per fingerprint.")
        parser.add_argument("--reads", type=int, default=3000)
        parser.add_argument("--mail", type=int, default=300, help="E-mails for bench_mail (0: skip).")

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_intake measures PostgreSQL: set DATABASE_URL to a dedicated postgres:// database."
            )
        build_s = bench.build(o["cases"], self.stdout)
        total = Case.objects.count()
        self.stdout.write(f"{total:,} cases in the database (bench cases built in {build_s:.1f} s)")
        user, _ = bench.ensure_people()
        category = Category.objects.get(code="bench-vpn")
        AlertRule.objects.get_or_create(
            name="bench catch-all", defaults={"match": {}, "category": category, "order": 0}
        )
        intake_token = ApiToken.objects.issue(user=user, scopes=["intake"], name="bench_intake")[1]
        read_token = ApiToken.objects.issue(user=user, scopes=["read"], name="bench_intake")[1]
        case_ids = bench.sample_case_ids(user)
        port = bench.free_port()
        log = Path(tempfile.gettempdir()) / f"bench_intake_gunicorn_{port}.log"
        # The benchmark measures the server, not the rate limit: one token sends everything.
        server = bench.start_gunicorn(
            port, o["workers"], log, o["worker_threads"], extra_env={"API_RATE": "off", "API_INTAKE_RATE": "off"}
        )
        base = f"http://127.0.0.1:{port}"
        load_before = os.getloadavg()[0]
        run = str(int(time.time()))
        try:
            intake_bench.drive(base, read_token, intake_bench.read_jobs(case_ids, 100), o["threads"])  # warm up
            alerts = intake_bench.drive(
                base,
                intake_token,
                intake_bench.alert_jobs(run, o["alerts"], o["fingerprints"], o["starts"]),
                o["threads"],
            )
            reads = intake_bench.drive(base, read_token, intake_bench.read_jobs(case_ids, o["reads"]), o["threads"])
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        for name, r in (("alerts", alerts), ("case reads", reads)):
            self.stdout.write(
                f"{name:<11} {r['requests']:>6,} req in {r['seconds']:>6.1f} s  {r['per_s']:>7.1f}/s  "
                f"p50 {r['p50_ms']:>6.1f} ms  p95 {r['p95_ms']:>6.1f} ms  p99 {r['p99_ms']:>6.1f} ms  {r['outcomes']}"
            )
        mail = None
        if o["mail"] and binary() is not None:
            out = io.StringIO()
            call_command("bench_mail", mail=o["mail"], stdout=out)
            mail = json.loads(out.getvalue().strip().splitlines()[-1])
            self.stdout.write(f"fetch_mail   {mail}")
        elif o["mail"]:
            self.stdout.write("fetch_mail   skipped: dovecot is not installed (apt-get install dovecot-imapd)")
        figures = {
            "cases": total,
            "workers": o["workers"],
            "worker_threads": o["worker_threads"],
            "threads": o["threads"],
            "cpus": os.cpu_count(),
            "loadavg_before": round(load_before, 2),
            "loadavg_after": round(os.getloadavg()[0], 2),
            "alerts": alerts,
            "case_reads": reads,
            "mail": mail,
        }
        self.stdout.write(json.dumps(figures))

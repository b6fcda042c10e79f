import json

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks import scale_out


class Command(BaseCommand):
    help = (
        "Scale-out proof on one machine: gunicorn workers and several qcluster processes against one "
        "PostgreSQL, staff journeys through the pages while sweeps race each other, optional faults "
        "(--kill-at: SIGKILL a cluster; --restart-postgres-at: restart PostgreSQL), then the invariants. "
        "The broker is the ORM, or Redis when Q_REDIS_URL is set. Run seed_scale first on a scratch "
        "database. Exits non-zero when an invariant fails; the last line is one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
        parser.add_argument("--threads", type=int, default=8, help="Concurrent staff journeys.")
        parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers.")
        parser.add_argument("--qclusters", type=int, default=3, help="Separate qcluster processes.")
        parser.add_argument(
            "--due", type=int, default=3000, help="Open L1 cases whose response clock runs out during the run."
        )
        parser.add_argument("--kill-at", type=float, default=None, help="Seconds in: SIGKILL one qcluster.")
        parser.add_argument(
            "--restart-postgres-at",
            type=float,
            default=None,
            help="Seconds in: restart the local PostgreSQL cluster (pg_ctlcluster).",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("scale_out runs against PostgreSQL: set DATABASE_URL (and run seed_scale first).")
        result = scale_out.run(
            duration=o["duration"],
            threads=o["threads"],
            web_workers=o["web_workers"],
            qclusters=o["qclusters"],
            due=o["due"],
            kill_at=o["kill_at"],
            restart_pg_at=o["restart_postgres_at"],
            out=self.stdout,
        )
        f = result["figures"]
        self.stdout.write(
            f"{f['journeys']:,} journeys, {f['requests']:,} requests in {f['seconds']} s "
            f"({f['web_workers']} web workers, {f['qclusters']} qclusters on {f['broker']}); "
            f"HTTP 500: {f['http_500']}, 503: {f['http_503']}, 409: {f['conflicts_409']}, "
            f"other errors: {f['errors'] or 'none'}"
        )
        self.stdout.write(f"{'action':<12}{'n':>8}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
        for name, a in f["actions"].items():
            self.stdout.write(
                f"{name:<12}{a['n']:>8,}{a['per_s']:>8.1f}{a['p50_ms']:>9.1f}{a['p95_ms']:>9.1f}{a['p99_ms']:>9.1f}"
            )
        self.stdout.write(
            f"sweeps: {f['sweep_tasks_ok']} ran ({f['sweep_tasks_failed']} failed), "
            f"{f['sweep_escalations']:,} rule escalations"
        )
        for finding in result["findings"]:
            self.stdout.write(f"{'held  ' if finding.held else 'BROKEN'} {finding.name}: {finding.detail}")
        self.stdout.write(json.dumps(f))
        if not f["invariants_held"]:
            raise SystemExit(1)

import json
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks.reports_bench import SOURCE, ReportsBench, missing_indexes


class Command(BaseCommand):
    help = (
        "Time every managers' report over N benchmark cases (with escalations, reviews and history) "
        "on PostgreSQL; prints a table and, last, one JSON line. The cases are built once and kept "
        f"(source '{SOURCE}'); a larger N adds the missing ones. Use a scratch database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Benchmark cases to have.")
        parser.add_argument("--repeats", type=int, default=3, help="Timed runs per report (median reported).")
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Remove the benchmark cases afterwards (slow: the audit chain is resealed).",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("bench_reports measures PostgreSQL; set DATABASE_URL to a postgres:// URL.")
        bench = ReportsBench(o["cases"], self.stdout)
        self.stdout.write(f"Ensuring {o['cases']:,} benchmark cases ...")
        build_s = bench.build()
        self.stdout.write(f"  built in {build_s:.1f} s" if build_s else "  already there")
        missing = missing_indexes()
        for name in missing:
            self.stdout.write(
                f"  note: index {name} is missing (is the database migrated?); the figures below are without it"
            )
        sizes = bench.sizes()
        self.stdout.write("  " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
        load_before = os.getloadavg()[0]
        figures = bench.time_reports(o["repeats"])
        load = round(max(load_before, os.getloadavg()[0]), 2)
        self.stdout.write(f"  machine: {os.cpu_count()} CPUs, load average {load} while timing")
        self.stdout.write(f"{'report':<14}{'median ms':>12}{'max ms':>10}{'rows':>8}")
        for name, f in figures.items():
            self.stdout.write(f"{name:<14}{f['ms']:>12.1f}{f['max_ms']:>10.1f}{f['rows']:>8}")
        if o["clean"]:
            bench.clean()
        self.stdout.write(
            json.dumps(
                {
                    "cases": o["cases"],
                    **sizes,
                    "build_s": round(build_s, 1),
                    "missing_indexes": missing,
                    "cpus": os.cpu_count(),
                    "load_avg": load,
                    "reports_ms": {k: v["ms"] for k, v in figures.items()},
                }
            )
        )

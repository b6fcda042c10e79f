import json
import os
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks import rollups_bench
from escalations.devtools.benchmarks.reports_bench import ATTRIBUTE, SOURCE, ReportsBench, missing_indexes
from escalations.rollups import build as rollups


class Command(BaseCommand):
    help = (
        "Time every managers' report over N benchmark cases (with escalations, reviews and history) "
        "on PostgreSQL; prints a table and, last, one JSON line. The cases are built once and kept "
        f"(source '{SOURCE}'); a larger N adds the missing ones. Use a scratch database. With --beside, "
        "the same reports are timed on a second database (e.g. the 10M one) and printed beside; then "
        "the write-path cost of the rollups (intake and sweep per second with and without them) and "
        "their rebuild time are measured."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Benchmark cases to have.")
        parser.add_argument("--repeats", type=int, default=3, help="Timed runs per report (median reported).")
        parser.add_argument(
            "--beside",
            metavar="DATABASE_URL",
            help="Also time the reports on this database (its cases as they are) and print them beside.",
        )
        parser.add_argument("--beside-cases", type=int, default=10_000_000, help="The --beside database's size.")
        parser.add_argument("--intake", type=int, default=300, help="Cases opened per write-path pass (0: skip).")
        parser.add_argument("--sweep-open", type=int, default=20_000, help="Open cases of the sweep passes.")
        parser.add_argument("--sweep-due", type=int, default=5_000, help="Due cases each sweep pass escalates.")
        parser.add_argument(
            "--filtered-repeats",
            type=int,
            default=1,
            help="Timed runs per report under each filter set (level, team, category, priority, source, "
            "the last 30 days, a range ended 60 days ago, pairs, an imported attribute as a filter and as a "
            "breakdown); 0 skips the filtered timing.",
        )
        parser.add_argument(
            "--attributed",
            type=int,
            metavar="N",
            help="Only N benchmark cases (every k-th) carry the imported attribute, as seed_scale --attributed "
            "built them; all of them by default.",
        )
        parser.add_argument("--timing-only", action="store_true", help=argparse_hidden())
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Remove the benchmark cases afterwards (slow: the audit chain is resealed).",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("bench_reports measures PostgreSQL; set DATABASE_URL to a postgres:// URL.")
        if o["attributed"] is not None and o["attributed"] < 1:
            raise CommandError("--attributed must be at least 1.")
        bench = ReportsBench(o["cases"], self.stdout, o["attributed"])
        if o["timing_only"]:
            bench.ensure_attributes()  # a database built before the benchmark had attributes
            self.stdout.write(json.dumps(self._timing(bench, o["repeats"], o["filtered_repeats"])))
            return
        self.stdout.write(f"Ensuring {o['cases']:,} benchmark cases ...")
        build_s = bench.build()
        self.stdout.write(f"  built in {build_s:.1f} s" if build_s else "  already there")
        if added := bench.ensure_attributes():
            self.stdout.write(f"  gave {added:,} benchmark cases their {ATTRIBUTE} attribute")
        missing = missing_indexes()
        for name in missing:
            self.stdout.write(
                f"  note: index {name} is missing (is the database migrated?); the figures below are without it"
            )
        mine = self._timing(bench, o["repeats"], o["filtered_repeats"])
        self.stdout.write("  " + ", ".join(f"{k} {v:,}" for k, v in mine["sizes"].items()))
        beside = self._beside(o) if o["beside"] else None
        self._print(o, mine, beside)
        writes = None
        if o["intake"]:
            self.stdout.write("Write path: intake and sweep with the rollup triggers, then without; then a rebuild ...")
            writes = rollups_bench.write_path(o["intake"], o["sweep_open"], o["sweep_due"], self.stdout)
            for label in ("with_rollups", "without_rollups"):
                w = writes[label]
                self.stdout.write(
                    f"  {label.replace('_', ' '):<16} intake {w['intake_per_s']:>7.1f}/s   "
                    f"sweep {w['sweep_per_s']:>8.1f} escalations/s ({w['swept']:,} swept)"
                )
            self.stdout.write(f"  rollup rebuild {writes['rebuild_s']:.1f} s; rows {writes['rollup_rows']}")
        if o["clean"]:
            bench.clean()
        self.stdout.write(
            json.dumps(
                {
                    "cases": o["cases"],
                    **mine["sizes"],
                    "build_s": round(build_s, 1),
                    "missing_indexes": missing,
                    "cpus": os.cpu_count(),
                    "load_avg": mine["load_avg"],
                    "rollups": mine["rollups"],
                    "reports_ms": {k: v["ms"] for k, v in mine["figures"].items()},
                    "filtered_ms": mine["filtered"],
                    "beside": None
                    if beside is None
                    else {
                        "cases": o["beside_cases"],
                        "load_avg": beside.get("load_avg"),
                        "rollups": beside.get("rollups"),
                        "reports_ms": {k: v["ms"] for k, v in beside.get("figures", {}).items()},
                        "filtered_ms": beside.get("filtered"),
                        "error": beside.get("error"),
                    },
                    "write_path": writes,
                }
            )
        )

    def _timing(self, bench: ReportsBench, repeats: int, filtered_repeats: int) -> dict:
        load_before = os.getloadavg()[0]
        figures = bench.time_reports(repeats)
        return {
            "sizes": bench.sizes(),
            "figures": figures,
            "filtered": bench.time_filtered(filtered_repeats) if filtered_repeats else None,
            "rollups": rollups.active(),
            "load_avg": round(max(load_before, os.getloadavg()[0]), 2),
        }

    def _beside(self, o) -> dict:
        """Time the reports on the --beside database in a child process (its own connection)."""
        self.stdout.write(f"Timing the reports on the --beside database ({o['beside_cases']:,} cases) ...")
        env = {**os.environ, "DATABASE_URL": o["beside"]}
        cmd = [sys.executable, sys.argv[0], "bench_reports", "--timing-only", "--cases", str(o["beside_cases"])]
        cmd += ["--repeats", str(o["repeats"]), "--filtered-repeats", str(o["filtered_repeats"])]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _print(self, o, mine: dict, beside: dict | None) -> None:
        self.stdout.write(
            f"  machine: {os.cpu_count()} CPUs, load average {mine['load_avg']} while timing"
            + (f" ({beside.get('load_avg')} beside)" if beside else "")
            + f"; rollups {'read' if mine['rollups'] else 'NOT built: reports read the facts'}"
        )
        if beside and beside.get("error"):
            self.stdout.write(f"  the --beside database could not be timed: {beside['error']}")
        other = (beside or {}).get("figures", {})
        mine_label, beside_label = f"{o['cases']:,} ms", f"{o['beside_cases']:,} ms"
        head = f"{'report':<14}{mine_label:>14}{'max ms':>10}{'rows':>8}"
        if beside:
            head += f"{beside_label:>16}{'max ms':>10}"
        self.stdout.write(head)
        for name, f in mine["figures"].items():
            line = f"{name:<14}{f['ms']:>14.1f}{f['max_ms']:>10.1f}{f['rows']:>8}"
            if beside:
                b = other.get(name)
                line += f"{b['ms']:>16.1f}{b['max_ms']:>10.1f}" if b else f"{'-':>16}{'-':>10}"
            self.stdout.write(line)
        if mine["filtered"]:
            self._print_filtered(o, mine["filtered"], (beside or {}).get("filtered"))

    def _print_filtered(self, o, mine: dict, beside: dict | None) -> None:
        """Per filter set, the slowest report and its time, here and beside."""
        self.stdout.write("Under filters (whole range unless said; the slowest report of each set):")
        head = f"{'filters':<22}{o['cases']:>12,} ms  {'slowest':<14}"
        if beside:
            head += f"{o['beside_cases']:>14,} ms  slowest"
        self.stdout.write(head)
        for label, times in mine.items():
            name = max(times, key=times.get)
            line = f"{label:<22}{times[name]:>15.1f}  {name:<14}"
            if beside and beside.get(label):
                other = beside[label]
                slow = max(other, key=other.get)
                line += f"{other[slow]:>17.1f}  {slow}"
            self.stdout.write(line)


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS

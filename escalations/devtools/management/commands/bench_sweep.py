import json

from django.core.management.base import BaseCommand
from django.db import connection

from escalations.devtools.benchmarks.sweep_bench import Bench, deadlines_per_second, with_bench_rule


class Command(BaseCommand):
    help = (
        "Benchmark the sweep against a naive per-case ORM loop and one raw SQL statement on the "
        "configured database; prints a table and, last, one JSON line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--open", type=int, default=1_000_000, help="Open cases to build.")
        parser.add_argument("--due", type=int, default=10_000, help="How many of them are due.")
        parser.add_argument(
            "--naive-limit",
            type=int,
            default=2_000,
            help="Cases the naive loop handles (its rate is per case; it is slow).",
        )
        parser.add_argument("--keep", action="store_true", help="Leave the benchmark cases in the database.")
        parser.add_argument(
            "--reuse", action="store_true", help="Reuse benchmark cases of the same size left by an earlier --keep run."
        )

    def handle(self, *args, **o):
        bench = Bench(o["open"], o["due"], self.stdout)
        self.stdout.write(f"Building {o['open']:,} open cases ({o['due']:,} due) on {connection.vendor} ...")
        build_s = bench.build(reuse=o["reuse"])
        self.stdout.write(f"  built in {build_s:.1f} s")

        def measure():
            sweep_s = bench.run_sweep()
            bench.reset_due()
            naive_s, naive_n = bench.run_naive(o["naive_limit"])
            bench.reset_due()
            raw_s = bench.run_raw_sql() if connection.vendor == "postgresql" else None
            bench.reset_due()
            bench.run_sweep()  # leave nothing due for the empty sweep
            return sweep_s, naive_s, naive_n, raw_s, bench.empty_sweep_ms()

        sweep_s, naive_s, naive_n, raw_s, empty_ms = with_bench_rule(measure)
        deadlines = deadlines_per_second()
        if not o["keep"]:
            bench.clean()
        m = o["due"]
        figures = {
            "open": o["open"],
            "due": m,
            "sweep_per_s": round(m / sweep_s),
            "naive_per_s": round(naive_n / naive_s) if naive_n else None,
            "raw_sql_per_s": round(m / raw_s) if raw_s else None,
            "empty_sweep_ms": round(empty_ms, 2),
            "deadlines_per_s": round(deadlines),
        }
        rows = [
            ("sweep (this project)", f"{figures['sweep_per_s']:,} escalations/s", f"{sweep_s:.2f} s for {m:,}"),
            ("naive ORM loop", f"{figures['naive_per_s']:,} escalations/s", f"{naive_s:.2f} s for {naive_n:,}"),
            (
                "raw SQL (floor)",
                f"{figures['raw_sql_per_s']:,} escalations/s" if raw_s else "n/a (PostgreSQL only)",
                f"{raw_s:.2f} s for {m:,}" if raw_s else "",
            ),
            ("empty sweep", f"{empty_ms:.2f} ms", f"over {o['open']:,} open cases"),
            ("deadline computations", f"{figures['deadlines_per_s']:,}/s", "Mon-Fri, DE-BY holidays"),
        ]
        for name, rate, detail in rows:
            self.stdout.write(f"{name:<24}{rate:>28}   {detail}")
        if figures["naive_per_s"] and raw_s:
            self.stdout.write(
                f"sweep / naive = {figures['sweep_per_s'] / figures['naive_per_s']:.1f}x; "
                f"raw SQL / sweep = {figures['raw_sql_per_s'] / figures['sweep_per_s']:.1f}x"
            )
        self.stdout.write(json.dumps(figures))

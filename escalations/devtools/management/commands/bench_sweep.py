import json

from django.core.management.base import BaseCommand
from django.db import connection

from escalations.devtools.benchmarks import sweep_sql
from escalations.devtools.benchmarks.sweep_bench import Bench, deadlines_per_second, sweepers, with_bench_rule


class Command(BaseCommand):
    help = (
        "Benchmark the sweep against a naive per-case ORM loop and the same writes in raw SQL "
        "(today's schema and a lean copy) on the configured database; prints a table and, last, "
        "one JSON line."
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
        parser.add_argument(
            "--deadlines", type=int, default=200_000, help="Deadline computations to time (calendar speed)."
        )
        parser.add_argument("--keep", action="store_true", help="Leave the benchmark cases in the database.")
        parser.add_argument(
            "--reuse", action="store_true", help="Reuse benchmark cases of the same size left by an earlier --keep run."
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            self.stderr.write("bench_sweep measures PostgreSQL (its raw-SQL comparison is PostgreSQL SQL).")
            return
        bench = Bench(o["open"], o["due"], self.stdout)
        workers = sweepers()
        self.stdout.write(f"Building {o['open']:,} open cases ({o['due']:,} due) ...")
        build_s = bench.build(reuse=o["reuse"])
        self.stdout.write(f"  built in {build_s:.1f} s; indexes per table: {sweep_sql.index_count()}")

        def measure():
            sweep_s = bench.run_sweep(workers)
            written = {"sweep": bench.written()}
            bench.keep_templates()
            bench.reset_due()
            naive_s, naive_n = bench.run_naive(o["naive_limit"])
            bench.reset_due()
            raw_s = bench.run_raw_sql()
            written["raw_sql"] = bench.written()
            bench.reset_due()
            copy_s = sweep_sql.lean_copy()
            self.stdout.write(f"  lean copy of the tables built in {copy_s:.1f} s")
            try:
                lean_s = bench.run_raw_sql(schema=sweep_sql.LEAN)
            finally:
                sweep_sql.drop_lean()
            bench.run_raw_sql()  # leave nothing due for the empty sweep (the quick way)
            return sweep_s, naive_s, naive_n, raw_s, lean_s, bench.empty_sweep_ms(), written

        sweep_s, naive_s, naive_n, raw_s, lean_s, empty_ms, written = with_bench_rule(measure)
        deadlines = deadlines_per_second(o["deadlines"])
        if not o["keep"]:
            bench.clean()
        m = o["due"]
        figures = {
            "open": o["open"],
            "due": m,
            "sweepers": workers,
            "sweep_per_s": round(m / sweep_s),
            "naive_per_s": round(naive_n / naive_s) if naive_n else None,
            "raw_sql_per_s": round(m / raw_s),
            "lean_floor_per_s": round(m / lean_s),
            "empty_sweep_ms": round(empty_ms, 2),
            "deadlines_per_s": round(deadlines),
            "written": written,
        }
        rows = [
            (
                f"sweep ({workers} sweeper{'s' if workers > 1 else ''})",
                f"{figures['sweep_per_s']:,} escalations/s",
                f"{sweep_s:.2f} s for {m:,}",
            ),
            ("naive ORM loop", f"{figures['naive_per_s']:,} escalations/s", f"{naive_s:.2f} s for {naive_n:,}"),
            ("raw SQL, same writes", f"{figures['raw_sql_per_s']:,} escalations/s", f"{raw_s:.2f} s for {m:,}"),
            ("lean floor", f"{figures['lean_floor_per_s']:,} escalations/s", f"{lean_s:.2f} s for {m:,}"),
            ("empty sweep", f"{empty_ms:.2f} ms", f"over {o['open']:,} open cases"),
            ("deadline computations", f"{figures['deadlines_per_s']:,}/s", "Mon-Fri, DE-BY holidays"),
        ]
        for name, rate, detail in rows:
            self.stdout.write(f"{name:<24}{rate:>28}   {detail}")
        self.stdout.write(f"rows written per run: sweep {written['sweep']}, raw SQL {written['raw_sql']}")
        if written["sweep"] != written["raw_sql"]:
            self.stdout.write("WARNING: the raw statement did not write the same rows as the sweep")
        if figures["naive_per_s"]:
            self.stdout.write(
                f"sweep / naive = {figures['sweep_per_s'] / figures['naive_per_s']:.1f}x; "
                f"raw SQL / sweep = {figures['raw_sql_per_s'] / figures['sweep_per_s']:.1f}x; "
                f"lean floor / sweep = {figures['lean_floor_per_s'] / figures['sweep_per_s']:.1f}x"
            )
        self.stdout.write(json.dumps(figures))

import json
import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from escalations.devtools.benchmarks import pages_bench
from escalations.devtools.benchmarks.reports_bench import ReportsBench
from escalations.reports import cache as report_cache


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with N realistic cases, fast (set-based INSERT ... SELECT): two years "
        "of history in eight shapes (resolved at L1, escalated, returned, L1->L2->L3, skip-level, "
        "de-escalated, still open, awaiting acceptance) with handoffs, reviews and chained history rows, "
        "plus today's desk (open cases at every level with SLA clocks running, some overdue). Every "
        "benchmark (bench_reports, bench_pages, scale_out) runs on the result; running it again only adds "
        "what is missing. Use a scratch database (DATABASE_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=1_000_000, help="Cases to have in all.")
        parser.add_argument(
            "--current-share",
            type=float,
            default=0.1,
            help="Share of the cases that are today's desk (the rest is history).",
        )
        parser.add_argument(
            "--no-history-rows",
            action="store_true",
            help="Leave out the cases' hash-chained creation history rows, written in Python at about "
            "100,000 a minute (2.5 hours at 10M). No report reads them; check_invariants then reports "
            "cases without a history.",
        )
        parser.add_argument(
            "--attributed",
            type=int,
            metavar="N",
            help="Give only N of the history cases (every k-th, over the whole range) the imported "
            "attribute the attribute reports read; all of them by default. Each attributed case's "
            "rollup rows are written twice: ten million attributed cases need about 70 GB.",
        )

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale writes with PostgreSQL's generate_series: set DATABASE_URL to a "
                "postgres:// scratch database."
            )
        if o["cases"] < 10 or not 0 < o["current_share"] < 1:
            raise CommandError("--cases must be at least 10 and --current-share between 0 and 1.")
        if o["attributed"] is not None and o["attributed"] < 1:
            raise CommandError("--attributed must be at least 1.")
        current = max(1, round(o["cases"] * o["current_share"]))
        history = o["cases"] - current
        started = time.perf_counter()
        self.stdout.write(f"History: {history:,} cases over two years (handoffs, reviews, history rows) ...")
        rows = not o["no_history_rows"]
        history_s = ReportsBench(history, self.stdout, o["attributed"]).build(history=rows)
        self.stdout.write(f"  {f'built in {history_s:.1f} s' if history_s else 'already there'}")
        self.stdout.write(f"Today's desk: {current:,} cases at L1-L4, open ones with running clocks ...")
        current_s = pages_bench.build(current, self.stdout, history=rows)
        self.stdout.write(f"  {f'built in {current_s:.1f} s' if current_s else 'already there'}")
        report_cache.clear()  # a forecast kept for today predates the seeded past
        seconds = time.perf_counter() - started
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE status NOT IN ('resolved', 'closed')) FROM escalations_case"
            )
            total, open_ = cur.fetchone()
            cur.execute("SELECT count(*) FROM escalations_escalation")
            handoffs = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM escalations_historicalcase")
            history_rows = cur.fetchone()[0]
        built = (history_s > 0) + (current_s > 0)
        figures = {
            "cases": total,
            "open": open_,
            "handoffs": handoffs,
            "history_rows": history_rows,
            "seconds": round(seconds, 1),
            "cases_per_s": round(o["cases"] / seconds) if built else None,
            "cpus": os.cpu_count(),
        }
        self.stdout.write(
            f"{total:,} cases ({open_:,} open), {handoffs:,} handoffs, {history_rows:,} history rows in {seconds:.1f} s"
        )
        self.stdout.write(json.dumps(figures))

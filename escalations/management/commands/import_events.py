import time

from django.core.management.base import BaseCommand, CommandError

from escalations.core import csv_out
from escalations.importers import FORMATS, LogFormatError, run_import

SHOW_BAD = 50


class Command(BaseCommand):
    help = (
        "Import a service desk's event log (gzipped CSV) as historical cases with their levels, "
        "teams, status history, escalations and SLA verdicts. Running it again imports only incidents "
        "not imported before (by source and incident id)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The log, e.g. ../shared/data/bpic2013_incidents.csv.gz")
        parser.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
        parser.add_argument("--batch", type=int, default=500, help="Incidents per transaction.")
        parser.add_argument(
            "--bad-rows",
            dest="bad_rows",
            metavar="CSV",
            help=f"Write every bad row (line, reason) here; the summary lists the first {SHOW_BAD}.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress line on stderr.")

    def handle(self, *args, **o):
        started = time.perf_counter()
        progress = None if o["no_progress"] else self._progress
        try:
            summary = run_import(FORMATS[o["fmt"]], o["path"], progress=progress, batch_size=o["batch"])
        except (OSError, LogFormatError) as exc:
            raise CommandError(str(exc)) from exc
        if progress:
            self.stderr.write("")
        elapsed = time.perf_counter() - started
        esc = summary.escalations
        lines = [
            f"Imported {o['path']} as '{summary.source}' in {elapsed:.1f} s",
            f"  rows read            {summary.rows:,}",
            f"  incidents            {summary.incidents:,}",
            f"  cases created        {summary.created:,}",
            f"  already imported     {summary.skipped:,} (left as they were)",
            f"  escalations          {esc['escalate'] + esc['jump']:,} (skip-level {esc['jump']:,}, returned "
            f"{esc['returned']:,}, still pending {esc['pending']:,})",
            f"  de-escalations       {esc['de_escalate']:,}",
            f"  history rows         {summary.history_rows:,}",
            f"  teams created        {summary.teams_created:,}",
            f"  categories created   {summary.categories_created:,}",
            f"  bad rows             {len(summary.bad_rows):,}",
        ]
        lines += [f"    line {b.line}: {b.reason}" for b in summary.bad_rows[:SHOW_BAD]]
        if len(summary.bad_rows) > SHOW_BAD:
            more = len(summary.bad_rows) - SHOW_BAD
            lines.append(f"    ... and {more:,} more" + ("" if o["bad_rows"] else " (--bad-rows FILE lists them all)"))
        if o["bad_rows"]:
            with open(o["bad_rows"], "w", newline="") as fh:
                writer = csv_out.writer(fh)
                writer.writerow(["line", "reason"])
                writer.writerows((b.line, b.reason) for b in summary.bad_rows)
            lines.append(f"    all bad rows written to {o['bad_rows']}")
        self.stdout.write("\n".join(lines))

    def _progress(self, reader, summary) -> None:
        done = reader.fraction()
        bar = "#" * int(done * 30)
        self.stderr.write(
            f"\r[{bar:<30}] {done:4.0%}  {summary.rows:,} rows, {summary.incidents:,} incidents, "
            f"{summary.created:,} created, {len(summary.bad_rows):,} bad",
            ending="",
        )
        self.stderr.flush()

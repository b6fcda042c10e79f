import time

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError

from escalations.core import csv_out, dberrors
from escalations.importers import FORMATS, LogFormatError, run_import
from escalations.importers.run import ImportRefused

SHOW_BAD = 50


class Command(BaseCommand):
    help = (
        "Import a service desk's event log (gzipped CSV) as historical cases with their levels, "
        "teams, status history, escalations and SLA verdicts. Running it again imports only incidents "
        "not imported before (by source and incident id). All or nothing per file: a damaged file, "
        "or any bad row, imports nothing and lists every bad row (--skip-bad-rows to import the rest)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The log, e.g. ../shared/data/bpic2013_incidents.csv.gz")
        parser.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
        parser.add_argument(
            "--batch", type=int, default=500, help="Incidents per write batch (all inside the file's one transaction)."
        )
        parser.add_argument(
            "--bad-rows",
            dest="bad_rows",
            metavar="CSV",
            help=f"Write every bad row (line, reason) here; the summary lists the first {SHOW_BAD}.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress line on stderr.")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help=(
                "Lenient, opt-in: import a file with bad rows anyway, leaving those rows out. An incident "
                "with a bad row is imported without that row's event and named as incomplete in the "
                "summary; a re-run skips it by id. Default: any bad row refuses the whole file."
            ),
        )

    def handle(self, *args, **o):
        started = time.perf_counter()
        progress = None if o["no_progress"] else self._progress
        try:
            summary = run_import(
                FORMATS[o["fmt"]],
                o["path"],
                progress=progress,
                batch_size=o["batch"],
                skip_bad_rows=o["skip_bad_rows"],
            )
        except ImportRefused as exc:
            bad = exc.summary.bad_rows
            lines = [f"Refused {o['path']}: {len(bad):,} bad rows; nothing was imported."]
            lines += [f"    line {b.line}: {b.reason}" for b in bad[:SHOW_BAD]]
            if len(bad) > SHOW_BAD:
                lines.append(f"    ... and {len(bad) - SHOW_BAD:,} more (--bad-rows FILE lists them all)")
            self._write_bad_rows(o["bad_rows"], bad, lines)
            self.stdout.write("\n".join(lines))
            raise CommandError(
                "Fix the rows above and run again (or, knowingly, --skip-bad-rows to import the rest)."
            ) from None
        except (OSError, LogFormatError) as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        except (OperationalError, InterfaceError) as exc:
            # The file is written in one transaction: whatever failed, it rolled back whole.
            if progress:
                self.stderr.write("")
            raise CommandError(
                f"{dberrors.describe(exc, 'the import')} Nothing was imported (one transaction for the file); "
                "run the same command again once the database is back or has space."
            ) from None
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
            f"  people (no login)    {summary.people_created:,}",
            f"  bad rows             {len(summary.bad_rows):,}",
        ]
        lines += [f"    line {b.line}: {b.reason}" for b in summary.bad_rows[:SHOW_BAD]]
        if len(summary.bad_rows) > SHOW_BAD:
            more = len(summary.bad_rows) - SHOW_BAD
            lines.append(f"    ... and {more:,} more" + ("" if o["bad_rows"] else " (--bad-rows FILE lists them all)"))
        if summary.incomplete:
            shown = ", ".join(summary.incomplete[:SHOW_BAD])
            more = len(summary.incomplete) - SHOW_BAD
            lines.append(
                f"  incomplete incidents {len(summary.incomplete):,} (imported without their bad rows; a re-run "
                f"skips them): {shown}" + (f" ... and {more:,} more" if more > 0 else "")
            )
        self._write_bad_rows(o["bad_rows"], summary.bad_rows, lines)
        self.stdout.write("\n".join(lines))

    def _write_bad_rows(self, target: str | None, bad: list, lines: list[str]) -> None:
        if target:
            with open(target, "w", newline="") as fh:
                writer = csv_out.writer(fh)
                writer.writerow(["line", "reason"])
                writer.writerows((b.line, b.reason) for b in bad)
            lines.append(f"    all bad rows written to {target}")

    def _progress(self, reader, summary) -> None:
        done = reader.fraction()
        bar = "#" * int(done * 30)
        self.stderr.write(
            f"\r[{bar:<30}] {done:4.0%}  {summary.rows:,} rows, {summary.incidents:,} incidents, "
            f"{summary.created:,} created, {len(summary.bad_rows):,} bad",
            ending="",
        )
        self.stderr.flush()

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from escalations.reports import REGISTRY, FilterError, Filters
from escalations.reports.base import BY, PERIODS, SOURCES, default_range
from escalations.reports.output import result_csv, result_json, result_text


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = "Print a managers' report over a date range, as a table, CSV or JSON."

    def add_arguments(self, parser):
        names = list(REGISTRY)
        parser.add_argument(
            "name",
            choices=names,
            metavar="NAME",
            help="Which report: " + "; ".join(f"{r.name} ({r.title})" for r in REGISTRY.values()),
        )
        parser.add_argument(
            "--from",
            dest="date_from",
            help="First day (YYYY-MM-DD); default 30 days ago (forecast: 370; an imported source: its data range).",
        )
        parser.add_argument("--to", dest="date_to", help="Last day, inclusive (YYYY-MM-DD); default today.")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--table", help="CSV of this table only (its key, e.g. 'opened').")
        parser.add_argument("--level", help="Level code, e.g. L2.")
        parser.add_argument("--team", help="Team name.")
        parser.add_argument("--category", help="Category code.")
        parser.add_argument("--priority", type=int, choices=[1, 2, 3, 4])
        parser.add_argument(
            "--source", choices=list(SOURCES), help="Only cases opened here ('live') or imported from one log."
        )
        parser.add_argument("--period", choices=list(PERIODS), help="Bucket for series; default by range length.")
        parser.add_argument(
            "--attr", help="Only cases whose imported attribute has this value, KEY:VALUE (e.g. product:PROD424)."
        )
        parser.add_argument(
            "--by",
            help=f"Add a comparison table ('breakdown'): {', '.join(BY)}, or attr:KEY (e.g. attr:country).",
        )

    def handle(self, *args, **o):
        report = REGISTRY[o["name"]]
        first, last = default_range(o["source"], timezone.localdate(), report.default_days or 30)
        date_to = _date(o["date_to"]) if o["date_to"] else last
        date_from = _date(o["date_from"]) if o["date_from"] else min(first, date_to)
        try:
            filters = Filters(
                date_from=date_from,
                date_to=date_to,
                level=o["level"],
                team=o["team"],
                category=o["category"],
                priority=o["priority"],
                source=o["source"],
                period=o["period"],
                attr=o["attr"],
                by=o["by"],
            )
            result = report.run(filters)
        except FilterError as exc:
            raise CommandError(str(exc)) from exc
        if o["format"] == "json":
            self.stdout.write(result_json(result))
        elif o["format"] == "csv":
            try:
                self.stdout.write(result_csv(result, o["table"]), ending="")
            except KeyError as exc:
                raise CommandError(exc.args[0]) from exc
        else:
            self.stdout.write(result_text(result), ending="")
            if report.summary is not None:  # last line: one JSON object (the forecast's evaluation)
                self.stdout.write(json.dumps(report.summary(result)))

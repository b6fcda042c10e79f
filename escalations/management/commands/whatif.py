import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from escalations.automation import whatif
from escalations.models import SlaPolicy


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Replay the cases opened in a period against a draft SLA policy and trigger rules, without "
        "writing anything: breaches and escalations per level, load per team. Prints a table, then "
        "the report as one JSON line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="First day opened (YYYY-MM-DD).")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day opened, inclusive (YYYY-MM-DD).")
        parser.add_argument("--policy", required=True, help="Name of the (draft) SLA policy to replay against.")
        parser.add_argument(
            "--rules",
            default="active",
            help="Trigger rules: 'all', 'active' (default) or ids such as 3,5 (inactive drafts too).",
        )
        parser.add_argument("--limit", type=int, default=whatif.DEFAULT_LIMIT, help="At most this many cases.")

    def handle(self, *args, **o):
        date_from, date_to = _date(o["date_from"]), _date(o["date_to"])
        if date_to < date_from:
            raise CommandError("--to is before --from.")
        policy = SlaPolicy.objects.select_related("calendar").filter(name=o["policy"]).first()
        if policy is None:
            names = ", ".join(SlaPolicy.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"There is no SLA policy '{o['policy']}'; there are: {names}.")
        try:
            rules = whatif.rules_for(o["rules"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        report = whatif.simulate(date_from, date_to, policy, rules, limit=o["limit"])
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))

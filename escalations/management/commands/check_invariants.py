import json
import sys

from django.core.management.base import BaseCommand

from escalations.selectors.invariants import check


class Command(BaseCommand):
    help = "Check the invariants a load, fault or scale-out run must leave intact; exit 1 if one fails."

    def handle(self, *args, **options):
        findings = check()
        for f in findings:
            self.stdout.write(f"{'held ' if f.held else 'FAILED'}  {f.name}: {f.detail}")
        self.stdout.write(json.dumps({"invariants_held": all(f.held for f in findings), "checked": len(findings)}))
        if not all(f.held for f in findings):
            sys.exit(1)

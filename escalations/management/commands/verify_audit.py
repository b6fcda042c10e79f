import sys

from django.core.management.base import BaseCommand

from escalations.audit import verify


class Command(BaseCommand):
    help = (
        "Walk every history table's hash chain; exit non-zero naming the first broken record "
        "if any history row was edited, deleted or inserted behind the application's back."
    )

    def handle(self, *args, **options):
        broken = []
        for status in verify.verify():
            state = "OK" if status.broken is None else f"BROKEN at {status.broken}"
            self.stdout.write(f"{status.table:<45} {status.rows:>10} rows  {state}")
            if status.broken is not None:
                broken.append(status.broken)
        if broken:
            self.stderr.write(f"Audit trail broken: {broken[0]}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Every chain is intact."))

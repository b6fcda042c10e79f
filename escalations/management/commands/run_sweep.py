from django.core.management.base import BaseCommand

from escalations.automation.sweep import run_sweep


class Command(BaseCommand):
    help = "Run one sweep now: fire the trigger rules of every due case, then record a heartbeat."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="Cases claimed per transaction.")

    def handle(self, *args, batch_size=None, **options):
        r = run_sweep(batch_size=batch_size)
        self.stdout.write(
            f"examined {r.examined} due cases, changed {r.changed}, {r.actions} rule actions "
            f"({r.escalations} escalations, {r.notifications} notifications) in {r.duration_ms:.1f} ms"
        )

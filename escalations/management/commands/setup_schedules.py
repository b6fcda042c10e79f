from django.core.management.base import BaseCommand

from escalations.schedules import SCHEDULES, ensure_schedules


class Command(BaseCommand):
    help = "Declare the django-q2 schedules (sweep, outbox) by name; running it again changes nothing."

    def handle(self, *args, **options):
        ensure_schedules()
        for name, (func, minutes) in SCHEDULES.items():
            self.stdout.write(f"{name}: {func} every {minutes} min")

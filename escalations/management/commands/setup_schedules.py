from django.core.management.base import BaseCommand
from django_q.models import Schedule

from escalations.domain.defaults import SCHEDULES, declare_schedules


class Command(BaseCommand):
    help = "Declare the django-q2 schedules (sweep, outbox) by name; running it again changes nothing."

    def handle(self, *args, **options):
        declare_schedules(Schedule)
        for name, (func, minutes) in SCHEDULES.items():
            self.stdout.write(f"{name}: {func} every {minutes} min")

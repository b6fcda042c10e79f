import sys
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError

from escalations.automation.sweep import run_sweep
from escalations.core import dberrors


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--at {value!r} is not an ISO date and time with an offset") from exc
    if moment.tzinfo is None:
        raise CommandError("--at needs a time zone offset, e.g. 2026-11-30T09:00+00:00")
    return moment


class Command(BaseCommand):
    help = "Run one sweep now: fire the trigger rules of every due case, then record a heartbeat."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="Cases claimed per transaction.")
        parser.add_argument("--at", type=_moment, default=None, help="Sweep as of this moment (ISO, with offset).")

    def handle(self, *args, batch_size=None, at=None, **options):
        try:
            r = run_sweep(now=at, batch_size=batch_size)
        except (OperationalError, InterfaceError) as exc:
            # Each batch is one transaction: the interrupted one rolled back whole.
            self.stderr.write(
                f"{dberrors.describe(exc, 'the sweep')} Nothing of the interrupted batch was saved; batches "
                "before it are complete. The next sweep finishes the work."
            )
            sys.exit(1)
        self.stdout.write(
            f"examined {r.examined} due cases, changed {r.changed}, {r.actions} rule actions "
            f"({r.escalations} escalations, {r.notifications} notifications) in {r.duration_ms:.1f} ms"
        )

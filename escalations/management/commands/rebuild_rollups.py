import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from escalations.rollups import build


class Command(BaseCommand):
    help = (
        "Recount the report rollups from the cases and handoffs (PostgreSQL; writers wait meanwhile). "
        "With --check, only compare them with a recount and exit 1 on a difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Compare the rollups with a recount; change nothing.")

    def handle(self, *args, check=False, **options):
        if not build.supported():
            raise CommandError("Rollups need PostgreSQL; on this database the reports read the facts.")
        if check:
            if not build.active():
                raise CommandError("The rollups are not built for this time zone: run rebuild_rollups.")
            started = time.perf_counter()
            found = build.check()
            for m in found:
                self.stdout.write(f"MISMATCH {m.table} {m.key}: stored {m.stored}, recount {m.recount}")
            self.stdout.write(
                json.dumps({"rollups_match": not found, "seconds": round(time.perf_counter() - started, 1)})
            )
            if found:
                sys.exit(1)
            return
        started = time.perf_counter()
        build.install()
        build.rebuild()
        self.stdout.write(json.dumps({"rollups_rebuilt": True, "seconds": round(time.perf_counter() - started, 1)}))

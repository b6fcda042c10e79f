import sys

from django.core.management.base import BaseCommand
from django.db import connection

from escalations.audit import checkpoint, verify
from escalations.audit.chain import history_models
from escalations.audit.guards import guard_problems


class Command(BaseCommand):
    help = (
        "Walk every history table's hash chain and hold it to the latest signed checkpoint "
        "(AUDIT_CHECKPOINT_DIR, or --checkpoint FILE); check the append-only guards. Exit "
        "non-zero naming the first problem if history rows were edited, deleted or inserted "
        "behind the application's back, a chain is shorter than or diverges from its "
        "checkpoint, or a guard was disabled or replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", help="Check against this checkpoint file instead of the latest one.")

    def handle(self, *args, **options):
        problems, marks = [], {}
        try:
            path = options["checkpoint"] or (checkpoint.latest() if checkpoint.configured() else None)
            if path is None:
                self.stdout.write(
                    self.style.WARNING(
                        "No signed checkpoint (set AUDIT_CHECKPOINT_DIR and run audit_checkpoint): "
                        "rows cut from the end together with the head cannot be detected."
                    )
                )
            else:
                found, marks = checkpoint.load(path)
                self.stdout.write(f"Checkpoint {path} of {found['at']} (key {found['key_id']}).")
                missing = sorted(set(marks) - {m._meta.db_table for m in history_models()})
                problems += [f"{t}: in the checkpoint but no longer a chained table" for t in missing]
        except checkpoint.CheckpointError as exc:
            problems.append(str(exc))
        for status in verify.verify(marks):
            state = "OK" if status.broken is None else f"BROKEN at {status.broken}"
            self.stdout.write(f"{status.table:<45} {status.rows:>10} rows  {state}")
            if status.broken is not None:
                problems.append(str(status.broken))
        problems += guard_problems(connection, [m._meta.db_table for m in history_models()])
        if problems:
            for problem in problems:
                self.stderr.write(f"Audit trail broken: {problem}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Every chain is intact."))

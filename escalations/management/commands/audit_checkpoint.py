import sys

from django.core.management.base import BaseCommand

from escalations.audit import checkpoint


class Command(BaseCommand):
    help = (
        "Write a signed checkpoint of every audit chain's head (row count, last row, hash) to "
        "AUDIT_CHECKPOINT_DIR (or --dir), outside the database; mail it to AUDIT_CHECKPOINT_EMAILS. "
        "verify_audit then detects any chain cut short or rewritten behind it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Write here instead of AUDIT_CHECKPOINT_DIR.")

    def handle(self, *args, **options):
        try:
            path = checkpoint.write_checkpoint(options["dir"])
        except (checkpoint.CheckpointError, OSError) as exc:
            self.stderr.write(f"No checkpoint written: {exc}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"Checkpoint written: {path}"))

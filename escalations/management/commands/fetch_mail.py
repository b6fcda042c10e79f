"""Poll the mailboxes in MAILBOX_URLS once (the fetch_mail schedule runs this every minute)."""

from django.core.management.base import BaseCommand

from escalations.channels.mail.fetch import fetch_all


class Command(BaseCommand):
    help = "Read new e-mail from the mailboxes in MAILBOX_URLS: open cases, add replies, skip automatic mail."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many messages per mailbox.")

    def handle(self, *args, limit=None, **options):
        results = fetch_all(limit=limit)
        if not results:
            self.stdout.write("No mailboxes configured (MAILBOX_URLS is empty).")
        for result in results:
            (self.stderr if result.error else self.stdout).write(str(result))

"""Demo data for a laptop: a desk with eight weeks of history in four use cases (IT
service management, customer billing disputes, security incidents, HR grievances), built
through the workflow with a simulated clock (``escalations/management/demo/``), today's
open desk, and one login per role.

Idempotent: the organisation is looked up by natural keys, and the history is built only
when the database has no demo cases yet, so a second run changes nothing.
"""

import time

from django.core.management.base import BaseCommand

from escalations.management.demo import build, desk


class Command(BaseCommand):
    help = "Load the demo desk (idempotent) and print a login for each role."

    def handle(self, *args, **options):
        started = time.perf_counter()
        made = build.build()
        if made:
            self.stdout.write(
                f"Demo desk built: {made['cases']} cases over {build.WEEKS} weeks in "
                f"{time.perf_counter() - started:.1f} s."
            )
            for message, n in sorted(made["refused"].items()):
                self.stdout.write(f"  ({n}x the workflow refused a step: {message})")
        else:
            self.stdout.write("Demo desk already there; nothing changed.")
        self.stdout.write(self.style.SUCCESS(f"Logins (password for all: {desk.PASSWORD}):"))
        for username, role, level, where in desk.LOGINS:
            self.stdout.write(f"  {role:<11} {username:<11} level {level or '-':<5} {where}")
        self.stdout.write(f"  {'Superuser':<11} {'admin':<11} level {'-':<5} every permission; decides no approvals")

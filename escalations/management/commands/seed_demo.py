"""Demo data for a laptop: categories, teams, one login per role, a few cases in motion.

Idempotent: everything is looked up by a natural key first, and the demo cases are
created only once, so running it twice doubles nothing.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from escalations import workflow
from escalations.channels.mail.fetch import own_mail
from escalations.channels.mail.intake import take_in
from escalations.models import (
    Case,
    Category,
    InboundMessage,
    KnowledgeArticle,
    Level,
    Mailbox,
    PathStep,
    StaffProfile,
    Team,
)

PASSWORD = "demo-pass-2026"
DEMO_DOMAIN = "demo.example"
CATEGORIES = [
    ("network", "Network"),
    ("email", "E-mail"),
    ("billing", "Billing"),
    ("security", "Security"),
    ("hardware", "Hardware"),
]
TEAMS = [
    ("Service Desk", "L1"),
    ("Network Specialists", "L2"),
    ("Infrastructure Seniors", "L3"),
    ("Security Experts", "L4"),
    ("Executive Board", "EXEC"),
]
USERS = [  # username, role, level, team
    ("agent", "Agent", "L1", "Service Desk"),
    ("agent2", "Agent", "L1", "Service Desk"),
    ("specialist", "Specialist", "L2", "Network Specialists"),
    ("senior", "Senior", "L3", "Infrastructure Seniors"),
    ("expert", "Expert", "L4", "Security Experts"),
    ("executive", "Executive", "EXEC", "Executive Board"),
    # No level: a manager configures the desk and decides no approvals (docs/authorization.md).
    ("manager", "Manager", None, None),
    ("auditor", "Auditor", None, None),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print a login for each role."

    def handle(self, *args, **options):
        with transaction.atomic():
            users = self._people()
            if not Case.objects.filter(requester_email__endswith="@" + DEMO_DOMAIN).exists():
                self._cases(users)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password for all: {PASSWORD}):"))
        for username, role, level, _ in USERS:
            self.stdout.write(f"  {role:<11} {username:<11} level {level or '-'}")
        self.stdout.write(f"  {'Superuser':<11} {'admin':<11}")

    def _people(self) -> dict:
        User = get_user_model()
        for code, name in CATEGORIES:
            Category.objects.get_or_create(code=code, defaults={"name": name})
        teams = {}
        for name, code in TEAMS:
            teams[name], _ = Team.objects.get_or_create(
                name=name,
                defaults={
                    "level": Level.objects.get(code=code),
                    "email": f"{name.lower().replace(' ', '-')}@{DEMO_DOMAIN}",
                },
            )
        for team in teams.values():  # every level has a team for every category
            team.skills.add(*Category.objects.all())
        # The standard ladder names the demo team at each level, so every case gets a team
        # at intake and on escalation, and team notices reach someone.
        for step in PathStep.objects.filter(path__category__isnull=True, team__isnull=True).select_related("level"):
            step.team = next((t for t in teams.values() if t.level_id == step.level_id), None)
            step.save(update_fields=["team"])
        users = {}
        for username, role, level, team in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@{DEMO_DOMAIN}", "is_staff": True, "first_name": username.capitalize()},
            )
            if created:
                user.set_password(PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            if level:
                StaffProfile.objects.get_or_create(user=user, defaults={"level": Level.objects.get(code=level)})
            if team:
                teams[team].members.add(user)
            users[username] = User.objects.get(pk=user.pk)
        for team in teams.values():
            if team.manager_id is None:
                team.manager = users["manager"]
                team.save()
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"email": f"admin@{DEMO_DOMAIN}", "is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(PASSWORD)
            admin.save()
        return users

    def _cases(self, u: dict) -> None:
        cat = {c.code: c for c in Category.objects.all()}
        requester = {"requester_name": "Dana Customer", "requester_email": f"dana@{DEMO_DOMAIN}"}
        handoff = workflow.Handoff(
            summary="VPN drops every 10 minutes for the Berlin office.",
            steps_tried="Restarted the client, reinstalled it, checked the status page.",
            customer_impact="40 people work offline; sales calls dropped.",
            knowledge_consulted="VPN troubleshooting guide",
        )
        new = workflow.case_open(
            actor=u["agent"],
            title="Cannot print invoices",
            category=cat["hardware"],
            impact=3,
            urgency=2,
            description="Printer shows error 42.",
            **requester,
        )
        working = workflow.case_open(
            actor=u["agent"], title="VPN keeps disconnecting", category=cat["network"], impact=1, urgency=2, **requester
        )
        workflow.case_take(case_id=working.pk, actor=u["agent"])
        escalated = workflow.case_open(
            actor=u["agent"],
            title="Mail server rejects large attachments",
            category=cat["email"],
            impact=2,
            urgency=1,
            **requester,
        )
        workflow.case_take(case_id=escalated.pk, actor=u["agent"])
        workflow.case_escalate(case_id=escalated.pk, actor=u["agent"], handoff=handoff)
        done = workflow.case_open(
            actor=u["agent2"],
            title="Refund for double charge",
            category=cat["billing"],
            impact=2,
            urgency=2,
            customer_tier="vip",
            **requester,
        )
        workflow.case_take(case_id=done.pk, actor=u["agent2"])
        workflow.case_escalate(case_id=done.pk, actor=u["agent2"], handoff=handoff)
        workflow.case_accept(case_id=done.pk, actor=u["specialist"])
        refund = workflow.approval_request(
            case_id=done.pk,
            actor=u["specialist"],
            kind="spend",
            amount="250",
            description="Refund the duplicate charge.",
        )
        # The specialist asked and owns the case, so the request passed to L3 (separation of duties).
        workflow.approval_decide(approval_id=refund.pk, actor=u["senior"], approve=True, note="Refund approved.")
        workflow.case_resolve(case_id=done.pk, actor=u["specialist"], summary="Refunded the duplicate charge.")
        KnowledgeArticle.objects.get_or_create(
            title="VPN drops every few minutes",
            defaults={
                "body": "Update the client to 5.2 and disable IPv6 on the tunnel adapter.",
                "category": cat["network"],
            },
        )
        mailed = self._mailed_case(cat["email"])
        self.stdout.write(
            f"Demo cases: #{new.pk} new, #{working.pk} in progress, #{escalated.pk} escalated, "
            f"#{done.pk} resolved, #{mailed.pk} e-mailed"
        )

    def _mailed_case(self, category: Category) -> Case:
        """A request as it arrives by e-mail, through the real parser and intake (the demo
        polls no server: its mailbox is switched off; set MAILBOX_URLS to read real mail)."""
        from email.message import EmailMessage

        mailbox, _ = Mailbox.objects.get_or_create(
            source=f"support@{DEMO_DOMAIN}@localhost:143/INBOX",
            defaults={"name": "Support (demo)", "category": category, "is_active": False},
        )
        msg = EmailMessage()
        msg["From"], msg["To"] = f"Dana Customer <dana@{DEMO_DOMAIN}>", f"support@{DEMO_DOMAIN}"
        msg["Subject"], msg["Message-ID"] = "Shared calendar shows nothing since Monday", f"<demo-1@{DEMO_DOMAIN}>"
        msg.set_content(
            "Hello,\n\nthe team calendar is empty for everyone since Monday's update. "
            "A screenshot of the error log is attached.\n\nDana"
        )
        msg.add_attachment(
            b"12:01 calendar sync: 403 Forbidden\n", maintype="text", subtype="plain", filename="sync.log"
        )
        take_in(mailbox, msg.as_bytes(), own_mail([]))
        return InboundMessage.objects.get(mailbox=mailbox, message_id=f"<demo-1@{DEMO_DOMAIN}>").case

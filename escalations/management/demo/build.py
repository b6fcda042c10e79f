"""The demo desk: eight weeks of history in four use cases and today's open desk, then the
risk models trained on it. ``seed_demo`` calls ``build``; it runs once per database."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.db import transaction
from django.utils import timezone

from escalations import workflow
from escalations.channels.mail.fetch import own_mail
from escalations.channels.mail.intake import take_in
from escalations.channels.monitoring import intake as monitoring
from escalations.channels.monitoring import parse
from escalations.intelligence.risk.train import retrain
from escalations.intelligence.text.train import retrain as text_retrain
from escalations.management.demo import desk as org_module
from escalations.management.demo.life import RANK, Desk, Plan, Scheduler, SimClock, life
from escalations.management.demo.stories import DOMAINS, Domain
from escalations.models import (
    AlertRule,
    AlertSeverity,
    Case,
    InboundMessage,
    KnowledgeArticle,
    Mailbox,
    RoutingPolicy,
)
from escalations.reports import cache as report_cache
from escalations.workflow.base import save

WEEKS = 8
SEED = 2026
HISTORY_PER_DAY = 1.1  # cases per use case per working day (a third of it at weekends)


def exists() -> bool:
    return Case.objects.filter(requester_email__endswith=org_module.DEMO_DOMAIN).exists()


def build(now: datetime | None = None) -> dict:
    """Everything, in one transaction (all or nothing). Returns what it made, in figures."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    start = now - timedelta(weeks=WEEKS)
    rng = random.Random(SEED)
    with transaction.atomic():
        org = org_module.build()
        if exists():
            return {}
        _routing_and_channels(org)
        clock = SimClock(start)
        with clock.running():
            _articles(org, start)
            desk = Desk(org, rng, DOMAINS)
            sched = Scheduler(clock, now, desk)
            _history(sched, desk, start, now)
            _sure(sched, desk, now)
            _today(sched, desk, now)
            _channels(sched, desk, now)
            sched.run()
        risk = retrain()
        text = text_retrain()  # so the demo's intake form suggests category, priority and level
        report_cache.clear()  # the forecast kept for today predates eight weeks of history
    return {"cases": Case.objects.count(), "refused": desk.tally.refused, "risk": risk, "text": text}


def _routing_and_channels(org: dict) -> None:
    if not RoutingPolicy.objects.filter(is_active=True).exists():
        RoutingPolicy.objects.get_or_create(
            name="Suggest team and person", defaults={"is_active": True, "mode": RoutingPolicy.Mode.SUGGEST}
        )
    AlertSeverity.objects.get_or_create(label="critical", defaults={"impact": 1, "urgency": 1})
    AlertRule.objects.get_or_create(
        name="Data centre alerts",
        defaults={
            "order": 10,
            "match": {"team": "datacentre"},
            "category": org["category"]["it"],
            "resolve_on_resolved": True,
            "requester_name": "Prometheus (data centre)",
            "requester_email": f"alerts@monitoring.{org_module.DEMO_DOMAIN}",
        },
    )


def _articles(org: dict, at: datetime) -> None:
    manager = org["users"]["manager"]
    for d in DOMAINS:
        for title, body in d.articles:
            if not KnowledgeArticle.objects.filter(title=title).exists():
                art = KnowledgeArticle(title=title, body=body, category=org["category"][d.key], author=manager)
                art.created_at = at
                save(art, manager, "Written for the demo desk")


def _requester(d: Domain, rng: random.Random) -> tuple[str, str]:
    name = rng.choice(d.requesters)
    local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
    return name, f"{local}@{d.requester_domain}"


def _plan(d: Domain, rng: random.Random, **fixed) -> Plan:
    story = rng.choice(d.stories)
    r = rng.random()
    top = 1 if r < 0.45 else 2 if r < 0.72 else 3 if r < 0.87 else 4 if r < 0.96 else 5
    if story.jump and rng.random() < 0.6:
        top = max(top, RANK[story.jump[0]])
    late = rng.random()
    # Mostly in time, some near misses (past the 50 % and 75 % warnings), a few so late
    # that the rule escalates the case before anyone takes it.
    respond = rng.uniform(2, 9) if late < 0.8 else rng.uniform(11, 14) if late < 0.93 else rng.uniform(50, 110)
    accept = rng.uniform(5, 40) if rng.random() < 0.85 else rng.uniform(45, 58) if rng.random() < 0.7 else 130
    score = rng.choices([0, 1, 2, 3, 4, 5], weights=[55, 2, 4, 8, 15, 16])[0]
    plan = Plan(
        domain=d,
        story=story,
        requester=_requester(d, rng),
        top=top,
        respond=respond,
        accept=accept,
        work=rng.uniform(15, 100),
        jump=story.jump is not None and top >= RANK[story.jump[0]] and rng.random() < 0.7,
        returned=top >= 2 and rng.random() < 0.12,
        pause=rng.random() < 0.25,
        approval=story.approval is not None and rng.random() < 0.6,
        reject=rng.random() < 0.15,
        reopen=rng.random() < 0.06,
        close_after=rng.uniform(60 * 6, 60 * 60),
        review=rng.random() < 0.5,
        de_escalate=rng.random() < 0.5,
        reassign=rng.random() < 0.12,
        tier=rng.choices(["standard", "premium", "vip"], weights=[70, 22, 8])[0],
        survey=score,
    )
    for key, value in fixed.items():
        setattr(plan, key, value)
    return plan


def _history(sched: Scheduler, desk: Desk, start: datetime, now: datetime) -> None:
    rng = desk.rng
    day = start.replace(hour=0, minute=0)
    while day < now - timedelta(days=1):
        weekend = day.weekday() >= 5
        for d in DOMAINS:
            mean = HISTORY_PER_DAY / 3 if weekend else HISTORY_PER_DAY
            for _ in range(int(mean) + (rng.random() < mean - int(mean))):
                at = day + timedelta(hours=rng.uniform(7, 18))
                if start < at < now:
                    plan = _plan(d, rng)
                    opener = desk.someone(d, "L1")
                    sched.at(at, life(desk, plan, opener))
        day += timedelta(days=1)


# Stories every demo has, per use case, whatever the dice say: (days ago, plan fields; a
# "story" field picks the story by what it has).
SURE = [
    (40, dict(top=1, respond=200, de_escalate=True)),  # late: the rule escalates, L2 sends it back down
    (33, dict(top=2, returned=True, respond=4)),  # over-escalation: L2 returns it
    (26, dict(top=4, respond=4, story="jump", jump=True)),  # a skip-level jump
    (19, dict(top=4, respond=4, story="major_incident", approval=True)),  # a major incident (security)
    (12, dict(top=3, respond=4, story="spend", approval=True, review=True)),  # the smallest spend
    (5, dict(top=4, respond=4, story="largest", approval=True)),  # the largest (billing: the Executive)
]


def _sure(sched: Scheduler, desk: Desk, now: datetime) -> None:
    for d in DOMAINS:
        for days, fields in SURE:
            fields = dict(fields)
            want = fields.pop("story", None)
            plan = _plan(
                d, desk.rng, returned=False, jump=False, reopen=False, de_escalate=False, approval=False, reject=False
            )
            if want == "jump":
                plan.story = next((s for s in d.stories if s.jump), plan.story)
                fields["top"] = RANK[plan.story.jump[0]]
            elif want == "largest":
                plan.story = max((s for s in d.stories if s.approval), key=lambda s: s.approval[1])
            elif want:
                found = [s for s in d.stories if s.approval and s.approval[0] == want]
                if not found:
                    continue
                plan.story = found[0]
            for key, value in fields.items():
                setattr(plan, key, value)
            at = (now - timedelta(days=days)).replace(hour=10, minute=desk.rng.randint(0, 59))
            sched.at(at, life(desk, plan, desk.someone(d, "L1")))


# Today's desk, per use case: (minutes ago opened, plan fields). Long waits keep the case
# where it is when the demo starts: new, at every level, waiting for the customer, for an
# approval, for acceptance, resolved and waiting for confirmation; some due within the hour.
TODAY = [
    (6, dict(respond=600)),  # new: the response is due within the hour
    (190, dict(top=1, stay=1, respond=4, story_impact=1)),  # P1 at L1: resolution due within the hour
    (120, dict(top=2, respond=5, work=40, accept=600)),  # escalated, waiting at L2 (the rule may move it on)
    (300, dict(top=2, stay=2, respond=5, work=40, accept=15, prefer={"L2": "specialist"})),
    (60 * 20, dict(top=3, stay=3, respond=5, work=60, accept=20)),
    (60 * 44, dict(top=4, stay=4, respond=5, work=60, accept=20, jump=True)),
    (60 * 70, dict(top=5, stay=5, respond=5, work=90, accept=25)),
    (150, dict(top=1, respond=5, pause=True, wait_reply=6000, stay=0)),  # awaiting the customer
    (60 * 26, dict(top=2, respond=5, work=50, accept=15, close_after=None)),  # resolved, not yet confirmed
    # an approval waiting; in IT, asked by marco, so the demo's `specialist` may decide it
    (240, dict(top=2, respond=5, work=30, accept=10, approval=True, wait_decision=6000, prefer={"L2": "marco"})),
]


def _today(sched: Scheduler, desk: Desk, now: datetime) -> None:
    rng = desk.rng
    for d in DOMAINS:
        for minutes, fields in TODAY:
            fields = dict(fields)
            p1 = fields.pop("story_impact", None)
            plan = _plan(d, rng, returned=False, reopen=False, pause=False, survey=0, de_escalate=False, reassign=False)
            if p1:
                plan.story = next((s for s in d.stories if s.impact_level == 1 and s.urgency == 1), plan.story)
            if fields.get("approval"):  # a policy exception where the use case has one: L2 decides it
                with_approval = [s for s in d.stories if s.approval]
                plan.story = next((s for s in with_approval if s.approval[0] == "policy_exception"), with_approval[0])
            for key, value in fields.items():
                setattr(plan, key, value)
            # The demo's `agent` holds today's IT cases at L1 (a queue worth showing).
            plan.prefer = {**({"L1": "agent"} if d.key == "it" else {}), **(plan.prefer if d.key == "it" else {})}
            if fields.get("jump"):
                plan.story = next((s for s in d.stories if s.jump), plan.story)
            plan.jump = bool(plan.jump and plan.story.jump and plan.top >= RANK[plan.story.jump[0]])
            if plan.top >= 2 and not fields.get("approval"):
                plan.approval = False
            sched.at(now - timedelta(minutes=minutes), life(desk, plan, desk.someone(d, "L1")))


def _channels(sched: Scheduler, desk: Desk, now: datetime) -> None:
    """Issue 13 in the demo: a case taken in by e-mail through the real parser and intake,
    one opened by a monitoring alert (Alertmanager's webhook format, through the real intake),
    and one requester who used the portal's "this solved it" instead of opening a case."""
    it = next(d for d in DOMAINS if d.key == "it")
    sched.at(now - timedelta(hours=26), lambda: _mailed_case(desk, it))
    sched.at(now - timedelta(minutes=35), lambda: _alert_case())
    sched.at(now - timedelta(hours=5), lambda: _portal_case(desk))


def _mailed_case(desk: Desk, d: Domain) -> Case:
    """A request as it arrives by e-mail (the demo polls no server: its mailbox is switched
    off; set MAILBOX_URLS to read real mail)."""
    mailbox, _ = Mailbox.objects.get_or_create(
        source=f"support@{org_module.DEMO_DOMAIN}@localhost:143/INBOX",
        defaults={"name": "Support (demo)", "category": desk.org["category"][d.key], "is_active": False},
    )
    msg = EmailMessage()
    msg["From"], msg["To"] = f"Dana Berg <dana.berg@{d.requester_domain}>", f"support@{org_module.DEMO_DOMAIN}"
    msg["Subject"], msg["Message-ID"] = (
        "Shared calendar shows nothing since Monday",
        f"<demo-1@{org_module.DEMO_DOMAIN}>",
    )
    msg.set_content(
        "Hello,\n\nthe team calendar is empty for everyone since Monday's update. The sync log is attached.\n\nDana"
    )
    msg.add_attachment(b"12:01 calendar sync: 403 Forbidden\n", maintype="text", subtype="plain", filename="sync.log")
    take_in(mailbox, msg.as_bytes(), own_mail([]))
    case = InboundMessage.objects.get(mailbox=mailbox, message_id=f"<demo-1@{org_module.DEMO_DOMAIN}>").case
    workflow.case_take(case_id=case.pk, actor=desk.staff(d, "L1")[0])
    return case


def _alert_case() -> list:
    starts = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "escalation-desk",
        "groupLabels": {"alertname": "StorageLatencyHigh"},
        "commonLabels": {"alertname": "StorageLatencyHigh", "team": "datacentre"},
        "externalURL": "http://alertmanager.demo.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "StorageLatencyHigh",
                    "instance": "san-a.dc1:9100",
                    "severity": "critical",
                    "team": "datacentre",
                },
                "annotations": {"summary": "Storage array san-a read latency above 40 ms for 10 minutes"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.demo.example:9090/graph?g0.expr=san_latency",
                "fingerprint": "demo-san-a-latency",
            }
        ],
    }
    return monitoring.receive(parse.alerts("alertmanager", parse.load(json.dumps(payload).encode())))


def _portal_case(desk: Desk) -> None:
    """A requester writes through the portal; another finds the answer in the knowledge base."""
    billing = next(d for d in DOMAINS if d.key == "billing")
    workflow.case_open_from_requester(
        actor=workflow.system_actor(),
        title="Invoice address still the old one",
        requester_name="Fjord Logistics",
        requester_email=f"fjord.logistics@{billing.requester_domain}",
        category=desk.org["category"]["billing"],
        body="We moved in September; the November invoice still shows the old address. Please correct it.",
    )
    article = KnowledgeArticle.objects.filter(title="Refunding a double charge").first()
    if article is not None:
        workflow.knowledge_deflect(
            actor=workflow.system_actor(),
            requester_email=f"emerald.foods@{billing.requester_domain}",
            article_id=article.pk,
            query="charged twice",
        )


__all__ = ["RANK", "build", "exists"]

"""Eight weeks of a desk, lived through the workflow with a simulated clock.

Every case has a plan (how high it should climb, whether it pauses for the customer, needs
an approval, jumps a level, gets returned, reopens, is closed and reviewed) and a life: a
generator that looks at the case as it is now, waits a while (it yields minutes), and then
does the next thing through a workflow function at the simulated time. The scheduler runs
every life and the sweep (every simulated hour) in time order, so the trigger rules
fire for real: a case nobody takes in time is escalated by the rule, a breach is marked when
it happens, warnings go out at 50 % and 75 %. A life re-reads its case after every wait and
adapts to what happened meanwhile (passing ``version`` to the workflow, which refuses a
stale action with ``Conflict``).

Django's ``timezone.now`` is the clock the workflow reads (tests/conftest.py's ``clock``
fixture controls it the same way); ``SimClock`` sets it while the demo is built and puts
the real one back afterwards.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from escalations import workflow
from escalations.automation import sweep
from escalations.domain import authority
from escalations.management.demo.stories import Domain, Story
from escalations.models import (
    ApprovalRequest,
    ApprovalStatus,
    Case,
    CaseStatus,
    Escalation,
    EscalationStatus,
    KnowledgeArticle,
    Notification,
    NotificationStatus,
    Review,
)

S = CaseStatus
RANK = {"L1": 1, "L2": 2, "L3": 3, "L4": 4, "EXEC": 5}
SWEEP_EVERY = timedelta(hours=1)
SURVEY_COMMENTS = {
    1: "Took far too long and nobody called back.",
    2: "Solved in the end, but I had to chase it twice.",
    3: "OK.",
    4: "Quick and friendly.",
    5: "Excellent, solved on the first call. Thank you!",
}


class SimClock:
    """``django.utils.timezone.now`` made settable while the demo is built."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    @contextmanager
    def running(self):
        real = timezone.now
        timezone.now = self
        try:
            yield self
        finally:
            timezone.now = real


@dataclass
class Plan:
    domain: Domain
    story: Story
    requester: tuple[str, str]
    top: int  # the rank the case climbs to
    respond: float  # minutes before L1 takes it (past the target: the rule escalates it)
    accept: float  # minutes before a receiving level accepts
    work: float  # minutes of work per level
    jump: bool = False
    returned: bool = False  # the first escalation is sent back unworked (over-escalation)
    pause: bool = False
    approval: bool = False
    reject: bool = False
    reopen: bool = False
    close_after: float | None = 60 * 24  # minutes after resolving; None: stays resolved
    review: bool = False
    de_escalate: bool = False
    reassign: bool = False  # the team lead gives the case to a colleague at the level
    tier: str = "standard"
    survey: int = 0  # the requester's score after the resolution (0: no answer)
    stay: int = 0  # today's desk: the rank the case stays at (work there outlasts the demo)
    wait_reply: float = 0  # minutes the customer takes to answer a pause (0: a while)
    wait_decision: float = 0  # minutes before an approval is decided (0: a while)
    refusals: int = 0
    prefer: dict = field(default_factory=dict)  # level code -> the username who works it there
    done: set = field(default_factory=set)


@dataclass
class Tally:
    refused: dict = field(default_factory=dict)  # workflow refusals by message start (should stay rare)

    def refuse(self, exc: Exception) -> None:
        key = str(exc)[:80]
        self.refused[key] = self.refused.get(key, 0) + 1


class Desk:
    """The people and the random source every life draws from."""

    def __init__(self, org: dict, rng: random.Random, domains: list[Domain]):
        self.org, self.rng, self.tally, self.domains = org, rng, Tally(), domains
        self.managed: set[int] = set()

    def staff(self, domain: Domain, level_code: str) -> list:
        return self.org["staff"][domain.key][level_code]

    def someone(self, domain: Domain, level_code: str, avoid=(), plan: Plan | None = None):
        people = [u for u in self.staff(domain, level_code) if u.pk not in avoid] or self.staff(domain, level_code)
        wanted = plan.prefer.get(level_code) if plan is not None else None
        return next((u for u in people if u.username == wanted), None) or self.rng.choice(people)


def _handoff(case: Case, story: Story, to_level: str) -> workflow.Handoff:
    articles = ", ".join(case.articles.values_list("title", flat=True))
    return workflow.Handoff(
        summary=f"{story.title}: {story.description} Needs {to_level}.",
        steps_tried=story.steps_tried,
        customer_impact=story.impact,
        knowledge_consulted=articles,
    )


def life(desk: Desk, plan: Plan, opener) -> Iterator[float]:
    """One case from intake to close (or to wherever it is when the clock reaches now)."""
    d, st = plan.domain, plan.story
    case = workflow.case_open(
        actor=opener,
        title=st.title,
        description=st.description,
        requester_name=plan.requester[0],
        requester_email=plan.requester[1],
        category=desk.org["category"][d.key],
        impact=st.impact_level,
        urgency=st.urgency,
        customer_tier=plan.tier,
    )
    desk.managed.add(case.pk)
    yield from live(desk, plan, case.pk)


def adopt(desk: Desk, case: Case) -> Iterator[float]:
    """A case no life opened (e-mail, an alert, the portal, a low score's follow-up): the
    desk works it like any other, at the lower levels."""
    desk.managed.add(case.pk)
    key = next((k for k, c in desk.org["category"].items() if c.pk == case.category_id), "it")
    domain = next(d for d in desk.domains if d.key == key)
    story = Story(
        case.title,
        case.description[:300] or case.title,
        "Read the requester's message and the case history.",
        "The requester is waiting for an answer.",
        "Answered the requester and fixed the cause; the requester confirmed.",
    )
    rng = desk.rng
    plan = Plan(
        domain=domain,
        story=story,
        requester=(case.requester_name, case.requester_email),
        top=rng.choice([1, 1, 2]),
        respond=rng.uniform(2, 10),
        accept=rng.uniform(5, 30),
        work=rng.uniform(30, 120),
        close_after=rng.uniform(60 * 6, 60 * 48),
    )
    yield from live(desk, plan, case.pk)


def live(desk: Desk, plan: Plan, pk: int) -> Iterator[float]:
    d, st, rng = plan.domain, plan.story, desk.rng
    while True:
        case = Case.objects.select_related("level").get(pk=pk)
        level, version = case.level.code, case.version
        try:
            if case.status == S.NEW:
                yield plan.respond
                taker = desk.someone(d, level, plan=plan)
                workflow.case_take(case_id=pk, actor=taker, version=version)
                if st.article and "article" not in plan.done:
                    plan.done.add("article")
                    art = KnowledgeArticle.objects.filter(title=st.article).first()
                    if art:
                        workflow.knowledge_link(case_id=pk, article_id=art.pk, actor=taker)
                yield rng.uniform(1, 8) if rng.random() < 0.85 else rng.uniform(10, 40)
                _first_contact(case, taker, rng)
            elif case.status == S.ESCALATED:
                yield plan.accept
                yield from _receive(desk, plan, pk, version, level)
            elif case.status == S.AWAITING_CUSTOMER:
                yield plan.wait_reply or rng.uniform(60, 60 * 20)
                workflow.case_customer_message(
                    actor=workflow.system_actor(),
                    case_id=pk,
                    sender=case.requester_email,
                    sender_name=case.requester_name,
                    body=d.customer_reply,
                )
            elif case.status == S.IN_PROGRESS:
                yield from _work(desk, plan, case)
            elif case.status == S.RESOLVED:
                if case.major_declared_at and "major" not in plan.done:
                    plan.done.add("major")
                    yield rng.uniform(30, 120)
                    _after_major(desk, plan, case)
                elif plan.survey and "survey" not in plan.done:
                    plan.done.add("survey")
                    yield rng.uniform(30, 60 * 8)
                    workflow.survey_answer(
                        actor=workflow.system_actor(),
                        case_id=pk,
                        requester_email=case.requester_email,
                        score=plan.survey,
                        comment=SURVEY_COMMENTS[plan.survey],
                    )
                elif plan.reopen and "reopen" not in plan.done:
                    plan.done.add("reopen")
                    yield rng.uniform(120, 60 * 24)
                    workflow.case_reopen(
                        case_id=pk,
                        actor=case.assignee or desk.someone(d, level),
                        reason="The requester says the problem is back.",
                        version=version,
                    )
                elif plan.close_after is not None:
                    yield plan.close_after
                    closer = case.assignee or desk.someone(d, level)
                    workflow.case_close(case_id=pk, actor=closer, reason="The requester confirmed the resolution")
                else:
                    return
            else:  # closed
                if plan.review and case.escalation_count > 0 and not Review.objects.filter(case_id=pk).exists():
                    yield rng.uniform(60 * 4, 60 * 48)
                    reviewer = desk.someone(d, "L3") if case.highest_level.rank <= 3 else desk.org["users"]["manager"]
                    warranted = not plan.returned
                    workflow.case_review(
                        case_id=pk,
                        actor=reviewer,
                        root_cause=st.resolution,
                        went_well="The handoff said what was tried; the receiving level started at once.",
                        went_badly="" if warranted else "Escalated before the level below had tried what it could.",
                        escalation_warranted=warranted,
                        prevention_actions="Add the fix to the knowledge base."
                        if warranted
                        else "Coach the team on when to escalate.",
                    )
                return
        except workflow.Conflict:
            continue  # the sweep (or someone) moved the case meanwhile: look again
        except workflow.WorkflowError as exc:
            desk.tally.refuse(exc)
            plan.refusals += 1
            if plan.refusals > 3:
                return
            yield 30


def _after_major(desk: Desk, plan: Plan, case: Case) -> None:
    """A resolved major incident: an Executive stands the crisis team down, and the
    post-incident review comes before the case may be closed."""
    if case.is_major:
        workflow.case_end_major_incident(
            case_id=case.pk,
            actor=desk.org["users"]["executive"],
            reason="Services restored from clean backups; the crisis team stands down.",
        )
    workflow.case_review(
        case_id=case.pk,
        actor=desk.org["users"]["manager"],
        root_cause=plan.story.resolution,
        went_well="Isolation within minutes; the declaration brought the Executive in at once.",
        went_badly="The RDP gateway had been open for a test and never closed.",
        escalation_warranted=True,
        prevention_actions="Change checklist: every temporary opening gets an expiry date.",
    )


def _first_contact(case: Case, actor, rng: random.Random) -> None:
    if not authority.can_work(Case.objects.select_related("level").get(pk=case.pk), actor):
        return  # the rule escalated it meanwhile: the next level answers the customer
    if rng.random() < 0.5:
        workflow.case_public_update(
            case_id=case.pk,
            actor=actor,
            body=f'Hello {case.requester_name}, we are working on "{case.title}" and will keep you updated.',
        )
    else:
        workflow.case_record_contact(
            case_id=case.pk, actor=actor, note="Called the requester, confirmed the details and the impact."
        )


def _receive(desk: Desk, plan: Plan, pk: int, version: int, level: str) -> Iterator[float]:
    """The receiving level accepts the handoff, or sends an over-escalation back."""
    esc = Escalation.objects.filter(case_id=pk, status=EscalationStatus.PENDING).order_by("-pk").first()
    receiver = desk.someone(plan.domain, level, plan=plan)
    with_article = f" with the article '{plan.story.article}'" if plan.story.article else ""
    if plan.returned and "returned" not in plan.done:
        plan.done.add("returned")
        plan.top = esc.from_level.rank  # the lower level can solve it: no second try upwards
        workflow.case_return(
            case_id=pk,
            actor=receiver,
            reason=f"{esc.from_level.code} can solve this{with_article}; nothing here needs {level}.",
            version=version,
        )
        return
    workflow.case_accept(case_id=pk, actor=receiver, version=version)
    yield 0


def _work(desk: Desk, plan: Plan, case: Case) -> Iterator[float]:
    d, st, rng, pk = plan.domain, plan.story, desk.rng, case.pk
    level, rank = case.level.code, case.level.rank
    worker = case.assignee or desk.someone(d, level, plan=plan)
    if worker.pk != getattr(case.assignee, "pk", None):
        workflow.case_take(case_id=pk, actor=worker, version=case.version)
        return
    if plan.reassign and "reassign" not in plan.done:
        plan.done.add("reassign")
        others = [u for u in desk.staff(d, level) if u.pk != worker.pk]
        if others:
            yield rng.uniform(10, 60)
            workflow.case_assign(
                case_id=pk,
                actor=desk.org["users"]["manager"],
                assignee_id=rng.choice(others).pk,
                version=case.version,
            )
            return
    if plan.pause and "pause" not in plan.done:
        plan.done.add("pause")
        yield rng.uniform(10, 90)
        workflow.case_pause(case_id=pk, actor=worker, reason=d.pause_reason)
        return
    if plan.approval and st.approval and "approval" not in plan.done and rank >= min(plan.top, 2):
        plan.done.add("approval")
        kind, amount, what = st.approval
        yield rng.uniform(20, 120)
        req = workflow.approval_request(case_id=pk, actor=worker, kind=kind, amount=amount or None, description=what)
        yield plan.wait_decision or rng.uniform(30, 60 * 6)
        _decide(desk, plan, req.pk)
        return
    if rank > plan.top and plan.de_escalate and "de-escalate" not in plan.done:
        plan.done.add("de-escalate")
        yield rng.uniform(30, 180)
        workflow.case_de_escalate(
            case_id=pk,
            actor=worker,
            reason=f"The {level} part is done; the level below finishes it with the requester.",
            version=case.version,
        )
        return
    if plan.stay == rank:
        yield 60 * 24 * 30  # today's desk: still being worked when the demo starts
    yield plan.work * (rank**0.5) * (1 if plan.stay else rng.uniform(0.5, 1.5))
    case = Case.objects.select_related("level").get(pk=pk)
    if rank < plan.top:
        to, justification = None, ""
        if plan.jump and st.jump and "jump" not in plan.done and RANK[st.jump[0]] > rank + 1:
            plan.done.add("jump")
            to, justification = st.jump
        target = to or next(code for code, r in RANK.items() if r == rank + 1)
        workflow.case_escalate(
            case_id=pk,
            actor=worker,
            handoff=_handoff(case, st, target),
            to_level_code=to,
            justification=justification,
            version=case.version,
        )
    else:
        publish = rank >= 3 and rng.random() < 0.3
        workflow.case_resolve(
            case_id=pk, actor=worker, summary=st.resolution, publish_article=publish, version=case.version
        )


def _decide(desk: Desk, plan: Plan, approval_id: int) -> None:
    """The first person at the required level or above, free of a conflict, decides."""
    req = ApprovalRequest.objects.select_related("case__level", "required_level").get(pk=approval_id)
    if req.status != ApprovalStatus.PENDING:
        return
    start = max(req.required_level.rank, req.case.level.rank)
    for code, rank in RANK.items():
        if rank < start:
            continue
        for person in desk.staff(plan.domain, code):
            try:
                workflow.approval_decide(
                    approval_id=approval_id,
                    actor=person,
                    approve=not plan.reject,
                    note="Within policy; go ahead." if not plan.reject else "Not justified by the contract; decline.",
                )
                return
            except workflow.NotAllowed:
                continue


class Scheduler:
    """Runs lives and the sweep in time order up to ``end``."""

    def __init__(self, clock: SimClock, end: datetime, desk: Desk):
        self.clock, self.end, self.desk = clock, end, desk
        self.seen = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.heap: list = []
        self.seq = 0
        self.next_sweep = clock.now
        self.next_flush = clock.now + timedelta(days=1)

    def at(self, when: datetime, step) -> None:
        """``step`` is a generator (a life) or a plain callable run once."""
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, step))

    def _sweep_until(self, when: datetime) -> None:
        while self.next_sweep <= when:
            self.clock.now = self.next_sweep
            if Case.objects.due(self.next_sweep).exists():
                sweep.run_sweep(now=self.next_sweep)
            if self.next_sweep >= self.next_flush:
                self._flush()
            self.next_sweep += SWEEP_EVERY

    def _flush(self) -> None:
        """Past notices count as delivered: recorded as sent at the simulated moment, in one
        statement, without building each e-mail (nobody is mailed when the demo starts)."""
        Notification.objects.sendable(self.clock.now).update(
            status=NotificationStatus.SENT, sent_at=self.clock.now, attempts=F("attempts") + 1, last_error=""
        )
        self.next_flush = self.clock.now + timedelta(days=1)

    def _adopt(self, when: datetime) -> None:
        """Give every case no life opened a life of its own."""
        newest = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if newest <= self.seen:
            return
        for case in Case.objects.filter(pk__gt=self.seen).exclude(pk__in=self.desk.managed):
            self.at(when + timedelta(minutes=0.1), adopt(self.desk, case))
        self.seen = newest

    def run(self) -> None:
        while self.heap and self.heap[0][0] <= self.end:
            when, _, step = heapq.heappop(self.heap)
            self._sweep_until(when)
            self.clock.now = when
            if not hasattr(step, "__next__"):
                step()
                self._adopt(when)
                continue
            try:
                wait = next(step)
            except StopIteration:
                wait = None
            if wait is not None:
                self.at(when + timedelta(minutes=max(wait, 0.1)), step)
            self._adopt(when)
        self._sweep_until(self.end)
        self.clock.now = self.end
        self._flush()

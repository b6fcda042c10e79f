"""escalations.workflow as the one write path: the audit trail it leaves (one history row
per changed object, with who and why), the versions it bumps, the side effects it queues
for after commit, the SLA clock it sets from the frozen policy, and what it refuses
without writing anything."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail

from escalations import workflow
from escalations.automation import outbox
from escalations.models import (
    ApprovalRequest,
    Case,
    CaseStatus,
    Escalation,
    EscalationPath,
    KnowledgeArticle,
    Note,
    Notification,
    PathStep,
    Review,
    SlaPolicy,
    SlaTarget,
    priority_for,
)
from escalations.workflow import Conflict, InvalidAction, NotAllowed

from .factories import HANDOFF, CategoryFactory, TeamFactory, fresh, level, open_case

pytestmark = pytest.mark.django_db

S = CaseStatus


# -- helpers ---------------------------------------------------------------------------------


def escalate(case, actor, **kwargs) -> Escalation:
    return workflow.case_escalate(case_id=case.pk, actor=actor, handoff=kwargs.pop("handoff", HANDOFF), **kwargs)


def taken(agent, **kwargs) -> Case:
    case = open_case(agent, **kwargs)
    return workflow.case_take(case_id=case.pk, actor=agent)


def accepted_at_l2(agent, specialist) -> Case:
    case = taken(agent)
    escalate(case, agent)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    return fresh(case)


HISTORIES = {
    "case": lambda c: Case.history.filter(id=c.pk),
    "escalation": lambda c: Escalation.history.filter(case_id=c.pk),
    "note": lambda c: Note.history.filter(case_id=c.pk),
    "approval": lambda c: ApprovalRequest.history.filter(case_id=c.pk),
    "review": lambda c: Review.history.filter(case_id=c.pk),
    "article": lambda c: KnowledgeArticle.history.all(),
}


def history_counts(case) -> dict[str, int]:
    return {name: qs(case).count() for name, qs in HISTORIES.items()}


@contextmanager
def audited(subject, actor, **expected):
    """Assert the block adds exactly ``expected`` history rows per object kind (others: none),
    each new row naming the actor and giving a reason."""
    before = history_counts(subject)
    yield
    after = history_counts(subject)
    delta = {name: after[name] - before[name] for name in HISTORIES}
    assert delta == {name: expected.get(name, 0) for name in HISTORIES}
    for name, n in expected.items():
        for row in HISTORIES[name](subject).order_by("-history_id")[:n]:
            assert row.history_user_id == (actor.pk if actor is not None else None), name
            assert (row.history_change_reason or "").strip(), name


# -- one history row per changed object, with who and why --------------------------------------


def test_open_writes_one_case_row(agent):
    category = CategoryFactory()
    before = Case.history.count()
    case = open_case(agent, category=category)
    assert Case.history.count() == before + 1
    row = Case.history.get(id=case.pk)
    assert row.history_type == "+"
    assert row.history_user == agent
    assert row.history_change_reason.startswith("Opened")
    assert row.version == 1


def test_take_writes_one_case_row(agent):
    case = open_case(agent)
    with audited(case, agent, case=1):
        workflow.case_take(case_id=case.pk, actor=agent)
    assert "Taken" in Case.history.filter(id=case.pk).latest("history_id").history_change_reason


def test_assign_writes_one_case_row(agent, agent2):
    case = taken(agent)
    with audited(case, agent, case=1):
        workflow.case_assign(case_id=case.pk, actor=agent, assignee_id=agent2.pk)


def test_pause_and_resume_write_one_case_row_each(agent):
    case = taken(agent)
    with audited(case, agent, case=1):
        workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for a screenshot")
    assert "Waiting for a screenshot" in Case.history.filter(id=case.pk).latest("history_id").history_change_reason
    with audited(case, agent, case=1):
        workflow.case_resume(case_id=case.pk, actor=agent)


def test_escalate_writes_one_case_row_and_one_escalation_row(agent):
    case = taken(agent)
    with audited(case, agent, case=1, escalation=1):
        esc = escalate(case, agent)
    case_row = Case.history.filter(id=case.pk).latest("history_id")
    assert case_row.status == S.ESCALATED
    assert "L1 -> L2" in case_row.history_change_reason
    esc_row = Escalation.history.get(id=esc.pk)
    assert esc_row.history_type == "+" and esc_row.status == "pending"


def test_jump_writes_one_case_row_and_one_escalation_row(agent):
    case = taken(agent)
    with audited(case, agent, case=1, escalation=1):
        escalate(case, agent, to_level_code="L4", justification="Security breach")


def test_accept_writes_one_row_per_changed_object(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    with audited(case, specialist, case=1, escalation=1):
        workflow.case_accept(case_id=case.pk, actor=specialist)
    assert Escalation.history.filter(case_id=case.pk).latest("history_id").status == "accepted"


def test_return_writes_one_row_per_changed_object(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    with audited(case, specialist, case=1, escalation=1):
        workflow.case_return(case_id=case.pk, actor=specialist, reason="Known issue, KB-7")
    assert "Known issue, KB-7" in Case.history.filter(id=case.pk).latest("history_id").history_change_reason
    assert Escalation.history.filter(case_id=case.pk).latest("history_id").status == "returned"


def test_de_escalate_writes_one_row_per_changed_object(agent, specialist):
    case = accepted_at_l2(agent, specialist)
    with audited(case, specialist, case=1, escalation=1):
        workflow.case_de_escalate(case_id=case.pk, actor=specialist, reason="Workaround in place")


def test_resolve_writes_one_case_row(agent):
    case = taken(agent)
    with audited(case, agent, case=1):
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache")


def test_resolve_and_publish_writes_one_article_row(agent):
    case = taken(agent)
    with audited(case, agent, case=1, article=1):
        workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache", publish_article=True)
    article = KnowledgeArticle.objects.get()
    assert article.body == "Cleared the cache"
    assert list(article.cases.all()) == [case]


def test_reopen_and_close_write_one_case_row_each(agent):
    case = taken(agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache")
    with audited(case, agent, case=1):
        workflow.case_reopen(case_id=case.pk, actor=agent, reason="Came back")
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache again")
    with audited(case, agent, case=1):
        workflow.case_close(case_id=case.pk, actor=agent)


def test_the_requester_reopening_is_recorded_under_the_system_actor(agent):
    case = taken(agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache")
    system = workflow.system_actor()
    with audited(case, system, case=1):
        workflow.case_reopen(case_id=case.pk, actor=system, reason="Still broken")
    assert "the requester" in Case.history.filter(id=case.pk).latest("history_id").history_change_reason
    assert system.username == "system" and not system.is_active and not system.has_usable_password()


def test_an_action_without_an_actor_is_refused_and_writes_nothing(agent):
    case = taken(agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Cleared the cache")
    with audited(case, agent), pytest.raises(TypeError, match="needs an actor"):
        workflow.case_reopen(case_id=case.pk, actor=None, reason="Still broken")


def test_internal_note_writes_a_note_row_and_no_case_row(agent):
    case = taken(agent)
    version = case.version
    with audited(case, agent, note=1):
        note = workflow.case_note(case_id=case.pk, actor=agent, body="Customer sounds upset")
    assert note.kind == "internal" and note.author == agent
    assert fresh(case).version == version


def test_first_public_update_answers_the_response_clock(agent):
    case = open_case(agent)
    with audited(case, agent, case=1, note=1):
        workflow.case_public_update(case_id=case.pk, actor=agent, body="We are on it.")
    case = fresh(case)
    assert case.responded_at is not None and case.status == S.NEW
    with audited(case, agent, note=1):  # already answered: the case does not change
        workflow.case_public_update(case_id=case.pk, actor=agent, body="Still on it.")


def test_approval_request_and_decision_write_one_approval_row_each(agent, specialist):
    case = taken(agent)
    with audited(case, agent, approval=1):
        req = workflow.approval_request(
            case_id=case.pk, actor=agent, kind="spend", amount="300", description="Replacement keyboard"
        )
    with audited(case, specialist, approval=1):
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True)
    assert ApprovalRequest.history.filter(id=req.pk).latest("history_id").history_change_reason == "Approved"


def test_review_writes_one_review_row(agent, specialist, senior):
    case = accepted_at_l2(agent, specialist)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Fixed")
    workflow.case_close(case_id=case.pk, actor=specialist)
    with audited(case, senior, review=1):
        workflow.case_review(case_id=case.pk, actor=senior, root_cause="Bad deploy")


# -- version -----------------------------------------------------------------------------------


def test_every_change_bumps_the_version(agent, specialist):
    case = open_case(agent)
    versions = [case.version]
    for act in (
        lambda: workflow.case_take(case_id=case.pk, actor=agent),
        lambda: workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting"),
        lambda: workflow.case_resume(case_id=case.pk, actor=agent),
        lambda: escalate(case, agent),
        lambda: workflow.case_accept(case_id=case.pk, actor=specialist),
        lambda: workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Fixed"),
        lambda: workflow.case_reopen(case_id=case.pk, actor=specialist, reason="Not fixed"),
        lambda: workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Fixed now"),
        lambda: workflow.case_close(case_id=case.pk, actor=specialist),
    ):
        act()
        versions.append(fresh(case).version)
    assert versions == list(range(1, 11))
    assert list(Case.history.filter(id=case.pk).order_by("history_id").values_list("version", flat=True)) == versions


def test_the_current_version_is_accepted(agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent, version=case.version)
    assert fresh(case).version == case.version + 1


STALE_ACTIONS = {
    "take": lambda c, a, v: workflow.case_take(case_id=c.pk, actor=a, version=v),
    "assign": lambda c, a, v: workflow.case_assign(case_id=c.pk, actor=a, assignee_id=a.pk, version=v),
    "pause": lambda c, a, v: workflow.case_pause(case_id=c.pk, actor=a, reason="x", version=v),
    "escalate": lambda c, a, v: escalate(c, a, version=v),
    "resolve": lambda c, a, v: workflow.case_resolve(case_id=c.pk, actor=a, summary="x", version=v),
    "public_update": lambda c, a, v: workflow.case_public_update(case_id=c.pk, actor=a, body="x", version=v),
}


@pytest.mark.parametrize("action", list(STALE_ACTIONS))
def test_a_stale_version_is_a_conflict_and_writes_nothing(agent, agent2, action):
    case = open_case(agent)
    seen = case.version
    workflow.case_take(case_id=case.pk, actor=agent2)  # someone else acts first
    current = fresh(case)
    counts = history_counts(case), Escalation.objects.count(), Notification.objects.count(), Note.objects.count()
    with pytest.raises(Conflict) as exc:
        STALE_ACTIONS[action](case, agent, seen)
    assert "changed since you opened it" in exc.value.message
    assert "in progress" in exc.value.message  # says what it is now
    after = fresh(case)
    assert (after.version, after.status, after.assignee_id) == (current.version, S.IN_PROGRESS, agent2.pk)
    assert counts == (
        history_counts(case),
        Escalation.objects.count(),
        Notification.objects.count(),
        Note.objects.count(),
    )


def test_stale_accept_and_return_are_conflicts(agent, specialist):
    case = taken(agent)
    escalate(case, agent)
    seen = fresh(case).version
    workflow.case_accept(case_id=case.pk, actor=specialist)
    for act in (
        lambda: workflow.case_accept(case_id=case.pk, actor=specialist, version=seen),
        lambda: workflow.case_return(case_id=case.pk, actor=specialist, reason="no", version=seen),
    ):
        with pytest.raises(Conflict):
            act()
    assert Escalation.objects.get(case=case).status == "accepted"


# -- side effects after commit -------------------------------------------------------------------


@pytest.fixture
def l2_team(db):
    return TeamFactory(name="Specialists", level=level("L2"), email="specialists@example.com")


def test_escalation_queues_notifications_sent_after_commit(agent, l2_team, django_capture_on_commit_callbacks):
    case = taken(agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        esc = escalate(case, agent)
        rows = list(Notification.objects.filter(case=case, event="escalated"))
        assert [(r.recipient, r.status) for r in rows] == [("specialists@example.com", "pending")]
        assert mail.outbox == []  # nothing leaves before the commit
    assert callbacks
    row = Notification.objects.get(case=case, event="escalated")
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert row.dedupe_key.startswith(f"escalated:{esc.pk}:")
    sent = [m for m in mail.outbox if m.to == ["specialists@example.com"]]
    assert len(sent) == 1
    assert sent[0].subject == f"[L2] Escalation: case #{case.pk} {case.title}"
    assert HANDOFF.summary in sent[0].body and HANDOFF.customer_impact in sent[0].body
    # Traceable to its outbox row, and a Message-ID of ours naming it (replies thread, loops are caught).
    assert sent[0].extra_headers == {"X-Escalation-Notice": str(row.pk), "Message-ID": outbox.notice_message_id(row.pk)}


def test_notifications_wait_for_the_commit(agent, l2_team, django_capture_on_commit_callbacks):
    case = taken(agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        escalate(case, agent)
    assert len(callbacks) >= 1
    assert mail.outbox == []
    assert Notification.objects.get(case=case, event="escalated").status == "pending"


def test_a_jump_notice_says_it_skipped(agent, django_capture_on_commit_callbacks):
    TeamFactory(name="Seniors", level=level("L3"), email="seniors@example.com")
    case = taken(agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        escalate(case, agent, to_level_code="L3", justification="Data loss")
    [message] = [m for m in mail.outbox if m.to == ["seniors@example.com"]]
    assert message.subject.startswith("[L3] Skip-level jump")
    assert "Justification: Data loss" in message.body


def test_escalation_notifies_the_team_of_the_path_step(agent, l2_team, django_capture_on_commit_callbacks):
    """With a path naming teams, the notice goes to the step's team, not the whole level."""
    category = CategoryFactory(code="payments")
    l1_team = TeamFactory(name="Payments desk", level=level("L1"), email="pay-desk@example.com")
    l2_pay = TeamFactory(name="Payments experts", level=level("L2"), email="pay-experts@example.com")
    path = EscalationPath.objects.create(name="Payments", category=category)
    PathStep.objects.create(path=path, order=1, level=level("L1"), team=l1_team)
    PathStep.objects.create(path=path, order=2, level=level("L2"), team=l2_pay)
    case = taken(agent, category=category)
    assert fresh(case).team == l1_team
    with django_capture_on_commit_callbacks(execute=True):
        esc = escalate(case, agent)
    assert esc.to_team == l2_pay and fresh(case).team == l2_pay
    assert list(Notification.objects.filter(case=case, event="escalated").values_list("recipient", flat=True)) == [
        "pay-experts@example.com"
    ]


def test_return_notifies_the_previous_assignee(agent, specialist, django_capture_on_commit_callbacks):
    case = taken(agent)
    escalate(case, agent)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.case_return(case_id=case.pk, actor=specialist, reason="KB-7 covers it")
    [message] = [m for m in mail.outbox if m.to == [agent.email]]
    assert "KB-7 covers it" in message.body


def test_approval_request_notifies_the_deciding_level(agent, l2_team, django_capture_on_commit_callbacks):
    case = taken(agent)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approval_request(case_id=case.pk, actor=agent, kind="spend", amount="100", description="New cable")
    row = Notification.objects.get(case=case, event="approval_requested")
    assert (row.recipient, row.status) == ("specialists@example.com", "sent")


def test_a_refused_action_queues_nothing(agent, auditor, l2_team, django_capture_on_commit_callbacks):
    case = taken(agent)
    notifications = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(NotAllowed):
            escalate(case, auditor)
        with pytest.raises(InvalidAction):
            escalate(case, agent, handoff=workflow.Handoff(summary="", steps_tried="", customer_impact=""))
    assert callbacks == []
    assert Notification.objects.count() == notifications


# -- bad input: clear errors, no partial writes -----------------------------------------------


def _everything(case=None) -> tuple:
    return (
        Case.history.count(),
        Case.objects.count(),
        Escalation.objects.count(),
        Escalation.history.count(),
        Notification.objects.count(),
        Note.objects.count(),
        ApprovalRequest.objects.count(),
        Review.objects.count(),
        fresh(case).version if case else None,
    )


BAD_ESCALATIONS = {
    "blank summary": (dict(handoff=workflow.Handoff("", "tried", "impact")), "summary"),
    "blank steps": (dict(handoff=workflow.Handoff("summary", " ", "impact")), "steps_tried"),
    "blank impact": (dict(handoff=workflow.Handoff("summary", "tried", "")), "customer_impact"),
    "unknown level": (dict(to_level_code="LEVEL-9"), "to_level"),
    "same level": (dict(to_level_code="L1"), "to_level"),
    "unjustified jump": (dict(to_level_code="EXEC"), "justification"),
}


@pytest.mark.parametrize("bad", list(BAD_ESCALATIONS))
def test_a_bad_escalation_writes_nothing(agent, l2_team, bad, django_capture_on_commit_callbacks):
    kwargs, field = BAD_ESCALATIONS[bad]
    case = taken(agent)
    before = _everything(case)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(InvalidAction) as exc:
            escalate(case, agent, **kwargs)
    assert field in exc.value.errors
    assert exc.value.message
    assert callbacks == []
    assert _everything(case) == before
    assert fresh(case).status == S.IN_PROGRESS


@pytest.mark.parametrize("status", [S.CLOSED, S.RESOLVED])
def test_escalating_a_finished_case_writes_nothing(agent, l2_team, status):
    case = taken(agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed")
    if status == S.CLOSED:
        workflow.case_close(case_id=case.pk, actor=agent)
    before = _everything(case)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent)
    assert status.label.lower() in exc.value.message
    assert _everything(case) == before


MISSING_CASE_ACTIONS = {
    "take": lambda cid, u: workflow.case_take(case_id=cid, actor=u),
    "assign": lambda cid, u: workflow.case_assign(case_id=cid, actor=u, assignee_id=u.pk),
    "pause": lambda cid, u: workflow.case_pause(case_id=cid, actor=u, reason="x"),
    "escalate": lambda cid, u: workflow.case_escalate(case_id=cid, actor=u, handoff=HANDOFF),
    "accept": lambda cid, u: workflow.case_accept(case_id=cid, actor=u),
    "return": lambda cid, u: workflow.case_return(case_id=cid, actor=u, reason="x"),
    "de_escalate": lambda cid, u: workflow.case_de_escalate(case_id=cid, actor=u, reason="x"),
    "resolve": lambda cid, u: workflow.case_resolve(case_id=cid, actor=u, summary="x"),
    "reopen": lambda cid, u: workflow.case_reopen(case_id=cid, actor=u, reason="x"),
    "close": lambda cid, u: workflow.case_close(case_id=cid, actor=u),
    "note": lambda cid, u: workflow.case_note(case_id=cid, actor=u, body="x"),
    "public_update": lambda cid, u: workflow.case_public_update(case_id=cid, actor=u, body="x"),
    "approval_request": lambda cid, u: workflow.approval_request(
        case_id=cid, actor=u, kind="spend", amount="5", description="x"
    ),
    "review": lambda cid, u: workflow.case_review(case_id=cid, actor=u, root_cause="x"),
}


@pytest.mark.parametrize("case_id", [987654321, "987654321", "abc", None])
@pytest.mark.parametrize("action", list(MISSING_CASE_ACTIONS))
def test_a_missing_case_is_a_clear_error(manager, action, case_id):
    open_case(manager)
    before = _everything()
    with pytest.raises(InvalidAction) as exc:
        MISSING_CASE_ACTIONS[action](case_id, manager)
    assert f"There is no case #{case_id}" in exc.value.message
    assert _everything() == before


def test_missing_handoff_fields_are_all_named(agent):
    case = taken(agent)
    with pytest.raises(InvalidAction) as exc:
        escalate(case, agent, handoff=workflow.Handoff(summary=" ", steps_tried="", customer_impact="\t"))
    assert set(exc.value.errors) == {"summary", "steps_tried", "customer_impact"}
    for message in exc.value.errors.values():
        assert message in exc.value.message


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", " "),
        ("requester_name", ""),
        ("requester_email", ""),
        ("impact", 0),
        ("urgency", 4),
        ("complexity", "extreme"),
        ("customer_tier", "gold"),
    ],
)
def test_open_refuses_incomplete_input_and_writes_nothing(agent, field, value):
    before = _everything()
    with pytest.raises(InvalidAction) as exc:
        open_case(agent, **{field: value})
    assert field in exc.value.errors
    assert _everything() == before


# -- priority ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "impact, urgency, priority",
    [
        (1, 1, 1),
        (1, 2, 2),
        (2, 1, 2),
        (2, 2, 3),
        (1, 3, 3),
        (3, 1, 3),
        (2, 3, 4),
        (3, 2, 4),
        (3, 3, 4),
    ],
)
def test_priority_from_impact_and_urgency(agent, impact, urgency, priority):
    assert priority_for(impact, urgency) == priority
    assert open_case(agent, impact=impact, urgency=urgency).priority == priority


# -- SLA due times from the frozen policy ----------------------------------------------------


def test_p1_at_l1_is_due_in_15_minutes(agent):
    case = open_case(agent, impact=1, urgency=1)
    assert case.priority == 1
    assert case.policy_snapshot["policy"] == "Standard 24x7"
    assert case.policy_snapshot["calendar"]["name"] == "24x7"
    assert case.response_due_at == case.opened_at + timedelta(minutes=15)
    assert case.resolution_due_at == case.opened_at + timedelta(hours=4)
    assert fresh(case).response_due_at == case.opened_at + timedelta(minutes=15)


@pytest.mark.parametrize(
    "impact, urgency, response, resolution",
    [
        (1, 2, timedelta(minutes=15), timedelta(hours=8)),  # P2
        (2, 2, timedelta(minutes=30), timedelta(hours=12)),  # P3
        (3, 3, timedelta(minutes=60), timedelta(hours=20)),  # P4
    ],
)
def test_lower_priorities_get_longer_targets(agent, impact, urgency, response, resolution):
    case = open_case(agent, impact=impact, urgency=urgency)
    assert case.response_due_at - case.opened_at == response
    assert case.resolution_due_at - case.opened_at == resolution


def test_escalation_restarts_the_response_clock_at_the_new_level(clock, agent):
    case = open_case(agent, impact=1, urgency=1)
    opened = clock.now
    clock.advance(minutes=10)
    workflow.case_take(case_id=case.pk, actor=agent)
    escalated_at = clock.advance(minutes=20)
    escalate(case, agent)
    case = fresh(case)
    assert case.level_entered_at == escalated_at
    assert case.responded_at is None
    # The new level's own OLA restarts; the customer's SLA does not move (docs/counting-time.md).
    assert case.ola_response_due_at == escalated_at + timedelta(hours=1)
    assert case.ola_work_due_at == escalated_at + timedelta(hours=8)
    assert case.response_due_at == opened + timedelta(minutes=15)
    assert case.resolution_due_at == opened + timedelta(hours=4)


def test_accepting_answers_the_new_level(clock, specialist, agent):
    case = taken(agent, impact=1, urgency=1)
    clock.advance(minutes=5)
    escalate(case, agent)
    accepted_at = clock.advance(minutes=40)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    case = fresh(case)
    assert case.responded_at == accepted_at
    assert case.ola_response_breached_at is None


def test_a_missed_response_is_recorded_at_the_next_write(clock, agent):
    case = open_case(agent, impact=1, urgency=1)
    clock.advance(minutes=16)
    workflow.case_take(case_id=case.pk, actor=agent)
    case = fresh(case)
    assert case.response_breached_at == case.opened_at + timedelta(minutes=15)


def test_each_level_has_its_own_response_breach(clock, agent, specialist):
    case = open_case(agent, impact=1, urgency=1)
    opened = clock.now
    clock.advance(minutes=16)
    workflow.case_take(case_id=case.pk, actor=agent)
    assert fresh(case).ola_response_breached_at == opened + timedelta(minutes=15)

    escalated_at = clock.advance(minutes=4)
    escalate(case, agent)
    case = fresh(case)
    assert case.ola_response_breached_at is None  # a new level, a new OLA response clock
    assert case.ola_response_due_at == escalated_at + timedelta(hours=1)
    assert case.response_breached_at == opened + timedelta(minutes=15)  # the customer's stays

    clock.advance(minutes=70)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    assert fresh(case).ola_response_breached_at == escalated_at + timedelta(hours=1)


def test_editing_the_live_policy_does_not_change_running_cases(clock, agent):
    case = open_case(agent, impact=1, urgency=1)
    frozen = case.policy_snapshot
    opened = case.opened_at

    policy = SlaPolicy.objects.default()
    for code in ("L1", "L2"):
        SlaTarget.objects.create(
            policy=policy, level=level(code), priority=1, response=timedelta(minutes=1), resolution=timedelta(minutes=2)
        )
        lv = level(code)
        lv.response_target, lv.resolution_target = timedelta(minutes=3), timedelta(minutes=4)
        lv.save()
    office = SlaPolicy.objects.get(name="Business hours")
    SlaPolicy.objects.filter(pk=policy.pk).update(is_default=False)
    SlaPolicy.objects.filter(pk=office.pk).update(is_default=True)

    clock.advance(minutes=5)
    workflow.case_take(case_id=case.pk, actor=agent)  # every write recomputes the clock
    case = fresh(case)
    assert case.policy_snapshot == frozen
    assert case.response_due_at == opened + timedelta(minutes=15)
    assert case.resolution_due_at == opened + timedelta(hours=4)

    escalated_at = clock.advance(minutes=5)
    escalate(case, agent)
    case = fresh(case)
    assert case.ola_response_due_at == escalated_at + timedelta(hours=1)  # L2's OLA, frozen targets
    assert case.resolution_due_at == opened + timedelta(hours=4)  # the SLA does not move
    assert case.policy_snapshot == frozen


def test_a_new_case_follows_the_policy_in_force(clock, agent):
    policy = SlaPolicy.objects.default()
    SlaTarget.objects.create(
        policy=policy, level=level("L1"), priority=1, response=timedelta(minutes=5), resolution=timedelta(hours=1)
    )
    case = open_case(agent, impact=1, urgency=1)
    assert case.policy_snapshot["targets"]["L1"]["1"] == [300, 3600]
    assert case.response_due_at == clock.now + timedelta(minutes=5)
    assert case.resolution_due_at == clock.now + timedelta(hours=1)

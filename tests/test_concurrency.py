"""Two people acting on the same thing at once: one wins, the other gets a clear message,
nothing is lost or doubled. Real threads on real PostgreSQL connections and row locks.

``serialized_rollback`` restores the default data (levels, groups, policy) that the
data migration created, which a transactional test's flush would otherwise remove.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition

from escalations import workflow
from escalations.models import ApprovalRequest, Case, CaseStatus, Escalation, Level, Notification, Review
from escalations.workflow import Conflict, InvalidAction
from escalations.workflow.base import save

from .factories import HANDOFF, TeamFactory, open_case, staff

S = CaseStatus

# -- helpers ---------------------------------------------------------------------------------


def run_together(*calls, timeout: float = 30):
    """Run each call in its own thread, released together by a barrier.

    Returns one ``("ok", result)`` or ``("error", exception)`` per call, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def work(i, call):
        try:
            barrier.wait(timeout=timeout)
            outcomes[i] = ("ok", call())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    return threads, outcomes


def join(threads, timeout: float = 30) -> None:
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"


def race(*calls):
    threads, outcomes = run_together(*calls)
    join(threads)
    return outcomes


def waiting_on_locks() -> int:
    """Other sessions of this test database waiting for a lock right now."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cur.fetchone()[0]


def race_behind_a_lock(case_id: int, *calls):
    """Hold the case's row lock while both calls start, so both read the case before
    either may act; then let go. Whoever gets the lock second is the one who acted on
    a case that changed under them: the outcome no longer depends on thread timing."""
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case_id)
        threads, outcomes = run_together(*calls)
        deadline = time.monotonic() + 20
        while waiting_on_locks() < len(calls):
            assert time.monotonic() < deadline, "the workers never queued on the row lock"
            time.sleep(0.02)
    join(threads)
    return outcomes


def queue_behind_a_lock(case_id: int, *calls):
    """Like ``race_behind_a_lock`` but the calls queue on the row lock one after the
    other, in the order given; PostgreSQL grants a row lock to its waiters in turn."""
    outcomes: list = [None] * len(calls)
    threads = []

    def work(i, call):
        try:
            outcomes[i] = ("ok", call())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case_id)
        for i, call in enumerate(calls):
            threads.append(threading.Thread(target=work, args=(i, call)))
            threads[-1].start()
            deadline = time.monotonic() + 20
            while waiting_on_locks() < i + 1:
                assert time.monotonic() < deadline, f"worker {i} never queued on the row lock"
                time.sleep(0.02)
    join(threads)
    return outcomes


def split(outcomes):
    wins = [value for kind, value in outcomes if kind == "ok"]
    losses = [value for kind, value in outcomes if kind == "error"]
    return wins, losses


def escalate(case_id, actor, **kwargs):
    return lambda: workflow.case_escalate(case_id=case_id, actor=actor, handoff=HANDOFF, **kwargs)


def snapshot(case) -> dict:
    return {
        "case_history": Case.history.filter(id=case.pk).count(),
        "escalations": Escalation.objects.filter(case=case).count(),
        "escalation_history": Escalation.history.filter(case_id=case.pk).count(),
        "version": Case.objects.get(pk=case.pk).version,
        "notifications": Notification.objects.filter(case=case).count(),
    }


@pytest.fixture
def l2_team(db):
    return TeamFactory(name="Specialists", level=Level.objects.get(code="L2"), email="l2@example.com")


@pytest.fixture
def specialist2(db):
    return staff("Specialist", "sol")


def escalated_case(agent):
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    return Case.objects.get(pk=case.pk)


# -- two escalations of one case -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_agents_escalating_at_once_escalate_once(agent, agent2, l2_team):
    case = workflow.case_take(case_id=open_case(agent).pk, actor=agent)
    before = snapshot(case)

    outcomes = race(escalate(case.pk, agent), escalate(case.pk, agent2))

    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    winner = wins[0].raised_by
    esc = Escalation.objects.get(case=case)
    assert esc.status == "pending" and esc.raised_by == winner and esc.to_level.code == "L2"
    assert snapshot(case) == {
        **before,
        "case_history": before["case_history"] + 1,
        "escalations": 1,
        "escalation_history": 1,
        "version": before["version"] + 1,
        "notifications": before["notifications"] + 1,
    }
    case.refresh_from_db()
    assert (case.status, case.level.code, case.escalation_count) == (S.ESCALATED, "L2", 1)
    # The loser is told what happened, whichever moment it read the case at.
    [loss] = losses
    assert isinstance(loss, (Conflict, InvalidAction)), repr(loss)
    if isinstance(loss, Conflict):
        assert "changed since you opened it" in loss.message and "escalated" in loss.message
    else:  # it read the case after the winner committed: told plainly it is escalated already
        assert "it is escalated" in loss.message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_escalation_that_waited_for_the_lock_gets_a_conflict(agent, agent2, l2_team):
    case = workflow.case_take(case_id=open_case(agent).pk, actor=agent)
    before = snapshot(case)

    outcomes = race_behind_a_lock(case.pk, escalate(case.pk, agent), escalate(case.pk, agent2))

    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert Escalation.objects.filter(case=case).count() == 1
    assert snapshot(case)["case_history"] == before["case_history"] + 1
    assert snapshot(case)["version"] == before["version"] + 1
    assert isinstance(losses[0], Conflict), repr(losses[0])
    assert f"Case #{case.pk} changed since you opened it" in losses[0].message
    assert "it is now escalated (awaiting acceptance) at L2" in losses[0].message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_jump_and_an_escalation_at_once_leave_one_handoff(agent, agent2):
    case = workflow.case_take(case_id=open_case(agent).pk, actor=agent)
    outcomes = race_behind_a_lock(
        case.pk, escalate(case.pk, agent), escalate(case.pk, agent2, to_level_code="L3", justification="Outage")
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    case.refresh_from_db()
    assert case.level_id == wins[0].to_level_id
    assert list(Escalation.objects.filter(case=case)) == [wins[0]]
    assert isinstance(losses[0], Conflict), repr(losses[0])


# -- accept against return -----------------------------------------------------------------------


def _check_decided(case, winner_call, esc_before, history_before, version_before, agent, winner):
    esc = Escalation.objects.get(case=case)
    case.refresh_from_db()
    if winner_call == "accept":
        assert esc.status == "accepted"
        assert (case.status, case.level.code, case.assignee) == (S.IN_PROGRESS, "L2", winner)
    else:
        assert esc.status == "returned" and esc.return_reason == "Belongs at L1"
        assert (case.status, case.level.code, case.assignee) == (S.IN_PROGRESS, "L1", agent)
    assert esc.decided_by == winner
    returned_notices = Notification.objects.filter(case=case, event="returned").count()
    assert returned_notices == (1 if winner_call == "return" else 0)
    assert Escalation.objects.filter(case=case).count() == 1
    assert Escalation.history.filter(id=esc.pk).count() == esc_before + 1
    assert Case.history.filter(id=case.pk).count() == history_before + 1
    assert case.version == version_before + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_accept_against_return_with_the_page_version(agent, specialist, specialist2):
    case = escalated_case(agent)
    seen = case.version  # both specialists opened the case page at this version
    esc_history = Escalation.history.filter(case_id=case.pk).count()
    history = Case.history.filter(id=case.pk).count()

    outcomes = race(
        lambda: workflow.case_accept(case_id=case.pk, actor=specialist, version=seen),
        lambda: workflow.case_return(case_id=case.pk, actor=specialist2, reason="Belongs at L1", version=seen),
    )

    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    winner_call = "accept" if outcomes[0][0] == "ok" else "return"
    winner = specialist if winner_call == "accept" else specialist2
    _check_decided(case, winner_call, esc_history, history, seen, agent, winner)
    assert isinstance(losses[0], Conflict), repr(losses[0])
    assert "changed since you opened it" in losses[0].message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("first", ["accept", "return"])
def test_accept_against_return_the_second_in_line_gets_a_conflict(agent, specialist, specialist2, first):
    """Both read the case, then queue on its row lock in a known order (no version given:
    the workflow reads it just before locking)."""
    case = escalated_case(agent)
    esc_history = Escalation.history.filter(case_id=case.pk).count()
    history = Case.history.filter(id=case.pk).count()
    calls = {
        "accept": lambda: workflow.case_accept(case_id=case.pk, actor=specialist),
        "return": lambda: workflow.case_return(case_id=case.pk, actor=specialist2, reason="Belongs at L1"),
    }
    second = "return" if first == "accept" else "accept"

    outcomes = queue_behind_a_lock(case.pk, calls[first], calls[second])

    assert outcomes[0][0] == "ok", outcomes
    assert outcomes[1][0] == "error", outcomes
    winner = specialist if first == "accept" else specialist2
    _check_decided(case, first, esc_history, history, case.version, agent, winner)
    loss = outcomes[1][1]
    assert isinstance(loss, Conflict), repr(loss)
    assert f"Case #{case.pk} changed since you opened it" in loss.message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_specialists_accepting_at_once(agent, specialist, specialist2):
    case = escalated_case(agent)
    history = Case.history.filter(id=case.pk).count()
    outcomes = race(
        lambda: workflow.case_accept(case_id=case.pk, actor=specialist),
        lambda: workflow.case_accept(case_id=case.pk, actor=specialist2),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], (Conflict, InvalidAction)), repr(losses[0])
    esc = Escalation.objects.get(case=case)
    case.refresh_from_db()
    assert esc.status == "accepted" and esc.decided_by == case.assignee == wins[0].decided_by
    assert Escalation.history.filter(id=esc.pk).count() == 2
    assert Case.history.filter(id=case.pk).count() == history + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_agents_taking_a_new_case_from_the_queue(agent, agent2):
    case = open_case(agent)
    seen = case.version
    outcomes = race(
        lambda: workflow.case_take(case_id=case.pk, actor=agent, version=seen),
        lambda: workflow.case_take(case_id=case.pk, actor=agent2, version=seen),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1 and isinstance(losses[0], Conflict), outcomes
    case.refresh_from_db()
    assert case.assignee_id == wins[0].assignee_id
    assert case.reassignment_count == 0
    assert Case.history.filter(id=case.pk).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_deciders_at_once_decide_once(agent, specialist, specialist2):
    case = workflow.case_take(case_id=open_case(agent).pk, actor=agent)
    req = workflow.approval_request(
        case_id=case.pk, actor=agent, kind="spend", amount="200", description="Replacement headset"
    )
    outcomes = race(
        lambda: workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True),
        lambda: workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=False, note="No budget"),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], InvalidAction) and "already" in losses[0].message
    req.refresh_from_db()
    assert req.status == wins[0].status and req.decided_by == wins[0].decided_by
    assert ApprovalRequest.history.filter(id=req.pk).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reviewers_at_once_write_one_review(agent, specialist, senior, expert):
    case = escalated_case(agent)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    workflow.case_resolve(case_id=case.pk, actor=specialist, summary="Rolled back the deploy")
    workflow.case_close(case_id=case.pk, actor=specialist)
    outcomes = race(
        lambda: workflow.case_review(case_id=case.pk, actor=senior, root_cause="Bad deploy"),
        lambda: workflow.case_review(case_id=case.pk, actor=expert, root_cause="Missing canary"),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1 and len(losses) == 1, outcomes
    review = Review.objects.get(case=case)
    assert (review.reviewer, review.root_cause) == (wins[0].reviewer, wins[0].root_cause)
    assert Review.history.filter(id=review.pk).count() == 1
    assert isinstance(losses[0], InvalidAction), repr(losses[0])
    assert "already has a completed review" in losses[0].message


# -- ConcurrentTransitionMixin on its own -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stale_copy_cannot_save_a_transition(agent, agent2):
    case = open_case(agent)
    stale = Case.objects.get(pk=case.pk)  # read without a lock, like a second browser tab
    workflow.case_take(case_id=case.pk, actor=agent)
    history = Case.history.filter(id=case.pk).count()

    stale.take(agent2, timezone.now())  # new -> in_progress in memory, from a state that is gone
    with pytest.raises(ConcurrentTransition):
        with transaction.atomic():
            stale.save()

    current = Case.objects.get(pk=case.pk)
    assert current.assignee == agent
    assert Case.history.filter(id=case.pk).count() == history


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_workflow_save_turns_a_stale_transition_into_a_conflict(agent, agent2):
    case = workflow.case_take(case_id=open_case(agent).pk, actor=agent)
    stale = Case.objects.get(pk=case.pk)
    workflow.case_pause(case_id=case.pk, actor=agent, reason="Waiting for logs")
    history = Case.history.filter(id=case.pk).count()

    stale.resolve("Fixed it", timezone.now())  # in_progress -> resolved, but it is paused now
    with pytest.raises(Conflict) as exc:
        with transaction.atomic():
            save(stale, agent2, "Resolved")
    assert f"#{case.pk} changed while you acted" in exc.value.message

    current = Case.objects.get(pk=case.pk)
    assert current.status == S.AWAITING_CUSTOMER and current.resolution_summary == ""
    assert Case.history.filter(id=case.pk).count() == history


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stale_escalation_copy_cannot_be_accepted_after_a_return(agent, specialist):
    case = escalated_case(agent)
    stale = Escalation.objects.get(case=case)
    workflow.case_return(case_id=case.pk, actor=specialist, reason="Belongs at L1")

    stale.accept(specialist, timezone.now())
    with pytest.raises(ConcurrentTransition):
        with transaction.atomic():
            stale.save()
    assert Escalation.objects.get(case=case).status == "returned"

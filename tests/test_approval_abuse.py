"""Abuse of approvals and authority (issue 14, finding 3; issue 11, point 3), through the
workflow and through the pages: self-approval, deciding on one's own case, splitting an
amount under the limit, a manager raising their own level, decisions after closure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from escalations import selectors, workflow
from escalations.automation.sweep import run_sweep
from escalations.models import (
    ApprovalRequest,
    ApprovalStatus,
    AuthorityChange,
    AuthorityGrant,
    Case,
    CaseStatus,
    Level,
    Notification,
    StaffProfile,
    TriggerRule,
)
from escalations.templatetags.desk import money

from .factories import HANDOFF, TeamFactory, fresh, level, open_case, staff

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def l2_case(agent, specialist):
    """Opened by the agent at L1, escalated, accepted by the specialist (who owns it at L2)."""
    case = open_case(agent)
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    return fresh(case)


@pytest.fixture
def specialist2(db):
    return staff("Specialist", "sasha")


def ask(case, actor, amount="500", kind="spend"):
    return workflow.approval_request(case_id=case.pk, actor=actor, kind=kind, amount=amount, description="Buy it")


# -- nobody decides their own request, their own case, or a case they opened --------------------


def test_the_requester_may_not_approve_their_own_request(l2_case, specialist, specialist2):
    req = ask(l2_case, specialist)
    assert req.required_level.code == "L2"  # someone else at L2 (sasha) may decide it
    with pytest.raises(workflow.NotAllowed, match="you requested it"):
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True)
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING
    workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)
    assert ApprovalRequest.objects.get(pk=req.pk).decided_by == specialist2


def test_the_assignee_may_not_decide_a_request_on_their_case(l2_case, specialist, specialist2, manager):
    req = ask(l2_case, manager)
    with pytest.raises(workflow.NotAllowed, match="assigned to the case"):
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True)
    workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=False, note="Too dear")
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.REJECTED


def test_the_opener_may_not_decide_a_request_on_the_case_they_opened(specialist, specialist2, agent):
    case = open_case(specialist)  # a specialist opens a case (it starts at L1)
    req = ask(case, agent)
    with pytest.raises(workflow.NotAllowed, match="you opened the case"):
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True)
    workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)


def test_a_level_where_everyone_is_conflicted_is_passed_over_and_the_trail_says_so(l2_case, specialist, senior):
    req = ask(l2_case, specialist)  # the only L2 decider asks: L3 decides
    assert req.required_level.code == "L3"
    reason = req.history.earliest().history_change_reason
    assert "passed up to L3" in reason and "conflict of interest" in reason
    with pytest.raises(workflow.NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=specialist, approve=True)
    workflow.approval_decide(approval_id=req.pk, actor=senior, approve=True)


def test_no_independent_decider_anywhere_is_refused_with_a_reason(l2_case, specialist):
    for grant_level in ("L3", "L4", "EXEC"):  # only L2 may decide spends, and only the specialist is there
        AuthorityGrant.objects.filter(level=level(grant_level), kind="spend").delete()
    with pytest.raises(workflow.InvalidAction, match="conflict of interest"):
        ask(l2_case, specialist)
    assert not ApprovalRequest.objects.exists()


# -- the limit applies to the sum ---------------------------------------------------------------


def test_splitting_on_one_case_needs_the_level_that_may_approve_the_sum(l2_case, manager, specialist2, senior):
    # L2 may approve up to 1,000; three requests of 400 add up to 1,200.
    first, second, third = (ask(l2_case, manager, "400") for _ in range(3))
    assert [r.required_level.code for r in (first, second, third)] == ["L2", "L2", "L3"]
    workflow.approval_decide(approval_id=first.pk, actor=specialist2, approve=True)
    workflow.approval_decide(approval_id=second.pk, actor=specialist2, approve=True)
    with pytest.raises(workflow.NotAllowed, match=r"EUR 1,200\.00"):
        workflow.approval_decide(approval_id=third.pk, actor=specialist2, approve=True)
    workflow.approval_decide(approval_id=third.pk, actor=senior, approve=True)


def test_five_requests_of_1000_need_the_level_that_may_approve_5000(l2_case, manager, specialist2, senior, expert):
    reqs = [ask(l2_case, manager, "1000") for _ in range(5)]
    # L2 up to 1,000, L3 up to 10,000: the second request already counts 2,000.
    assert [r.required_level.code for r in reqs] == ["L2", "L3", "L3", "L3", "L3"]
    workflow.approval_decide(approval_id=reqs[0].pk, actor=specialist2, approve=True)
    for req in reqs[1:4]:
        with pytest.raises(workflow.NotAllowed):
            workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)
        workflow.approval_decide(approval_id=req.pk, actor=senior, approve=True)
    AuthorityGrant.objects.filter(level=level("L3"), kind="spend").update(limit=Decimal("4000"))
    with pytest.raises(workflow.NotAllowed, match=r"EUR 5,000\.00"):
        workflow.approval_decide(approval_id=reqs[4].pk, actor=senior, approve=True)
    workflow.approval_decide(approval_id=reqs[4].pk, actor=expert, approve=True)


def test_splitting_across_cases_counts_in_the_requesters_rolling_window(clock, agent, specialist, manager, settings):
    settings.APPROVAL_WINDOW_DAYS = 30
    one, two, three = (open_case(agent, title=f"Case {n}") for n in range(3))
    first = ask(one, manager, "600")
    workflow.approval_decide(approval_id=first.pk, actor=specialist, approve=True)
    second = ask(two, manager, "600")  # 1,200 within 30 days by the same requester
    assert second.required_level.code == "L3"
    workflow.approval_withdraw(approval_id=second.pk, actor=manager, reason="Asked wrongly")
    clock.advance(days=31)
    assert ask(three, manager, "600").required_level.code == "L2"  # the first approval left the window


# -- closed cases and pending approvals ----------------------------------------------------------


def test_resolving_with_a_pending_approval_is_refused_until_the_requester_withdraws(l2_case, specialist, manager):
    req = ask(l2_case, manager, "1250")
    with pytest.raises(workflow.InvalidAction) as refused:
        workflow.case_resolve(case_id=l2_case.pk, actor=specialist, summary="Fixed")
    assert f"#{req.pk} spend of EUR 1,250.00" in refused.value.message and "withdraw" in refused.value.message
    with pytest.raises(workflow.NotAllowed, match="Only the person who requested"):
        workflow.approval_withdraw(approval_id=req.pk, actor=specialist, reason="Not needed")
    with pytest.raises(workflow.InvalidAction):
        workflow.approval_withdraw(approval_id=req.pk, actor=manager, reason="")
    workflow.approval_withdraw(approval_id=req.pk, actor=manager, reason="Not needed any more")
    req.refresh_from_db()
    assert (req.status, req.decision_note) == (ApprovalStatus.CANCELLED, "Not needed any more")
    assert req.history.latest().history_action == "withdraw-approval"
    workflow.case_resolve(case_id=l2_case.pk, actor=specialist, summary="Fixed")
    with pytest.raises(workflow.InvalidAction, match="already cancelled"):
        workflow.approval_decide(approval_id=req.pk, actor=manager, approve=True)


def test_a_request_left_pending_on_a_closed_case_cannot_be_decided(l2_case, specialist, specialist2, manager):
    workflow.case_resolve(case_id=l2_case.pk, actor=specialist, summary="Fixed")
    workflow.case_close(case_id=l2_case.pk, actor=specialist)
    # A request from before these rules, still pending on a closed case.
    req = ApprovalRequest.objects.create(
        case=l2_case, kind="spend", amount=100, description="old", required_level=level("L2"), requested_by=manager
    )
    with pytest.raises(workflow.InvalidAction, match="closed; its approval requests can no longer be decided"):
        workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING
    assert fresh(l2_case).status == CaseStatus.CLOSED


# -- four eyes on authority ------------------------------------------------------------------


@pytest.fixture
def manager2(db):
    return staff("Manager", "mona")


@pytest.fixture
def manager3(db):
    return staff("Manager", "milo")


def test_a_manager_cannot_raise_their_own_level(manager, manager2):
    own = StaffProfile.objects.create(user=manager, level=level("L2"))
    with pytest.raises(workflow.NotAllowed, match="your own level"):
        workflow.authority_change_propose(
            actor=manager, what="staff_level", profile=own, level=level("EXEC"), reason="Promote me"
        )
    with pytest.raises(workflow.NotAllowed, match="your own level"):
        workflow.authority_change_propose(
            actor=manager, what="grant", level=level("L2"), kind="spend", limit=Decimal("1e9"), reason="More"
        )
    # Another manager proposes it; the subject may not approve it either.
    change = workflow.authority_change_propose(
        actor=manager2, what="staff_level", profile=own, level=level("EXEC"), reason="Promotion"
    )
    with pytest.raises(workflow.NotAllowed, match="your own level"):
        workflow.authority_change_decide(change_id=change.pk, actor=manager, approve=True)
    assert StaffProfile.objects.get(pk=own.pk).level.code == "L2"


def test_a_change_needs_a_second_manager_and_both_are_in_the_trail(manager, manager2, agent):
    profile = agent.staff_profile
    change = workflow.authority_change_propose(
        actor=manager, what="staff_level", profile=profile, level=level("L2"), reason="Passed the exam"
    )
    assert StaffProfile.objects.get(pk=profile.pk).level.code == "L1"  # nothing applied yet
    with pytest.raises(workflow.NotAllowed, match="four-eyes"):
        workflow.authority_change_decide(change_id=change.pk, actor=manager, approve=True)
    with pytest.raises(workflow.NotAllowed):
        workflow.authority_change_decide(change_id=change.pk, actor=agent, approve=True)  # not a manager
    workflow.authority_change_decide(change_id=change.pk, actor=manager2, approve=True, note="Agreed")
    profile = StaffProfile.objects.get(pk=profile.pk)
    assert profile.level.code == "L2"
    last = profile.history.latest()
    assert last.history_user == manager2 and "proposed by max" in last.history_change_reason
    trail = list(AuthorityChange.history.filter(id=change.pk).order_by("history_id"))
    assert [(h.history_user, h.status) for h in trail] == [(manager, "pending"), (manager2, "applied")]


def test_grant_changes_and_removals_go_through_four_eyes(manager, manager2):
    change = workflow.authority_change_propose(
        actor=manager, what="grant", level=level("L2"), kind="spend", limit=Decimal("2500"), reason="Bigger refunds"
    )
    assert AuthorityGrant.objects.get(level=level("L2"), kind="spend").limit == Decimal("1000")
    workflow.authority_change_decide(change_id=change.pk, actor=manager2, approve=True)
    assert AuthorityGrant.objects.get(level=level("L2"), kind="spend").limit == Decimal("2500")
    remove = workflow.authority_change_propose(
        actor=manager2, what="grant_remove", level=level("L2"), kind="spend", reason="Refunds move to L3"
    )
    with pytest.raises(workflow.InvalidAction):
        workflow.authority_change_decide(change_id=remove.pk, actor=manager, approve=False, note="")
    workflow.authority_change_decide(change_id=remove.pk, actor=manager, approve=True)
    assert not AuthorityGrant.objects.filter(level=level("L2"), kind="spend").exists()
    deleted = AuthorityGrant.history.filter(history_type="-").latest()
    assert deleted.history_user == manager and deleted.history_action == "decide-authority-change"


def test_level_rank_changes_go_through_four_eyes(manager, manager2):
    exec_level = level("EXEC")
    change = workflow.authority_change_propose(
        actor=manager, what="level_rank", level=exec_level, rank=50, reason="Room for a new tier"
    )
    workflow.authority_change_decide(change_id=change.pk, actor=manager2, approve=True)
    assert Level.objects.get(pk=exec_level.pk).rank == 50


# -- through the pages ---------------------------------------------------------------------------


def test_case_page_offers_no_decision_to_the_requester_and_a_withdraw_form(client, l2_case, specialist, specialist2):
    req = ask(l2_case, specialist, "1250")  # passed to L3? no: sasha is at L2
    client.force_login(specialist)
    page = client.get(reverse("case-detail", args=[l2_case.pk])).content.decode()
    assert "EUR 1,250.00" in page
    assert f'action="{reverse("approval-decide", args=[req.pk])}"' not in page
    assert f'action="{reverse("approval-withdraw", args=[req.pk])}"' in page
    refused = client.post(
        reverse("approval-decide", args=[req.pk]),
        {f"decide{req.pk}-decision": "approve", f"decide{req.pk}-note": ""},
    )
    assert refused.status_code == 403 and "separation of duties" in refused.content.decode()
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.PENDING
    resolve = client.post(
        reverse("case-action", args=[l2_case.pk, "resolve"]),
        {"resolve-summary": "Done", "resolve-version": fresh(l2_case).version},
    )
    assert resolve.status_code == 400 and "while approvals are pending" in resolve.content.decode()
    withdrawn = client.post(reverse("approval-withdraw", args=[req.pk]), {f"withdraw{req.pk}-reason": "Solved"})
    assert withdrawn.status_code == 302
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.CANCELLED
    client.force_login(specialist2)
    assert f'id="action-withdraw{req.pk}"' not in client.get(reverse("case-detail", args=[l2_case.pk])).content.decode()


def test_admin_grants_are_read_only_and_changes_are_proposed_then_approved(client, manager, manager2, agent):
    client.force_login(manager)
    assert client.get(reverse("admin:escalations_authoritygrant_add")).status_code == 403
    grant = AuthorityGrant.objects.get(level=level("L2"), kind="spend")
    assert client.post(reverse("admin:escalations_authoritygrant_change", args=[grant.pk]), {}).status_code == 403
    profile = agent.staff_profile
    posted = client.post(
        reverse("admin:escalations_staffprofile_change", args=[profile.pk]),
        {"level": level("EXEC").pk, "capacity": 7, "on_duty": "on", "customer_name": "first"},
    )
    assert posted.status_code == 302
    profile.refresh_from_db()
    assert (profile.level.code, profile.capacity) == ("L1", 7)  # level is read-only; the rest saved
    mine = client.post(
        reverse("admin:escalations_staffprofile_add"), {"user": manager.pk, "level": level("EXEC").pk, "capacity": 5}
    )
    assert mine.status_code == 200 and "cannot give yourself a staff profile" in mine.content.decode()
    proposed = client.post(
        reverse("admin:escalations_authoritychange_add"),
        {"what": "staff_level", "profile": profile.pk, "level": level("L2").pk, "reason": "Passed the exam"},
    )
    assert proposed.status_code == 302
    change = AuthorityChange.objects.get()
    same = client.post(reverse("admin:escalations_authoritychange_decide", args=[change.pk, "approve"]), {"note": ""})
    assert same.status_code == 302 and AuthorityChange.objects.get().status == "pending"
    client.force_login(manager2)
    client.post(reverse("admin:escalations_authoritychange_decide", args=[change.pk, "approve"]), {"note": "ok"})
    assert AuthorityChange.objects.get().status == "applied"
    assert StaffProfile.objects.get(pk=profile.pk).level.code == "L2"


# -- money and the demo --------------------------------------------------------------------------


def test_amounts_show_with_their_currency_and_thousands_separators(settings):
    assert money(Decimal("1234567.5"), "USD") == "USD 1,234,567.50"
    settings.APPROVAL_CURRENCY = "CHF"
    assert money(5000) == "CHF 5,000.00"
    assert money(None) == "" and money("junk") == "junk"


def test_requests_carry_the_configured_currency(l2_case, manager, settings):
    settings.APPROVAL_CURRENCY = "GBP"
    req = ask(l2_case, manager, "1,500")
    assert (req.currency, req.amount) == ("GBP", Decimal("1500.00"))
    assert str(req) == "Spend GBP 1,500.00 (Pending)"


# -- a pending request follows its case -----------------------------------------------------------


def test_a_request_is_rerouted_when_the_new_assignee_was_the_only_one_free_to_decide(
    l2_case, specialist, specialist2, senior
):
    req = ask(l2_case, specialist)  # the specialist asks on their own case: sasha decides at L2
    assert req.required_level.code == "L2"
    workflow.case_assign(case_id=l2_case.pk, actor=specialist, assignee_id=specialist2.pk)
    req.refresh_from_db()
    assert req.required_level.code == "L3"  # nobody at L2 is free of a conflict now
    newest = req.history.latest()
    assert newest.history_change_reason == (
        "Re-routed L2 -> L3: nobody at L2 may decide it without a conflict of interest now"
    )
    assert newest.history_user == specialist and newest.history_action == "assign"
    with pytest.raises(workflow.NotAllowed, match="assigned to the case"):
        workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)
    assert req in selectors.approvals_to_decide(senior)  # on the senior's "Approvals waiting"
    workflow.approval_decide(approval_id=req.pk, actor=senior, approve=True)


def test_a_request_left_below_the_case_level_goes_up_with_an_escalation(
    l2_case, specialist, specialist2, manager, senior
):
    req = ask(l2_case, manager)
    assert req.required_level.code == "L2"
    workflow.case_escalate(case_id=l2_case.pk, actor=specialist, handoff=HANDOFF)
    req.refresh_from_db()
    assert req.required_level.code == "L3"
    assert req.history.latest().history_change_reason == "Re-routed L2 -> L3: the case is now at L3"
    with pytest.raises(workflow.NotAllowed):
        workflow.approval_decide(approval_id=req.pk, actor=specialist2, approve=True)  # cannot see an L3 case
    sena = staff("Senior", "sena")
    workflow.case_accept(case_id=l2_case.pk, actor=senior)
    req.refresh_from_db()
    assert req.required_level.code == "L3"  # sena is free at L3: it stays
    with pytest.raises(workflow.NotAllowed, match="assigned to the case"):
        workflow.approval_decide(approval_id=req.pk, actor=senior, approve=True)
    workflow.approval_decide(approval_id=req.pk, actor=sena, approve=True)


def test_the_sweep_takes_pending_requests_up_with_the_case(agent, specialist2, manager):
    TriggerRule.objects.update(is_active=False)
    TriggerRule.objects.create(
        name="Escalate P1 at once", order=1, level=level("L1"), condition=TriggerRule.Condition.PRIORITY,
        params={"at_most": 4}, action=TriggerRule.Action.ESCALATE_NEXT,
    )  # fmt: skip
    TeamFactory(name="Second", level=level("L2"), email="second@example.com")
    case = open_case(staff("Agent", "arno"))
    AuthorityGrant.objects.create(level=level("L1"), kind="spend", limit=Decimal("1000"))
    req = ask(case, manager)
    assert req.required_level.code == "L1"  # the agent may decide it at L1
    run_sweep(now=timezone.now() + timedelta(seconds=5))
    assert Case.objects.get(pk=case.pk).level.code == "L2"
    req.refresh_from_db()
    assert req.required_level.code == "L2"
    assert req.history.latest().history_change_reason == "Re-routed L1 -> L2: the case is now at L2"
    notice = Notification.objects.get(case=case, event="approval_requested", body__contains="re-routed to L2")
    assert notice.recipient == "second@example.com"  # the level it now waits at is told
    call_command("verify_audit")


def test_a_request_someone_may_still_decide_is_not_moved(l2_case, specialist, specialist2, manager):
    req = ask(l2_case, manager)
    workflow.case_assign(case_id=l2_case.pk, actor=specialist, assignee_id=specialist2.pk)
    req.refresh_from_db()
    assert req.required_level.code == "L2" and req.history.count() == 1  # the specialist is free now

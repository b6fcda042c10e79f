"""escalations.authority: who may work, receive, decide; where approvals are routed."""

from decimal import Decimal

import pytest

from escalations.domain import authority
from escalations.models import AuthorityGrant, Case, Level, StaffProfile
from escalations.selectors import approvals

from .factories import UserFactory, staff

pytestmark = pytest.mark.django_db


def case_at(code: str) -> Case:
    """The authority functions read only the case's level: an unsaved case is enough."""
    return Case(level=Level.objects.get(code=code))


@pytest.fixture
def everyone(agent, specialist, senior, expert, executive, manager, auditor):
    return {
        "agent": agent,
        "specialist": specialist,
        "senior": senior,
        "expert": expert,
        "executive": executive,
        "manager": manager,
        "auditor": auditor,
    }


# -- user_level / is_manager -----------------------------------------------------------------


@pytest.mark.parametrize(
    "who, code",
    [
        ("agent", "L1"),
        ("specialist", "L2"),
        ("senior", "L3"),
        ("expert", "L4"),
        ("executive", "EXEC"),
        ("manager", None),
        ("auditor", None),
    ],
)
def test_user_level_is_the_staff_profile_level(everyone, who, code):
    level = authority.user_level(everyone[who])
    assert (level.code if level else None) == code


def test_user_level_of_a_user_without_profile_is_none():
    assert authority.user_level(UserFactory(username="nobody")) is None


def test_only_managers_manage(everyone):
    assert [w for w, u in everyone.items() if authority.is_manager(u)] == ["manager"]


def test_an_inactive_manager_is_no_manager():
    boss = staff("Manager", "gone-boss", is_active=False)
    assert not authority.is_manager(boss)


# -- can_work: by level rank ------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, allowed",
    [
        ("L1", {"agent", "specialist", "senior", "expert", "executive", "manager"}),
        ("L2", {"specialist", "senior", "expert", "executive", "manager"}),
        ("L3", {"senior", "expert", "executive", "manager"}),
        ("L4", {"expert", "executive", "manager"}),
        ("EXEC", {"executive", "manager"}),
    ],
)
def test_can_work_at_the_case_level_or_above(everyone, code, allowed):
    case = case_at(code)
    assert {w for w, u in everyone.items() if authority.can_work(case, u)} == allowed


def test_can_work_needs_an_active_user_with_the_work_permission():
    assert not authority.can_work(case_at("L1"), staff("Senior", "retired", is_active=False))
    # A level alone is not enough: the role gives the permission.
    no_role = UserFactory(username="levelled")
    StaffProfile.objects.create(user=no_role, level=Level.objects.get(code="EXEC"))
    assert not authority.can_work(case_at("L1"), no_role)


def test_can_escalate_and_can_close_follow_can_work(everyone):
    l2 = case_at("L2")
    assert not authority.can_escalate(l2, everyone["agent"])
    assert authority.can_escalate(l2, everyone["specialist"])
    assert not authority.can_close(l2, everyone["agent"])
    assert authority.can_close(l2, everyone["senior"])
    assert not authority.can_escalate(l2, everyone["auditor"])
    assert not authority.can_close(l2, everyone["auditor"])


# -- can_receive: only the case's level (or a manager) -----------------------------------------


@pytest.mark.parametrize(
    "code, allowed",
    [
        ("L1", {"manager"}),  # agents may not accept escalations at all
        ("L2", {"specialist", "manager"}),
        ("L3", {"senior", "manager"}),
        ("L4", {"expert", "manager"}),
        ("EXEC", {"executive", "manager"}),
    ],
)
def test_can_receive_only_at_the_case_level(everyone, code, allowed):
    case = case_at(code)
    assert {w for w, u in everyone.items() if authority.can_receive(case, u)} == allowed


def test_can_receive_refuses_inactive_staff():
    assert not authority.can_receive(case_at("L2"), staff("Specialist", "left", is_active=False))


def test_can_deescalate_follows_can_receive(everyone):
    l3 = case_at("L3")
    assert {w for w, u in everyone.items() if authority.can_deescalate(l3, u)} == {"senior", "manager"}


def test_can_review_needs_the_review_permission(everyone):
    case = case_at("L1")
    assert {w for w, u in everyone.items() if authority.can_review(case, u)} == {
        "senior",
        "expert",
        "executive",
        "manager",
    }


# -- can_decide: the authority matrix ----------------------------------------------------------


@pytest.mark.parametrize(
    "who, kind, amount, allowed",
    [
        ("specialist", "spend", "0", True),
        ("specialist", "spend", "1000", True),
        ("specialist", "spend", "1000.01", False),
        ("specialist", "spend", "5000", False),
        ("specialist", "policy_exception", None, True),
        ("specialist", "major_incident", None, False),
        ("senior", "spend", "5000", True),
        ("senior", "spend", "10000", True),
        ("senior", "spend", "10000.01", False),
        ("senior", "major_incident", None, False),
        ("expert", "spend", "100000", True),
        ("expert", "spend", "100001", False),
        ("expert", "major_incident", None, True),
        ("executive", "spend", "999999999", True),
        ("executive", "major_incident", None, True),
        ("executive", "policy_exception", None, True),
        ("agent", "spend", "1", False),
        ("agent", "policy_exception", None, False),
        ("auditor", "spend", "1", False),
        ("manager", "spend", "1", False),  # managers configure; the matrix is by level
    ],
)
def test_can_decide_by_kind_and_amount(everyone, who, kind, amount, allowed):
    value = Decimal(amount) if amount is not None else None
    assert authority.can_decide(kind, value, everyone[who]) is allowed


def test_can_decide_refuses_an_inactive_executive():
    assert not authority.can_decide("spend", Decimal("1"), staff("Executive", "ex-exec", is_active=False))


def test_can_decide_reads_the_live_matrix(specialist):
    AuthorityGrant.objects.filter(level__code="L2", kind="spend").update(limit=Decimal("50"))
    assert authority.can_decide("spend", Decimal("50"), specialist)
    assert not authority.can_decide("spend", Decimal("51"), specialist)


# -- lowest_level_allowed: where a request is routed --------------------------------------------


@pytest.mark.parametrize(
    "kind, amount, code",
    [
        ("spend", "0", "L2"),
        ("spend", "999", "L2"),
        ("spend", "1000", "L2"),
        ("spend", "1000.01", "L3"),
        ("spend", "5000", "L3"),
        ("spend", "10000", "L3"),
        ("spend", "10001", "L4"),
        ("spend", "100000", "L4"),
        ("spend", "100000.01", "EXEC"),
        ("spend", "5000000", "EXEC"),
        ("policy_exception", None, "L2"),
        ("major_incident", None, "L4"),
    ],
)
def test_lowest_level_allowed_is_the_lowest_covering_grant(kind, amount, code):
    value = Decimal(amount) if amount is not None else None
    assert approvals.lowest_level_allowed(kind, value).code == code


def test_lowest_level_allowed_is_none_when_no_grant_covers():
    assert approvals.lowest_level_allowed("no_such_kind", None) is None
    AuthorityGrant.objects.filter(level__code="EXEC", kind="spend").update(limit=Decimal("200000"))
    assert approvals.lowest_level_allowed("spend", Decimal("200001")) is None
    assert approvals.lowest_level_allowed("spend", Decimal("200000")).code == "EXEC"

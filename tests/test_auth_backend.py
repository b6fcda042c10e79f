"""Permission sets are cached per process, and dropped the moment roles change here."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalations.domain import authority


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # a new object: no per-request cache


def test_a_second_request_asks_the_database_nothing(agent):
    assert fresh(agent).has_perm(authority.PERM_WORK)
    again = fresh(agent)
    with CaptureQueriesContext(connection) as queries:
        assert again.has_perm(authority.PERM_WORK)
    assert len(queries.captured_queries) == 0


def test_leaving_a_group_takes_effect_at_once(agent):
    assert fresh(agent).has_perm(authority.PERM_WORK)
    agent.groups.remove(Group.objects.get(name="Agent"))
    assert not fresh(agent).has_perm(authority.PERM_WORK)
    agent.groups.add(Group.objects.get(name="Agent"))
    assert fresh(agent).has_perm(authority.PERM_WORK)


def test_a_group_losing_a_permission_takes_effect_at_once(agent):
    group = Group.objects.get(name="Agent")
    perm = group.permissions.get(codename=authority.PERM_WORK.split(".")[1])
    assert fresh(agent).has_perm(authority.PERM_WORK)
    group.permissions.remove(perm)
    assert not fresh(agent).has_perm(authority.PERM_WORK)


def test_deactivated_users_have_no_permissions(agent):
    assert fresh(agent).has_perm(authority.PERM_WORK)
    get_user_model().objects.filter(pk=agent.pk).update(is_active=False)
    assert not fresh(agent).has_perm(authority.PERM_WORK)

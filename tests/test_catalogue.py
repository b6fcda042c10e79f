"""The one action catalogue: every workflow action is in it exactly once, and the staff
pages and the admin offer exactly what it says."""

import inspect

import pytest

from escalations import workflow
from escalations.actions import catalogue
from escalations.actions.forms import DeskForm
from escalations.audit import chain, verify
from escalations.models import Case, Escalation
from tests.factories import HANDOFF, CategoryFactory

pytestmark = pytest.mark.django_db


def workflow_actions() -> dict[str, object]:
    """Public workflow functions that act for someone: keyword-only, with an ``actor``."""
    out = {}
    for name in workflow.__all__:
        fn = getattr(workflow, name)
        if not inspect.isfunction(fn):
            continue
        params = inspect.signature(fn).parameters.values()
        if all(p.kind == p.KEYWORD_ONLY for p in params) and any(p.name == "actor" for p in params):
            out[name] = fn
    return out


def test_every_workflow_action_is_in_the_catalogue_exactly_once():
    listed = [a.function for a in catalogue.ACTIONS.values()]
    for name, fn in workflow_actions().items():
        assert listed.count(fn) == 1, f"{name} is in the catalogue {listed.count(fn)} times"
    assert len(listed) == len(set(listed)) == len(workflow_actions())


def test_each_entry_is_complete():
    for slug, action in catalogue.ACTIONS.items():
        assert action.slug == slug and action.name and action.button and action.verb
        assert issubclass(action.form, DeskForm)
        assert action.target in catalogue.TARGET_KEYWORD
        if action.transition:
            assert hasattr(Case, action.transition), slug
        keyword = catalogue.TARGET_KEYWORD[action.target]
        params = inspect.signature(action.function).parameters
        assert keyword is None or keyword in params, slug


def test_refusals_and_the_catalogue_use_the_transitions_verbs():
    assert catalogue.ACTIONS["return"].verb == "return"
    assert catalogue.ACTIONS["public-update"].verb == "answer"
    assert catalogue.ACTIONS["de-escalate"].verb == "de-escalate"
    assert catalogue.ACTIONS["invite"].verb == "invite"


def test_the_case_page_and_the_admin_offer_the_same_actions(client, agent, specialist):
    case = workflow.case_open(
        actor=agent,
        title="Printer on fire",
        requester_name="Rita",
        requester_email="rita@example.com",
        category=CategoryFactory(),
        impact=2,
        urgency=2,
    )
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    offered = catalogue.available(case, agent)
    for action in catalogue.case_page_actions():
        present = f'id="action-{action.slug}"' in page
        assert present == (action.slug in offered), action.slug


def test_history_rows_name_the_action_that_wrote_them(agent, specialist):
    case = workflow.case_open(
        actor=agent,
        title="VPN down",
        requester_name="Rita",
        requester_email="rita@example.com",
        category=CategoryFactory(),
        impact=2,
        urgency=2,
    )
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_escalate(case_id=case.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=case.pk, actor=specialist)
    rows = Case.history.filter(id=case.pk).order_by("history_id")
    assert list(rows.values_list("history_action", flat=True)) == ["open", "take", "escalate", "accept"]
    handoff = Escalation.history.filter(case_id=case.pk).order_by("history_id")
    assert list(handoff.values_list("history_action", flat=True)) == ["escalate", "accept"]
    assert [verify.verify_table(m).broken for m in chain.history_models()] == [None] * len(chain.history_models())


def test_the_case_timeline_names_each_entry_by_its_catalogue_action(client, agent):
    case = workflow.case_open(
        actor=agent,
        title="VPN down",
        requester_name="Rita",
        requester_email="rita@example.com",
        category=CategoryFactory(),
        impact=2,
        urgency=2,
    )
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_note(case_id=case.pk, actor=agent, body="Checked the router.")
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    for slug in ("open", "take", "note"):
        assert f'<span class="tl-action">{catalogue.ACTIONS[slug].name}</span>' in page, slug

"""Admin forms that pick a case, user, team or level offer only what the request user may
see; knowledge articles are linked to cases through the workflow, and their author is
whoever created them (issue 14, finding 2). Checked with an agent in the admin."""

from __future__ import annotations

import pytest

from escalations.models import Case, KnowledgeArticle

from .factories import CategoryFactory, level, open_case

pytestmark = pytest.mark.django_db

ADD = "/admin/escalations/knowledgearticle/add/"


@pytest.fixture
def cases(agent, senior):
    category = CategoryFactory(code="net")
    mine = open_case(agent, category, title="Printer jammed on floor two")
    secret = open_case(senior, category, title="Executive payroll leak")  # not the agent's: they'd follow it
    Case.objects.filter(pk=secret.pk).update(level=level("L3"))  # above the agent's level
    return {"mine": mine, "secret": secret, "category": category}


def article_data(**extra):
    return {"title": "Clearing jams", "body": "Open tray B.", "is_published": "on", **extra}


def test_agent_form_and_autocomplete_never_offer_a_case_above_their_level(client, agent, cases):
    client.force_login(agent)
    page = client.get(ADD)
    assert page.status_code == 200
    assert "Executive payroll" not in page.content.decode()
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "escalations", "model_name": "knowledgearticle", "field_name": "cases", "term": "payroll"},
    )
    assert found.status_code == 200 and found.json()["results"] == []
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "escalations", "model_name": "knowledgearticle", "field_name": "cases", "term": "printer"},
    )
    assert [r["id"] for r in found.json()["results"]] == [str(cases["mine"].pk)]


def test_agent_cannot_link_a_hidden_case_or_choose_the_author(client, agent, manager, cases):
    client.force_login(agent)
    response = client.post(ADD, article_data(cases=[cases["secret"].pk], author=manager.pk))
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not KnowledgeArticle.objects.exists()

    response = client.post(ADD, article_data(cases=[cases["mine"].pk], author=manager.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = KnowledgeArticle.objects.get()
    assert article.author == agent  # the posted author is ignored
    assert list(article.cases.all()) == [cases["mine"]]
    latest = article.history.order_by("-history_id").first()
    assert latest.history_change_reason == f"Linked to case #{cases['mine'].pk}"
    assert latest.history_user == agent


def test_saving_an_article_keeps_links_the_agent_cannot_see(client, agent, senior, cases):
    article = KnowledgeArticle.objects.create(title="Payroll", body="Call HR.", author=senior)
    article.cases.add(cases["secret"], cases["mine"])
    client.force_login(agent)
    url = f"/admin/escalations/knowledgearticle/{article.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Executive payroll" not in page.content.decode()
    response = client.post(url, article_data(title="Payroll (edited)"))  # no cases: unlink mine only
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.author == senior and article.title == "Payroll (edited)"
    assert list(article.cases.all()) == [cases["secret"]]
    assert article.history.filter(history_change_reason=f"Unlinked from case #{cases['mine'].pk}").exists()


def test_other_admin_pickers_are_scoped(rf, agent, cases):
    """Every admin's case, team, level and user fields, for an agent."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model

    from escalations.models import Level, Team

    request = rf.get("/")
    request.user = agent
    checked = 0
    for model_admin in admin.site._registry.values():
        for field in model_admin.model._meta.get_fields():
            if not (field.is_relation and field.concrete and (field.many_to_one or field.many_to_many)):
                continue
            target = field.remote_field.model
            if target not in (Case, Level, Team, get_user_model()):
                continue
            method = (
                model_admin.formfield_for_manytomany if field.many_to_many else model_admin.formfield_for_foreignkey
            )
            formfield = method(field, request)
            if formfield is None:
                continue
            checked += 1
            if target is Case:
                assert cases["secret"] not in formfield.queryset, (model_admin, field.name)
            if target is Level:
                assert not formfield.queryset.filter(code="L3").exists(), (model_admin, field.name)
    assert checked >= 5

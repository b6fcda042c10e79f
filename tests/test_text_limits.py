"""A very long knowledge article cannot take the desk down (issue 14, finding 1): text is
limited at the form, the admin and the model; the search vector is stored from a bounded
prefix, so a megabyte body inserted directly still leaves case pages and the knowledge
search working; a query error is not reported as a database outage."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connection
from django.test import Client

from escalations.models import KnowledgeArticle, limits
from escalations.views.errors import is_outage

from .factories import CategoryFactory, open_case

pytestmark = pytest.mark.django_db

MEGABYTE_BODY = " ".join(f"printer{i} toner{i % 977}" for i in range(70_000))  # ~1.2 MB, many distinct words


def test_every_text_field_has_a_limit():
    from django.apps import apps
    from django.db import models

    for model in apps.get_app_config("escalations").get_models():
        if model.__module__.startswith("escalations.audit"):
            continue  # the audit trail's own rows (seals): written by the desk, not by people
        for field in model._meta.concrete_fields:
            if isinstance(field, models.TextField) and field.name != "history_change_reason":  # cut to 1,000 on save
                assert field.max_length, f"{model.__name__}.{field.name} has no limit"


def test_the_model_and_the_admin_refuse_a_megabyte_body(client, manager):
    article = KnowledgeArticle(title="Huge", body=MEGABYTE_BODY)
    with pytest.raises(ValidationError) as refused:
        article.full_clean()
    assert "body" in refused.value.message_dict
    client.force_login(manager)
    response = client.post(
        "/admin/escalations/knowledgearticle/add/", {"title": "Huge", "body": MEGABYTE_BODY, "is_published": "on"}
    )
    assert response.status_code == 200
    assert f"at most {limits.ARTICLE:,}".replace(",", "") in response.content.decode().replace(",", "")
    assert not KnowledgeArticle.objects.exists()


@pytest.mark.postgres
def test_a_megabyte_article_inserted_directly_leaves_pages_and_search_working(agent):
    category = CategoryFactory(code="printing")
    KnowledgeArticle.objects.create(title="Printer toner guide", body=MEGABYTE_BODY, category=category)
    KnowledgeArticle.objects.create(title="Printer jams", body="Open tray B and pull gently.")
    case = open_case(agent, category, title="Printer toner smeared", description="printer toner everywhere")
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert "Printer toner guide" in page.content.decode()  # suggested from the stored vector
    found = client.get("/kb/", {"q": "printer toner"})
    assert found.status_code == 200 and "Printer toner guide" in found.content.decode()
    assert client.get("/kb/", {"q": "tray"}).content.decode().count("Printer jams") >= 1
    with connection.cursor() as cur:
        cur.execute("SELECT search_vector IS NOT NULL FROM escalations_knowledgearticle")
        assert all(row[0] for row in cur.fetchall())


@pytest.mark.postgres
def test_a_query_error_is_not_called_an_outage(db):
    with pytest.raises(DatabaseError) as failed:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT to_tsvector('english', repeat('abcdefgh ', 1) || string_agg(md5(i::text), ' ')) "
                "FROM generate_series(1, 60000) i"
            )
    assert isinstance(failed.value, OperationalError)  # what Django makes of "string is too long for tsvector"
    assert not is_outage(failed.value)

"""A lost database connection: the user is told, nothing is saved, what they typed comes back."""

import psycopg
import pytest
from django.db import connection
from django.test import Client

from escalations.models import Case, Note

from .factories import fresh, open_case


def _cut_connection() -> None:
    """End this process's PostgreSQL session from outside, as a server restart does."""
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**{**params, "autocommit": True}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lost_database_answers_503_and_gives_back_the_typed_text(agent):
    case = open_case(agent)
    version = fresh(case).version
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    _cut_connection()
    try:
        response = client.post(f"/cases/{case.pk}/note/", {"note-body": "Customer called back at 10:14"})
    finally:
        connection.close()  # the next query reconnects
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "cannot reach its database" in page and "Nothing from this request was saved" in page
    assert "Customer called back at 10:14" in page
    assert fresh(case).version == version
    assert not Note.objects.filter(case=case).exists()
    # The desk works again as soon as the database is back.
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_other_errors_still_answer_a_plain_500(rf):
    from escalations.views.errors import server_error

    try:
        raise ValueError("boom")
    except ValueError:
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content

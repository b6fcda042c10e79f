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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_503_page_never_echoes_a_password_field(agent):
    """The password-change form: old_password (no name list ever had it) and both new ones."""
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    _cut_connection()
    try:
        response = client.post(
            "/admin/password_change/",
            {"old_password": "Old-Secret-1", "new_password1": "New-Secret-2", "new_password2": "New-Secret-2"},
        )
    finally:
        connection.close()
    assert response.status_code == 503
    page = response.content.decode()
    assert "Old-Secret-1" not in page and "New-Secret-2" not in page


def test_password_fields_are_found_by_widget_in_any_form_prefix_or_formset(rf):
    from django import forms
    from django.db import OperationalError

    from escalations.views.errors import server_error

    class PinForm(forms.Form):  # a form the error page has never heard of
        vault_pin = forms.CharField(widget=forms.PasswordInput)
        comment = forms.CharField()

    request = rf.post(
        "/x/", {"vault_pin": "4711", "pre-vault_pin": "4712", "form-0-vault_pin": "4713", "comment": "hi"}
    )
    try:
        raise OperationalError("server closed the connection")
    except OperationalError:
        page = server_error(request).content.decode()
    assert "4711" not in page and "4712" not in page and "4713" not in page and "hi" in page
    assert PinForm  # kept alive so the error page finds it

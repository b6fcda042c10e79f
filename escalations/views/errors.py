"""The last resort: what a request gets when something below the views fails.

A lost database connection (PostgreSQL restarting, a failover, the network) is not a
bug: the user gets a 503 that says so, that nothing was saved, and what they typed, so
they can send it again. Everything else is a plain 500 page. Neither page touches the
database or the session: both render without a request context.

Django files PostgreSQL's "program limit exceeded" errors (a tsvector over 1 MB, an index
row too large: SQLSTATE class 54) and others under ``OperationalError`` like a lost
connection, so the class alone would blame an outage for a query that can never succeed.
An outage is an ``InterfaceError``, or an ``OperationalError`` with no SQLSTATE (no answer
from the server) or one of the connection/shutdown states below; any other database
error is a 500 that does not mention an outage.
"""

from __future__ import annotations

import logging
import sys

from django import forms
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

log = logging.getLogger(__name__)

UNAVAILABLE = (InterfaceError, OperationalError)
TOKEN_FIELDS = frozenset({"csrfmiddlewaretoken"})

OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "53400")  # connection, shutdown, too many


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached (not that a query failed)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)
    return state is None or state.startswith(OUTAGE_SQLSTATES)


RETRY_AFTER_S = 30


def _form_classes() -> set[type]:
    seen, stack = set(), list(forms.BaseForm.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.add(cls)
            stack.extend(cls.__subclasses__())
    return seen


def _is_password(widget) -> bool:
    return isinstance(widget, forms.PasswordInput) or getattr(widget, "input_type", None) == "password"


def password_field_names() -> frozenset[str]:
    """The names of every form field drawn with a password widget, in any form class loaded
    (ours, the admin's, django.contrib.auth's): decided by the widget, so a new form's
    ``old_password`` or ``pin`` is never echoed, whatever it is called."""
    names = set()
    for cls in _form_classes():
        for name, field in (getattr(cls, "base_fields", None) or {}).items():
            if _is_password(getattr(field, "widget", None)):
                names.add(name)
    return frozenset(names)


def _secret(key: str, passwords: frozenset[str]) -> bool:
    # Prefixed forms and formsets post "prefix-name" and "form-0-name".
    return key in TOKEN_FIELDS or key in passwords or key.rpartition("-")[2] in passwords


def typed_input(request: HttpRequest) -> list[tuple[str, str]]:
    """The fields of a POST to give back to the user: never a password-type field."""
    if request.method != "POST":
        return []
    try:
        passwords = password_field_names()
        items = request.POST.lists()
        return [(k, v) for k, values in items if not _secret(k, passwords) for v in values if v.strip()][:40]
    except Exception:  # an unreadable body: nothing to give back
        return []


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if is_outage(exc):
        log.warning("Database unavailable during %s %s: %s", request.method, request.path, exc)
        body = loader.get_template("escalations/unavailable.html").render(
            {"typed": typed_input(request), "retry_after": RETRY_AFTER_S}
        )
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
    return HttpResponse(loader.get_template("500.html").render({}), status=500)

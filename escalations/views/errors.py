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

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

log = logging.getLogger(__name__)

OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "53400")  # connection, shutdown, too many


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached (not that a query failed)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)
    return state is None or state.startswith(OUTAGE_SQLSTATES)


SECRET_FIELDS = frozenset({"csrfmiddlewaretoken", "password", "password1", "password2"})
RETRY_AFTER_S = 30


def typed_input(request: HttpRequest) -> list[tuple[str, str]]:
    """The non-secret fields of a POST, to give back to the user."""
    if request.method != "POST":
        return []
    try:
        items = request.POST.lists()
        return [(k, v) for k, values in items if k not in SECRET_FIELDS for v in values if v.strip()][:40]
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

"""The portal's own sign-in, apart from the staff login: a signed, expiring cookie that
names the requester's address. A staff session gives no portal access and a portal
cookie gives no staff access; signing out of one leaves the other alone."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from escalations.domain import portal_links

COOKIE = "portal_session"


def requester_of(request: HttpRequest) -> str | None:
    value = request.COOKIES.get(COOKIE)
    if not value:
        return None
    try:
        return portal_links.read_session_value(value) or None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def sign_in(response: HttpResponse, email: str) -> HttpResponse:
    response.set_cookie(
        COOKIE,
        portal_links.session_value(email),
        max_age=int(getattr(settings, "PORTAL_SESSION_MINUTES", 8 * 60)) * 60,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        path="/portal/",
    )
    return response


def sign_out(response: HttpResponse) -> HttpResponse:
    response.delete_cookie(COOKIE, path="/portal/", samesite="Lax")
    return response


def requester_page(view):
    """The requester's address as ``request.requester``; otherwise to the portal sign-in."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        email = requester_of(request)
        if email is None:
            return redirect("portal:sign-in")
        request.requester = email
        return view(request, *args, **kwargs)

    return wrapped

"""Times in the viewer's time zone: the browser reports its zone in a cookie (desk.js sets
``desk_tz`` from ``Intl``); this middleware activates it for the request when it names a
real zone, so every ``localtime`` (templates, history, exports' local column) follows."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

COOKIE = "desk_tz"


def _zone(name: str | None):
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = _zone(request.COOKIES.get(COOKIE))
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)

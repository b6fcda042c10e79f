"""Rate limits on the API: requests per token (or, for signed intake without a token, per
client address), counted in Django's cache; over the limit the answer is 429 with
``Retry-After``.

``API_RATE`` caps each token on the case endpoints, ``API_INTAKE_RATE`` on the monitoring
intake (alert storms come in bursts; redeliveries cost little). Rates read like
"1200/min", "20/s", "50000/hour"; "off" lifts the limit. With the default per-process
cache each web process counts on its own: configure a shared cache (``CACHES``) to count
across processes.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from escalations.core.client_ip import client_ip
from escalations.models import ApiToken

SETTINGS = {"api": "API_RATE", "intake": "API_INTAKE_RATE"}
DEFAULTS = {"api": "1200/min", "intake": "60000/min"}


class TokenRateThrottle(SimpleRateThrottle):
    """The view's ``throttle_scope`` ("api" unless it says "intake") names the limit."""

    def __init__(self):  # the rate is read per request, so settings changes apply at once
        pass

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", "api")
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        rate = "".join(str(getattr(settings, SETTINGS[self.scope], DEFAULTS[self.scope]) or "").split()).lower()
        return None if rate in ("", "off", "0") else rate

    def get_cache_key(self, request, view) -> str:
        token = request.auth
        ident = f"token:{token.pk}" if isinstance(token, ApiToken) else f"ip:{client_ip(request)}"
        return f"api-throttle:{self.scope}:{ident}"

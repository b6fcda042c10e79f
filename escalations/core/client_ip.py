"""The client's address behind a known number of reverse proxies, for login throttling.

Behind a proxy every request comes from the proxy's address, so django-axes, keyed on the
address, would lock a user out for everyone after five bad passwords from anyone. Each
proxy appends the address it received the request from to ``X-Forwarded-For``
(nginx: ``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for``), so with N proxies
the N-th entry from the right is the client: entries further left were sent by the client
and are not trusted. django-ipware's ``proxy_count`` instead expects the proxies to list
themselves, which a single nginx does not, so axes is given this function
(``AXES_CLIENT_IP_CALLABLE``) and the documented count (``AXES_PROXY_COUNT``).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = int(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:  # did not come through every proxy: only the peer is known
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # a proxy wrote something odd: fall back to the peer
        return remote

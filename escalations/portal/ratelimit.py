"""Fixed-window counters in Django's cache: how often one address, and one client
address, may ask for a sign-in link. With the default per-process cache each web process
counts on its own; a shared cache (Redis, the database cache) counts across them."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str, window: int) -> str:
    import time  # the window's number, so a key expires with its window

    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"portal-rl:{kind}:{digest}:{int(time.time()) // window}"


def hit(kind: str, value: str, limit: int, window: int) -> bool:
    """Count one more; False when ``limit`` is already used up in this window."""
    key = _key(kind, value, window)
    if cache.add(key, 1, timeout=window + 5):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 5)
        return True
    return count <= limit


def sign_in_allowed(email: str, ip: str) -> bool:
    window = int(getattr(settings, "PORTAL_LINK_WINDOW_SECONDS", 3600))
    per_address = int(getattr(settings, "PORTAL_LINKS_PER_ADDRESS", 3))
    per_ip = int(getattr(settings, "PORTAL_LINKS_PER_IP", 20))
    ip_ok = hit("ip", ip or "-", per_ip, window)
    return hit("email", email, per_address, window) and ip_ok

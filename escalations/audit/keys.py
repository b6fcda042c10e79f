"""Which key signs what, and the canonical form of JSON content.

New history rows name the key that chained them (``audit_key``, from ``AUDIT_KEY_ID``), so
``AUDIT_SECRET`` can rotate: old rows verify with their own key from ``AUDIT_KEYS``. Rows
written before key ids existed (``audit_key`` empty) verify with ``AUDIT_LEGACY_KEY`` and
the JSON form of that time; every keyed row uses ``canonical_json``, which survives
PostgreSQL's jsonb normalisation (``1e16`` comes back as ``10000000000000000``).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

from django.conf import settings

# Tags numbers inside canonical JSON; jsonb refuses NUL, so no stored string can look the same.
_NUMBER = "\x00n:"


class UnknownKey(LookupError):
    """A row or checkpoint names a key id that AUDIT_KEYS no longer holds."""


def current_key_id() -> str:
    return settings.AUDIT_KEY_ID


def key_for(key_id: str) -> bytes:
    if not key_id:
        return (getattr(settings, "AUDIT_LEGACY_KEY", "") or settings.SECRET_KEY).encode()
    keys = getattr(settings, "AUDIT_KEYS", {}) or {}
    if not keys.get(key_id):
        raise UnknownKey(f"audit key id {key_id!r} is not in AUDIT_KEYS: add the old key to verify its rows")
    return keys[key_id].encode()


def _number(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return _NUMBER + repr(value)
    return _NUMBER + str(Decimal(repr(value) if isinstance(value, float) else value).normalize())


def _plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return _number(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def canonical_json(value) -> str:
    """Sorted keys, no spaces, every number as its normalised decimal (1, 1.0 and 1e0 agree;
    so do 1e16 and 10000000000000000): the same content read back from jsonb hashes the same."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

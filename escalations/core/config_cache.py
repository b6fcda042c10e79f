"""A per-process cache of configuration read on hot paths (intake, the sweep): the active
policies, rules, paths and the ladder. Entries live a few seconds; saving or deleting any
configuration row clears the cache of the process that saved it (connected in
``EscalationsConfig.ready``), and other processes catch up within the TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

TTL = 5.0
T = TypeVar("T")
_store: dict[object, tuple[float, object]] = {}


def cached(key: object, load: Callable[[], T]) -> T:
    now = time.monotonic()
    hit = _store.get(key)
    if hit is None or now - hit[0] > TTL:
        hit = (now, load())
        _store[key] = hit
    return hit[1]  # type: ignore[return-value]


def clear(*args, **kwargs) -> None:
    """Also usable as a signal receiver."""
    _store.clear()

"""HMAC-signed deliveries: ``X-Escalation-Signature: sha256=<hex>`` over the raw body, or
Grafana's ``X-Grafana-Alerting-Signature: <hex>`` (over ``<timestamp>:<body>`` when it
also sends ``X-Grafana-Alerting-Timestamp``), keyed with ``INTAKE_HMAC_SECRET``."""

from __future__ import annotations

import hashlib
import hmac
import time

OURS = "X-Escalation-Signature"
GRAFANA = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP = "X-Grafana-Alerting-Timestamp"
MAX_SKEW_SECONDS = 300


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def present(headers) -> bool:
    return bool(headers.get(OURS) or headers.get(GRAFANA))


def verify(secret: str, headers, body: bytes, now: float | None = None) -> str | None:
    """None when the signature is good, else what is wrong with it."""
    if not secret:
        return "Signed deliveries are not configured here (INTAKE_HMAC_SECRET is empty); use a token."
    ours = headers.get(OURS)
    if ours:
        expected = sign(secret, body)
        return None if hmac.compare_digest(ours.strip(), expected) else "The signature does not match the body."
    theirs = (headers.get(GRAFANA) or "").strip().removeprefix("sha256=")
    stamp = headers.get(GRAFANA_TIMESTAMP)
    signed = body
    if stamp:
        if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > MAX_SKEW_SECONDS:
            return "The signature's timestamp is missing, malformed or too old."
        signed = stamp.encode() + b":" + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(theirs, expected) else "The signature does not match the body."

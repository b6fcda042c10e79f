"""The three payload formats, read into one ``Alert`` each, or refused with a message.

Alertmanager's webhook (``version: "4"``; prometheus/alertmanager ``notify/webhook``) and
Grafana's alerting webhook (the same ``alerts`` list plus ``orgId``, ``title``,
``state``...) carry ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``,
``generatorURL`` and ``fingerprint`` per alert. The generic format is the same ``alerts``
list with everything but ``labels`` optional (README documents it); a single alert
object at the top level is accepted too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

SOURCES = ("alertmanager", "grafana", "generic")
STATUSES = ("firing", "resolved")


class Rejected(Exception):
    """The payload is unusable; ``message`` says why. Nothing is written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Alert:
    source: str
    fingerprint: str  # "<source>:<fingerprint as sent, or a hash of the labels>"
    status: str
    labels: dict
    annotations: dict = field(default_factory=dict)
    starts_at: str = ""
    ends_at: str = ""
    url: str = ""

    @property
    def name(self) -> str:
        return str(self.labels.get("alertname") or self.annotations.get("summary") or "Alert")[:150]

    @property
    def severity(self) -> str:
        return str(self.labels.get("severity", "")).strip().lower()

    @property
    def delivery_key(self) -> str:
        """The same alert state delivered again has the same key (idempotency)."""
        raw = "|".join(
            (self.fingerprint, self.status, self.starts_at, self.ends_at if self.status == "resolved" else "")
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def describe(self) -> str:
        lines = [f"{self.status.upper()}: {self.name}"]
        for key in ("summary", "description", "message"):
            if self.annotations.get(key):
                lines.append(str(self.annotations[key]))
        lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())))
        if self.starts_at:
            lines.append(f"Started: {self.starts_at}")
        if self.status == "resolved" and self.ends_at:
            lines.append(f"Ended: {self.ends_at}")
        if self.url:
            lines.append(f"Source: {self.url}")
        return "\n".join(lines)


def load(body: bytes) -> dict:
    if len(body) > settings.INTAKE_MAX_BYTES:
        raise Rejected(f"The payload is {len(body)} bytes; the limit is {settings.INTAKE_MAX_BYTES}.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise Rejected("The body must be a JSON object.")
    return data


def _strings(value, what: str, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"{where}: {what} must be an object of strings.")
    out = {}
    for k, v in value.items():
        if not isinstance(v, (str, int, float, bool)):
            raise Rejected(f"{where}: {what}.{k} must be a string.")
        out[str(k)[:100]] = str(v)[:2000]
    return out


def _time(value, what: str, where: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise Rejected(f"{where}: {what} must be an RFC 3339 time.")
    try:
        datetime.fromisoformat(_trim(value) if "." in value else value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f"{where}: {what} {value[:40]!r} is not an RFC 3339 time.") from None
    return value[:40]


def _trim(value: str) -> str:
    """Go prints nanoseconds; Python reads up to microseconds."""
    head, _, rest = value.partition(".")
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :].replace("Z", "+00:00")
    return f"{head}.{digits[:6]}{zone}"


def _alert(source: str, item, where: str, default_status: str) -> Alert:
    if not isinstance(item, dict):
        raise Rejected(f"{where} must be an object.")
    labels = _strings(item.get("labels"), "labels", where)
    if not labels:
        raise Rejected(f"{where} has no labels; an alert needs at least one (e.g. alertname).")
    status = item.get("status", default_status)
    if status not in STATUSES:
        raise Rejected(f"{where}: status must be 'firing' or 'resolved', not {str(status)[:20]!r}.")
    fp = item.get("fingerprint")
    if fp is not None and (not isinstance(fp, str) or not fp.strip() or len(fp) > 100):
        raise Rejected(f"{where}: fingerprint must be a non-empty string of at most 100 characters.")
    if not fp:
        fp = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]
    url = item.get("generatorURL") or item.get("url") or ""
    return Alert(
        source=source,
        fingerprint=f"{source}:{fp.strip()}",
        status=status,
        labels=labels,
        annotations=_strings(item.get("annotations"), "annotations", where),
        starts_at=_time(item.get("startsAt"), "startsAt", where),
        ends_at=_time(item.get("endsAt"), "endsAt", where),
        url=str(url)[:500] if isinstance(url, str) else "",
    )


def alerts(source: str, data: dict) -> list[Alert]:
    """Every alert in the payload, or ``Rejected`` for the first problem found."""
    if source == "alertmanager" and str(data.get("version", "4")) != "4":
        raise Rejected(f"Alertmanager webhook version {str(data.get('version'))[:10]!r} is not supported; send 4.")
    items = data.get("alerts")
    if items is None and source == "generic" and "labels" in data:
        items = [data]
    if not isinstance(items, list) or not items:
        raise Rejected("The payload has no 'alerts' list (or it is empty).")
    if len(items) > settings.INTAKE_MAX_ALERTS:
        raise Rejected(f"The payload has {len(items)} alerts; the limit is {settings.INTAKE_MAX_ALERTS} per request.")
    group = data.get("status") if data.get("status") in STATUSES else "firing"
    return [_alert(source, item, f"alerts[{i}]", group) for i, item in enumerate(items)]

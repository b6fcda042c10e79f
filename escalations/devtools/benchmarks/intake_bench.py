"""bench_intake's load: alert webhooks and API case reads against gunicorn, from
threads of this process over keep-alive HTTP connections (loopback only)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from escalations.devtools.benchmarks.pages_load import percentile


def _alert(run: str, n: int, fingerprints: int, starts: int) -> bytes:
    fp = n % fingerprints
    start = (n // fingerprints) % starts  # each fingerprint fires ``starts`` times; the rest are redeliveries
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "bench",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": f"Bench{fp}", "instance": f"host{fp}:9100", "severity": "warning"},
                    "annotations": {"summary": "Benchmark alert"},
                    "startsAt": f"2026-01-01T00:{start % 60:02d}:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/",
                    "fingerprint": f"bench-{run}-{fp}",
                }
            ],
        }
    ).encode()


def drive(base: str, token: str, jobs: list[tuple[str, str, bytes | None]], threads: int) -> dict:
    """Send every job (method, path, body) from ``threads`` connections; latencies and outcomes."""
    parts = urlsplit(base)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("bench_intake only talks to the loopback interface")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
    lock = threading.Lock()
    latencies: list[float] = []
    outcomes: Counter = Counter()
    queue = list(reversed(jobs))

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                method, path, body = queue.pop()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                with lock:
                    outcomes[type(exc).__name__] += 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    outcomes[f"http {response.status}"] += 1
                elif method == "POST":
                    for r in json.loads(content)["results"]:
                        outcomes[r["outcome"]] += 1
                else:
                    outcomes["read"] += 1
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(jobs),
        "seconds": round(seconds, 2),
        "per_s": round(len(jobs) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "outcomes": dict(outcomes),
    }


def alert_jobs(run: str, count: int, fingerprints: int, starts: int) -> list[tuple[str, str, bytes]]:
    return [("POST", "/api/v1/intake/alertmanager", _alert(run, n, fingerprints, starts)) for n in range(count)]


def read_jobs(case_ids: list[int], count: int) -> list[tuple[str, str, None]]:
    return [("GET", f"/api/v1/cases/{case_ids[n % len(case_ids)]}/", None) for n in range(count)]

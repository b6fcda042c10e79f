"""A small HTTP load generator for ``bench_pages`` (standard library only; loopback only).

Reads a JSON spec on stdin, signs in once (session and CSRF cookies shared by all
threads), then runs ``threads`` workers issuing one scenario's requests until
``duration`` seconds or ``requests`` requests, whichever comes first. Prints one JSON
line: latency percentiles (ms), throughput (requests/s) and errors.

    python -m escalations.devtools.benchmarks.pages_load < spec.json
"""

from __future__ import annotations

import http.client
import json
import random
import re
import sys
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


class Session:
    def __init__(self, base: str):
        parts = urlsplit(base)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("pages_load only talks to the loopback interface")
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, conn, method: str, path: str, body: dict | None = None):
        status, content, _location = self.exchange(conn, method, path, body)
        return status, content

    def exchange(self, conn, method: str, path: str, body: dict | None = None):
        """One request: (status, body, Location header)."""
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Connection": "keep-alive",
            "X-Requested-With": "fetch",
        }
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
        return response.status, content, response.getheader("Location")

    def sign_in(self, username: str, password: str) -> None:
        conn = self.connect()
        status, page = self.request(conn, "GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, _ = self.request(
            conn,
            "POST",
            "/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": ""},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"sign-in failed (HTTP {status})")
        conn.close()


def make_request(scenario: str, spec: dict, rnd: random.Random, session: Session):
    """(method, path, body, expected status) for one request of a scenario."""
    if scenario == "queue":
        return "GET", "/queue/team/", None, 200
    if scenario == "my_queue":
        return "GET", "/queue/mine/", None, 200
    if scenario == "case":
        return "GET", f"/cases/{rnd.choice(spec['case_ids'])}/", None, 200
    if scenario == "similar":  # the case page's similar-resolved panel, fetched after the page
        return "GET", f"/cases/{rnd.choice(spec['case_ids'])}/similar/", None, 200
    if scenario == "new_case":
        n = rnd.randrange(10**9)
        return (
            "POST",
            "/cases/new/",
            {
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "requester_name": "Load Tester",
                "requester_email": f"load{n % 1000}@bench.example",
                "title": f"Load test case {n}",
                "category": rnd.choice(spec["category_ids"]),
                "impact": rnd.choice("123"),
                "urgency": rnd.choice("123"),
                "complexity": "medium",
                "customer_tier": "standard",
                "description": "Opened by the page benchmark.",
            },
            302,
        )
    raise SystemExit(f"unknown scenario {scenario}")


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


def run(spec: dict) -> dict:
    session = Session(spec["base"])
    session.sign_in(spec["username"], spec["password"])
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    budget = [spec["requests"]]
    stop_at = time.monotonic() + spec["duration"]

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        conn = session.connect()
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            method, path, body, expected = make_request(spec["scenario"], spec, rnd, session)
            started = time.perf_counter()
            try:
                status, _ = session.request(conn, method, path, body)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = session.connect()
                with lock:
                    errors.append(type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if status != expected:
                    errors.append(f"HTTP {status}")
            if conn.sock is None:
                conn = session.connect()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(spec["threads"])]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "scenario": spec["scenario"],
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "seconds": round(wall, 2),
        "threads": spec["threads"],
        "per_s": round(len(latencies) / wall, 1) if wall else None,
        "p50_ms": round(percentile(ordered, 50), 1),
        "p95_ms": round(percentile(ordered, 95), 1),
        "p99_ms": round(percentile(ordered, 99), 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.stdin.read()))))

"""The scale-out run's load: staff working whole cases through the pages (standard library
only; loopback only).

Each thread plays one journey after another: an L1 agent looks at the team queue, opens
a case, takes it, writes an internal note carrying a unique token, and escalates it to
L2 with a handoff; an L2 specialist then accepts it and resolves it. Every request is
timed. A refusal because someone else changed the case first (409, the sweep may have
touched it) re-reads the page and tries once more; a 503 (the database restarting) waits
a second and tries the step again. A step whose answer never arrived (a dropped
connection) is *unsure*: it may or may not have been saved.

Reads a JSON spec on stdin, prints one JSON line: per action the latency percentiles and
counts, every status seen, and the ledger (case id -> steps seen to succeed, steps
unsure, note tokens) that the run checks against the database afterwards.

    python -m escalations.devtools.benchmarks.desk_load < spec.json
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import time
from collections import Counter, defaultdict

from escalations.devtools.benchmarks.pages_load import Session, percentile

CASE_URL = re.compile(r"/cases/(\d+)/")


class Outcome(Exception):
    """A step that could not be completed; ``unsure`` when it may have been saved."""

    def __init__(self, why: str, unsure: bool = False):
        super().__init__(why)
        self.why, self.unsure = why, unsure


class Journey:
    def __init__(self, run: Run, agent: Session, specialist: Session, n: int):
        self.run, self.agent, self.specialist, self.n = run, agent, specialist, n
        self.conns = {id(agent): agent.connect(), id(specialist): specialist.connect()}

    def call(self, who: Session, action: str, method: str, path: str, body: dict | None = None):
        """One timed request; retried while the database is unavailable (503)."""
        for _attempt in range(60):
            conn = self.conns[id(who)]
            started = time.perf_counter()
            try:
                status, content, location = who.exchange(conn, method, path, body)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self.conns[id(who)] = who.connect()
                self.run.record(action, None, 0.0, type(exc).__name__)
                raise Outcome(f"{action}: {type(exc).__name__}", unsure=method == "POST") from exc
            self.run.record(action, status, (time.perf_counter() - started) * 1000)
            if status == 503:
                time.sleep(1.0)
                continue
            if conn.sock is None:
                self.conns[id(who)] = who.connect()
            return status, content, location
        raise Outcome(f"{action}: database unavailable for a minute")

    def version(self, who: Session, case_id: int, form: str) -> int:
        status, page, _ = self.call(who, "case_page", "GET", f"/cases/{case_id}/")
        if status != 200:
            raise Outcome(f"case page HTTP {status}")
        found = re.search(rf'name="{form}-version" value="(\d+)"'.encode(), page)
        if not found:
            raise Outcome(f"no {form} form on the case page")
        return int(found.group(1))

    def act(self, who: Session, case_id: int, name: str, fields: dict, ledger: dict, versioned: bool = True) -> None:
        """POST a case action with the version the page shows; once more after a conflict.
        Notes carry no version: they change nothing another person could overwrite."""
        for _attempt in range(2):
            body = {"csrfmiddlewaretoken": who.cookies["csrftoken"], **{f"{name}-{k}": v for k, v in fields.items()}}
            if versioned:
                try:
                    body[f"{name}-version"] = self.version(who, case_id, name)
                except Outcome:
                    if name in ledger["unsure"]:  # it went through before the connection dropped
                        return
                    raise
            try:
                status, _, _ = self.call(who, name, "POST", f"/cases/{case_id}/{name}/", body)
            except Outcome as out:
                if out.unsure:
                    ledger["unsure"].append(name)
                raise
            if status == 302:
                ledger["done"].append(name)
                return
            if status != 409:
                raise Outcome(f"{name} HTTP {status}")
        raise Outcome(f"{name}: conflict twice")

    def play(self) -> None:
        run, n = self.run, self.n
        self.call(self.agent, "queue", "GET", "/queue/team/")
        status, _, location = self.call(
            self.agent,
            "intake",
            "POST",
            "/cases/new/",
            {
                "csrfmiddlewaretoken": self.agent.cookies["csrftoken"],
                "requester_name": "Scale Tester",
                "requester_email": f"scale{n % 500}@scale.example",
                "title": f"Scale-out case {run.tag}-{n}",
                "category": run.spec["category_ids"][n % len(run.spec["category_ids"])],
                "impact": "2",
                "urgency": "2",
                "complexity": "medium",
                "customer_tier": "standard",
                "description": "Opened by the scale-out run.",
            },
        )
        found = CASE_URL.search(location or "")
        if status != 302 or not found:
            raise Outcome(f"intake HTTP {status}")
        case_id = int(found.group(1))
        ledger = run.ledger[case_id] = {"done": ["intake"], "unsure": [], "tokens": []}
        self.act(self.agent, case_id, "take", {}, ledger)
        token = f"scale-note {run.tag}-{n}"
        ledger["tokens"].append(token)
        self.act(self.agent, case_id, "note", {"body": token}, ledger, versioned=False)
        self.act(
            self.agent,
            case_id,
            "escalate",
            {
                "to_level": "L2",
                "summary": "Needs L2",
                "steps_tried": "Restarted the service",
                "customer_impact": "One user blocked",
                "knowledge_consulted": "",
                "justification": "",
            },
            ledger,
        )
        self.act(self.specialist, case_id, "accept", {}, ledger)
        self.act(self.specialist, case_id, "resolve", {"summary": "Fixed by the scale-out run"}, ledger)


class Run:
    def __init__(self, spec: dict):
        self.spec, self.tag = spec, spec["tag"]
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.ledger: dict[int, dict] = {}
        self.failures: Counter = Counter()
        self.journeys = 0

    def record(self, action: str, status: int | None, ms: float, error: str = "") -> None:
        with self.lock:
            self.statuses[action][str(status) if status else error] += 1
            if status and status < 500:
                self.latency[action].append(ms)

    def sign_in(self, username: str) -> Session:
        session = Session(self.spec["base"])
        session.sign_in(username, self.spec["password"])
        return session

    def go(self) -> dict:
        pairs = [(self.sign_in(a), self.sign_in(s)) for a, s in self.spec["pairs"]]
        stop_at = time.monotonic() + self.spec["duration"]
        counter = iter(range(10**9))

        def worker(k: int) -> None:
            agent, specialist = pairs[k % len(pairs)]
            journey = None
            while time.monotonic() < stop_at:
                with self.lock:
                    n = next(counter)
                journey = Journey(self, agent, specialist, n)
                try:
                    journey.play()
                    with self.lock:
                        self.journeys += 1
                except Outcome as out:
                    with self.lock:
                        self.failures[out.why] += 1

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(self.spec["threads"])]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - began
        actions = {}
        for name, samples in sorted(self.latency.items()):
            ordered = sorted(samples)
            actions[name] = {
                "n": len(ordered),
                "per_s": round(len(ordered) / wall, 1),
                "p50_ms": round(percentile(ordered, 50), 1),
                "p95_ms": round(percentile(ordered, 95), 1),
                "p99_ms": round(percentile(ordered, 99), 1),
            }
        return {
            "seconds": round(wall, 1),
            "journeys": self.journeys,
            "actions": actions,
            "statuses": {k: dict(v) for k, v in self.statuses.items()},
            "failures": dict(self.failures),
            "ledger": self.ledger,
        }


if __name__ == "__main__":
    print(json.dumps(Run(json.loads(sys.stdin.read())).go()))

"""``bench_pages`` load from wrk (Debian's ``wrk`` package), when it is installed.

wrk is written in C: at a few hundred requests a second it needs a fraction of the CPU
the Python load generator does, which matters on a small machine where the load, the web
workers and PostgreSQL share the cores. The scenarios are the same (``pages_load``): the
session and CSRF cookies come from one sign-in in Python, then a Lua script builds each
request (a random case id, a fresh intake form) and prints one JSON line at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from escalations.devtools.benchmarks.pages_load import Session

WRK = "/usr/bin/wrk"

LUA = r"""
local ids = {%(ids)s}
local cats = {%(cats)s}
local scenario = "%(scenario)s"
wrk.headers["Cookie"] = "%(cookie)s"
wrk.headers["X-Requested-With"] = "fetch"
local n = 0
local expected = %(expected)d
wrong = 0
local threads = {}

setup = function(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  math.randomseed(id * 7919)
  wrong = 0
end

request = function()
  n = n + 1
  if scenario == "queue" then return wrk.format("GET", "/queue/team/") end
  if scenario == "my_queue" then return wrk.format("GET", "/queue/mine/") end
  if scenario == "case" then return wrk.format("GET", "/cases/" .. ids[math.random(#ids)] .. "/") end
  if scenario == "similar" then return wrk.format("GET", "/cases/" .. ids[math.random(#ids)] .. "/similar/") end
  local k = math.random(1000000000)
  local body = "csrfmiddlewaretoken=%(token)s&requester_name=Load+Tester&requester_email=load" .. (k %% 1000)
    .. "%%40bench.example&title=Load+test+case+" .. k .. "&category=" .. cats[math.random(#cats)]
    .. "&impact=" .. math.random(3) .. "&urgency=" .. math.random(3)
    .. "&complexity=medium&customer_tier=standard&description=Opened+by+the+page+benchmark."
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for key, value in pairs(wrk.headers) do headers[key] = value end  -- format() replaces, not merges
  return wrk.format("POST", "/cases/new/", headers, body)
end

response = function(status, headers, body)
  if status ~= expected then wrong = wrong + 1 end
end

done = function(summary, latency, requests)
  local wrong_total = 0
  for _, t in ipairs(threads) do wrong_total = wrong_total + (t:get("wrong") or 0) end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "micros": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "wrong_status": %%d, ' ..
    '"socket_errors": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    wrong_total, e.connect + e.read + e.write + e.timeout))
end
"""


def available() -> bool:
    return shutil.which(WRK) is not None or Path(WRK).exists()


def run(spec: dict) -> dict:
    """One scenario under wrk; the same figures as ``pages_load.run``."""
    session = Session(spec["base"])
    session.sign_in(spec["username"], spec["password"])
    expected = 302 if spec["scenario"] == "new_case" else 200
    script = LUA % {
        "ids": ",".join(str(i) for i in spec["case_ids"]) or "0",
        "cats": ",".join(str(c) for c in spec["category_ids"]) or "0",
        "scenario": spec["scenario"],
        "expected": expected,
        "cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items()),
        "token": quote(session.cookies["csrftoken"]),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        result = subprocess.run(
            [
                WRK,
                "-t",
                "1",
                "-c",
                str(spec["threads"]),
                "-d",
                f"{max(1, int(spec['duration']))}s",
                "--timeout",
                "30s",
                "-s",
                f.name,
                spec["base"],
            ],
            capture_output=True,
            text=True,
            timeout=spec["duration"] * 3 + 60,
        )
    finally:
        Path(f.name).unlink(missing_ok=True)
    line = next((ln for ln in reversed(result.stdout.splitlines()) if ln.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError("wrk failed: " + (result.stderr or result.stdout)[-2000:])
    raw = json.loads(line)
    seconds = raw["micros"] / 1e6
    errors = raw["wrong_status"] + raw["socket_errors"]
    return {
        "scenario": spec["scenario"],
        "requests": raw["requests"],
        "errors": errors,
        "error_kinds": ([f"{raw['wrong_status']} not HTTP {expected}"] if raw["wrong_status"] else [])
        + ([f"{raw['socket_errors']} socket errors"] if raw["socket_errors"] else []),
        "seconds": round(seconds, 2),
        "threads": spec["threads"],
        "load": "wrk",
        "per_s": round(raw["requests"] / seconds, 1) if seconds else None,
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
    }

#!/usr/bin/env python3
"""The project's two entry points, needing nothing but Python 3.11+:

    python3 project/dev.py run    # venv, install, migrate, demo data, web + task cluster
    python3 project/dev.py test   # venv, install (with test tools), the whole suite
    python3 project/dev.py lint   # ruff: lint and formatting check (CI runs it first)

``run`` serves on SQLite unless DATABASE_URL is set; Ctrl-C stops the web server and
the django-q2 cluster together. Extra arguments after ``test`` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
# Process groups (POSIX): the run command stops its children and all they started.
GROUPS = hasattr(os, "killpg")


def sh(*args: str, **kwargs) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, **kwargs)


def ensure_env(requirements: str) -> None:
    """Create the virtualenv and install when the requirement files changed."""
    if not PY.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        print(f"Installing {requirements} ...", flush=True)
        sh(PY, "-m", "pip", "install", "-q", "-r", requirements)
        stamp.write_text(digest.hexdigest())


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops everything, exactly like Ctrl-C


def run() -> int:
    ensure_env("requirements.txt")
    env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1")}
    # One line per sweep from the task cluster (cases checked, escalated, duration).
    env.setdefault("SWEEP_LOG_LEVEL", "INFO")
    signal.signal(signal.SIGTERM, _stop)
    procs: list[subprocess.Popen] = []
    try:
        sh(PY, "manage.py", "migrate", "--noinput", env=env)
        sh(PY, "manage.py", "seed_demo", env=env)
        port = os.environ.get("PORT", "8000")
        print(
            f"\nServing on http://127.0.0.1:{port}/ with the task cluster beside it. Ctrl-C stops both.\n", flush=True
        )
        # Each in a session of its own, so stopping reaches what it started too (the task
        # cluster's workers, the autoreloader's server), as Ctrl-C in a terminal would.
        own = {"start_new_session": GROUPS}
        procs = [
            subprocess.Popen([str(PY), "manage.py", "qcluster"], cwd=ROOT, env=env, **own),
            subprocess.Popen([str(PY), "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=ROOT, env=env, **own),
        ]
        while all(p.poll() is None for p in procs):
            try:
                procs[1].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            _signal(p, signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        _reap(procs)
    return 0


def _signal(p: subprocess.Popen, signum: int) -> None:
    """``signum`` to ``p`` and, where processes have groups, to everything it started."""
    try:
        if GROUPS:
            os.killpg(p.pid, signum)
        elif p.poll() is None:
            p.send_signal(signum)
    except ProcessLookupError:
        pass


def _reap(procs: list[subprocess.Popen], seconds: float = 5.0) -> None:
    """Wait for what the children started to end too; kill whatever is left after ``seconds``."""
    deadline = time.monotonic() + seconds
    for p in procs:
        while GROUPS and time.monotonic() < deadline:
            try:
                os.killpg(p.pid, 0)  # anyone left in its group?
            except ProcessLookupError:
                break
            time.sleep(0.1)
        _signal(p, signal.SIGKILL if GROUPS else signal.SIGTERM)
        p.wait()


def test(args: list[str]) -> int:
    ensure_env("requirements-dev.txt")
    return subprocess.run([str(PY), "-m", "pytest", *args], cwd=ROOT).returncode


def lint() -> int:
    ensure_env("requirements-dev.txt")
    ruff = str(VENV / ("Scripts/ruff.exe" if os.name == "nt" else "bin/ruff"))
    checked = subprocess.run([ruff, "check", "."], cwd=ROOT).returncode
    formatted = subprocess.run([ruff, "format", "--check", "."], cwd=ROOT).returncode
    return checked or formatted


def main() -> int:
    commands = {"run": lambda: run(), "test": lambda: test(sys.argv[2:]), "lint": lambda: lint()}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())

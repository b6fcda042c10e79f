"""The run command a newcomer types: it serves the desk with the task cluster beside it,
says what each sweep did, and SIGTERM stops everything it started, like Ctrl-C."""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from escalations.automation import tasks

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except (FileNotFoundError, ProcessLookupError):
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_each_sweep_says_what_it_did(caplog):
    with caplog.at_level(logging.INFO, logger="escalations.sweep"):
        tasks.sweep()
    assert any("due cases checked" in r.getMessage() and "escalated" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_sigterm_stops_the_web_server_and_the_task_cluster(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "PORT": str(port)})
    proc = subprocess.Popen(
        [sys.executable, "project/dev.py", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # A first start migrates and seeds (about 80 s on a quiet 2-core machine); the
        # deadline leaves room for a machine busy with other work, not for a hang.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert proc.poll() is None, "the run command stopped before serving"
                time.sleep(1)
        else:
            pytest.fail("the desk did not answer within ten minutes")
        started = _children(proc.pid)
        assert len(started) >= 2  # the web server and the task cluster (and their workers)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
        time.sleep(1)
        assert [pid for pid in started if _alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()

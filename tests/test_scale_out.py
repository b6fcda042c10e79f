"""The scale-out run end to end, small: real gunicorn workers and qcluster processes on the
test database, whole-case journeys, a cluster killed mid-run, then every invariant."""

import json
import os

import pytest
from django.core.management import call_command
from django.db import connection

from escalations.devtools.benchmarks import scale_out


@pytest.fixture
def subprocesses_use_the_test_database(monkeypatch):
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("Q_SYNC", "0")
    # This process only enqueues (the test settings run tasks inline): the clusters do the work.
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_clusters_and_two_web_workers_lose_and_double_nothing(subprocesses_use_the_test_database, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # what gunicorn checks with
    call_command("seed_scale", "--cases", "400")
    result = scale_out.run(
        duration=8,
        threads=3,
        web_workers=2,
        qclusters=2,
        due=40,
        kill_at=4.0,
        restart_pg_at=None,
        out=open(os.devnull, "w"),
    )
    figures = result["figures"]
    broken = [f"{f.name}: {f.detail}" for f in result["findings"] if not f.held]
    assert broken == [], json.dumps(figures)[:3000]
    assert figures["journeys"] >= 1 and figures["http_500"] == 0
    assert figures["qcluster_kills"] == 1 and figures["sweep_tasks_ok"] >= 1
    assert set(figures["actions"]) >= {"intake", "take", "note", "escalate", "accept", "resolve"}

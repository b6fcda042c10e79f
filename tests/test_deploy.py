"""Production settings: `check --deploy` is clean with production values, the development
defaults refuse nothing they should not, and logins are throttled."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    full.update({"DJANGO_SETTINGS_MODULE": "project.settings", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True)


def test_check_deploy_is_clean_with_production_values():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        AUDIT_SECRET=secrets.token_urlsafe(64),
        AUDIT_CHECKPOINT_DIR="/var/lib/escalations/audit-checkpoints",
        DJANGO_ALLOWED_HOSTS="desk.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_does_not_install_the_development_tools():
    probe = (
        "import django; django.setup(); from django.apps import apps; "
        "from django.core.management import get_commands; "
        "print(apps.is_installed('escalations.devtools'), 'bench_sweep' in get_commands())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    base = {**env, "DJANGO_SETTINGS_MODULE": "project.settings"}
    production = {
        **base,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "AUDIT_SECRET": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "desk.example.com",
    }
    run = lambda e: subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=e, capture_output=True, text=True)
    assert run(production).stdout.split() == ["False", "False"], run(production).stderr
    assert run(base).stdout.split() == ["True", "True"]


def test_production_refuses_the_demo_secret():
    result = manage("check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="desk.example.com")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("DJANGO_SECRET_KEY", "short-key", "at least 50"),
        ("DJANGO_SECRET_KEY", "abcabcabcabc" * 6, "too predictable"),
        ("AUDIT_SECRET", "", "at least 50"),
        ("AUDIT_SECRET", "0123456789" * 6, "too predictable"),
    ],
)
def test_production_refuses_weak_secrets_saying_how_to_make_one(name, value, why):
    strong = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "AUDIT_SECRET": secrets.token_urlsafe(64)}
    result = manage(
        "check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="desk.example.com", **{**strong, name: value}
    )
    assert result.returncode != 0
    assert name in result.stderr and why in result.stderr and "secrets.token_urlsafe(64)" in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_production_refuses_the_audit_secret_equal_to_the_secret_key():
    same = secrets.token_urlsafe(64)
    result = manage(
        "check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="h.example", DJANGO_SECRET_KEY=same, AUDIT_SECRET=same
    )
    assert result.returncode != 0 and "AUDIT_SECRET must differ" in result.stderr


def test_deploy_check_flags_a_weak_secret_outside_production():
    """DJANGO_ENV forgotten on a real server: check --deploy still names the weak keys."""
    result = manage("check", "--deploy", DJANGO_SECRET_KEY="tiny", AUDIT_SECRET="tiny")
    assert result.returncode != 0 and "escalations.E001" in result.stderr and "AUDIT_SECRET" in result.stderr


@pytest.mark.django_db
def test_pages_carry_security_headers(client):
    response = client.get("/admin/login/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers.get("Content-Security-Policy-Report-Only") or response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account(client, settings, agent):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": agent.username, "password": "wrong"})
    locked = client.post("/admin/login/", {"username": agent.username, "password": "pw-for-tests-1"})
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session

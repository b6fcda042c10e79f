import os
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils import timezone

from escalations.core import config_cache

from .factories import FakeClock, staff

pytest_plugins = ["tests.browser_conftest", "tests.mail_conftest"]


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip on the quick SQLite path, but CI must run them: there
    a missing PostgreSQL fails the run instead."""
    on_postgres = connection.vendor == "postgresql"
    if os.environ.get("CI") and not on_postgres:
        raise pytest.UsageError("CI must run on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    if not on_postgres:
        marker = pytest.mark.skipif(True, reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """Configuration is cached per process for a few seconds; tests roll data back under it."""
    config_cache.clear()
    yield
    config_cache.clear()


@pytest.fixture
def clock_start():
    return datetime(2025, 6, 2, 8, 30, tzinfo=UTC)  # a Monday morning


@pytest.fixture
def clock(monkeypatch, clock_start):
    """Controls the time the workflow reads through ``django.utils.timezone.now``."""
    fake = FakeClock(clock_start)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


@pytest.fixture
def agent(db):
    return staff("Agent", "alice")


@pytest.fixture
def agent2(db):
    return staff("Agent", "arthur")


@pytest.fixture
def specialist(db):
    return staff("Specialist", "sam")


@pytest.fixture
def senior(db):
    return staff("Senior", "sienna")


@pytest.fixture
def expert(db):
    return staff("Expert", "ezra")


@pytest.fixture
def executive(db):
    return staff("Executive", "eve")


@pytest.fixture
def manager(db):
    return staff("Manager", "max")


@pytest.fixture
def auditor(db):
    return staff("Auditor", "audrey")

import pytest

from escalations.models import organisation

from .factories import staff


@pytest.fixture(autouse=True)
def _fresh_ladder_cache():
    """Levels are cached per process for a few seconds; tests roll data back under it."""
    organisation._ladder_cache.clear()
    yield
    organisation._ladder_cache.clear()


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

"""Every review store test runs on SQLite and on a real PostgreSQL started once per session.

Imported by the test modules (not a conftest.py: some existing tests import ``conftest`` by
name, and a second conftest module would shadow theirs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bluebench.review import ReviewStore
from pg_server import PgServer, shared_server

# Still argon2id, at test cost: the library default (64 MiB, 3 passes) costs about a second
# per user on a loaded CI machine, and the store tests create two users each.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """One server for the whole run, however many modules import this fixture."""
    return shared_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL of each kind: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'review.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()


@pytest.fixture
def store(store_url: str) -> Iterator[ReviewStore]:
    s = ReviewStore(store_url, hasher=FAST_HASHER)
    yield s
    s.close()


@pytest.fixture
def people(store: ReviewStore) -> ReviewStore:
    """A store with one lead (lena) and one analyst (ann)."""
    store.add_user("lena", "lead-password", "lead")
    store.add_user("ann", "analyst-password", "analyst")
    return store

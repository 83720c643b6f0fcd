"""Fixtures for the web tests (a plugin module, not a second conftest: tests import conftest by name).

One hostile sample workspace per session, a fresh review store per test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from webdata import build_workspace

from bluebench.review import LoginPolicy, ReviewStore
from bluebench.web import create_app

# Still argon2id, at test cost (the library default costs about a second per user when loaded).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LEAD = ("lead1", "lead-password-1")
ANALYST = ("analyst1", "analyst-password-1")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Samples + attack auth.log + hostile JSON lines, detected and grouped (built once)."""
    return build_workspace(tmp_path_factory.mktemp("web"))


@dataclass
class Site:
    """An app over the shared workspace with its own review store and two accounts."""

    client: TestClient
    store: ReviewStore
    workspace: Path

    def login(self, name: str, password: str) -> str:
        """Log in through the form; returns the CSRF token of the session's first page."""
        page = self.client.get("/login")
        token = CSRF_RE.search(page.text)
        assert token, "the login form carries a CSRF token"
        r = self.client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token.group(1), "next": "/"}
        )
        assert r.status_code == 200, r.text  # followed the redirect to the queue
        return csrf_of(r.text)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "the page carries the session's CSRF token"
    return found.group(1)


@pytest.fixture
def site(web_workspace: Path, tmp_path: Path) -> Iterator[Site]:
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*LEAD, "lead")
    store.add_user(*ANALYST, "analyst")
    # A delay no test outlives by accident: throttling asserts do not depend on the machine's speed.
    app = create_app(web_workspace, store=store, login_policy=LoginPolicy(base_s=600.0))
    with TestClient(app) as client:
        yield Site(client, store, web_workspace)
    app.state.con.close()
    store.close()

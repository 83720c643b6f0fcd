"""Security suite, logins: the delay is per account and client, forged addresses count for nothing.

Five wrong passwords for a lead's name used to block the lead's right password from every
address for 15 minutes (and across a restart); a forged ``X-Forwarded-For`` from loopback
moved the throttle's client at will. Now a guesser slows only itself, exponentially, a lead
can lift the delay, and forwarded headers count only from proxies the user named.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from login_helpers import ATTACKER, OWNER, attempt, client
from typer.testing import CliRunner
from web_fixtures import ANALYST, FAST_HASHER, LEAD

from bluebench.cli import app as cli
from bluebench.review import ReviewStore
from bluebench.web import create_app


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReviewStore]:
    s = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    s.add_user(*LEAD, "lead")
    s.add_user(*ANALYST, "analyst")
    yield s
    s.close()


def test_wrong_passwords_for_a_lead_do_not_lock_the_lead_out(web_workspace: Path, store: ReviewStore) -> None:
    """Five wrong passwords for the lead's name from one address; the lead, elsewhere, still gets in,
    before and after a restart (the failures are stored)."""
    app = create_app(web_workspace, store=store)
    with client(app, ATTACKER) as bad, client(app, OWNER) as owner:
        assert [attempt(bad, LEAD[0], "wrong-password").status_code for _ in range(5)] == [401] * 5
        assert attempt(owner, LEAD[0], LEAD[1]).status_code == 303
    restarted = create_app(web_workspace, store=store)
    with client(restarted, OWNER) as owner:
        assert attempt(owner, LEAD[0], LEAD[1]).status_code == 303


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``serve`` with uvicorn.run replaced: what it would serve, and how."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda web, **kw: seen.update(kw, app=web))
    return seen


def _served_app(seen: dict[str, Any]) -> Any:
    """The ASGI app uvicorn would run with the options ``serve`` gave it (proxy handling included)."""
    import uvicorn

    kw = {k: v for k, v in seen.items() if k != "app"}
    config = uvicorn.Config(seen["app"], **kw)
    config.load()
    return config.loaded_app


@pytest.mark.parametrize(("trusted", "seen_as"), [(None, "127.0.0.1"), ("127.0.0.1", "198.51.100.77")])
def test_forwarded_for_counts_only_from_a_named_proxy(
    web_workspace: Path, tmp_path: Path, served: dict[str, Any], trusted: str | None, seen_as: str
) -> None:
    db = f"sqlite:///{tmp_path / 'review.db'}"
    with ReviewStore(db, hasher=FAST_HASHER) as s:
        s.add_user(*ANALYST, "analyst")
    args = ["serve", "-w", str(web_workspace), "--db", db]
    r = CliRunner().invoke(cli, args + (["--forwarded-allow-ips", trusted] if trusted else []))
    assert r.exit_code == 0, r.output
    with TestClient(_served_app(served), client=("127.0.0.1", 5000)) as c:
        forged = {"X-Forwarded-For": "198.51.100.77"}
        assert attempt(c, ANALYST[0], "wrong-password", forged).status_code == 401
    served["app"].state.con.close()
    with ReviewStore(db) as s:
        failed = next(a for a in s.audit(ANALYST[0]) if a.action == "login.failed")
        assert failed.after is not None and failed.after["client"] == seen_as


def test_forwarded_allow_ips_must_be_addresses(web_workspace: Path, served: dict[str, Any]) -> None:
    r = CliRunner().invoke(cli, ["serve", "-w", str(web_workspace), "--forwarded-allow-ips", "*"])
    assert r.exit_code == 2 and "not an IP address or network" in r.output
    assert served == {}

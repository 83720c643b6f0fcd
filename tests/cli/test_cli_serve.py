"""bluebench serve: loopback by default, a one-time lead password with --demo, clear errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bluebench.cli import app
from bluebench.events.workspace import Workspace
from bluebench.review import ReviewStore


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """uvicorn.run replaced: record what would have been served instead of blocking."""
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(web: Any, **kw: Any) -> None:
        seen.update(kw, app=web)
        web.state.con.close()

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_demo_prints_address_and_a_password_that_works(tmp_path: Path, ran: dict[str, Any]) -> None:
    Workspace(tmp_path / "ws").close()
    result = CliRunner().invoke(app, ["serve", "-w", str(tmp_path / "ws"), "--demo"])
    assert result.exit_code == 0, result.output
    assert (ran["host"], ran["port"]) == ("127.0.0.1", 8765)
    assert "http://127.0.0.1:8765/" in result.output
    found = re.search(r"log in as (\S+) with the one-time password (\S+)", result.output)
    assert found
    with ReviewStore.for_workspace(tmp_path / "ws") as store:
        user = store.authenticate(found.group(1), found.group(2))
        assert user is not None and user.role == "lead"
    again = CliRunner().invoke(app, ["serve", "-w", str(tmp_path / "ws"), "--demo"])
    second = re.search(r"log in as (\S+) with the one-time password (\S+)", again.output)
    assert second and second.group(1) != found.group(1), "an earlier demo account is never reused"


def test_serve_refuses_a_missing_workspace_and_bad_options(tmp_path: Path, ran: dict[str, Any]) -> None:
    r = CliRunner().invoke(app, ["serve", "-w", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no bluebench workspace" in " ".join(r.output.split())
    assert not (tmp_path / "none").exists(), "nothing is created for a mistyped workspace"
    Workspace(tmp_path / "ws").close()
    r = CliRunner().invoke(app, ["serve", "-w", str(tmp_path / "ws"), "--port", "0"])
    assert r.exit_code == 2
    r = CliRunner().invoke(
        app, ["serve", "-w", str(tmp_path / "ws"), "--mail-evaluation", str(tmp_path / "x.json")]
    )
    assert r.exit_code == 2 and "no such file" in " ".join(r.output.split())
    assert ran == {}

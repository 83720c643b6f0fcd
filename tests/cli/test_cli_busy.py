"""Two users of one workspace: the second command gets a sentence naming the first and exit 2.

A second ``scan``, ``alerts`` or ``ingest`` during a scan, or ``scan`` while ``serve`` runs,
used to end in DuckDB's "Could not set lock on file" traceback with exit 1, the code the
README keeps for "input skipped". The holder runs in another process, as in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluebench.cli import app
from bluebench.events.workspace import Workspace
from logtext import sshd_lines, write_lines
from workspace_holder import Holder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    Workspace(ws).close()
    return ws


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        h.stop()


def hold(holders: list[Holder], folder: Path, command: str, mode: str) -> Holder:
    h = Holder(folder, command, mode)
    holders.append(h)
    return h


def test_commands_on_a_busy_workspace_exit_2_with_a_sentence(
    folder: Path, holders: list[Holder], tmp_path: Path
) -> None:
    log = write_lines(tmp_path / "auth.log", sshd_lines())
    scan = hold(holders, folder, "scan", "write")
    for args in (["scan", str(log)], ["ingest", str(log)], ["alerts"], ["incidents"], ["quality"]):
        r = CliRunner().invoke(app, [*args, "-w", str(folder)])
        assert r.exit_code == 2, (args, r.output)
        said = " ".join(r.output.split())
        assert f"by pid {scan.pid}" in said and "Traceback" not in said, args
    scan.stop()
    hold(holders, folder, "serve", "read")
    r = CliRunner().invoke(app, ["scan", str(log), "-w", str(folder), "--year", "2024"])
    assert r.exit_code == 2 and "the review UI (bluebench serve) started at" in " ".join(r.output.split())
    r = CliRunner().invoke(app, ["alerts", "-w", str(folder)])
    assert r.exit_code == 0 and "no alerts" in r.output, "reading while serve reads works"


def test_a_reader_of_a_missing_workspace_creates_nothing(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["alerts", "-w", str(tmp_path / "typo")])
    assert r.exit_code == 2 and "no bluebench workspace here" in " ".join(r.output.split())
    assert not (tmp_path / "typo").exists()

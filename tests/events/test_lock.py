"""One writer per workspace, many readers, and a refusal that names the holder (the lock itself).

Each holder runs in another process, as a second user's command does; the commands' exit
codes and messages are in ``tests/cli/test_cli_busy.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluebench.events.lock import READERS_DIR, WorkspaceBusy, live_readers
from bluebench.events.workspace import Workspace
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


def test_a_writer_is_named_to_the_next_writer_and_to_readers(folder: Path, holders: list[Holder]) -> None:
    scan = hold(holders, folder, "scan", "write")
    with pytest.raises(WorkspaceBusy) as writer:
        Workspace(folder, command="ingest")
    text = str(writer.value)
    assert re.search(rf"^a scan started at \d\d:\d\d by pid {scan.pid} holds the workspace ", text), text
    assert text.endswith("; wait for it to finish, or use another workspace (-w)")
    with pytest.raises(WorkspaceBusy, match=f"by pid {scan.pid} is writing the workspace"):
        Workspace(folder, command="alerts", read_only=True)
    scan.stop()
    Workspace(folder, command="ingest").close()  # released with its process: never a stale lock


def test_readers_share_and_a_writer_is_told_who_reads(folder: Path, holders: list[Holder]) -> None:
    serve = hold(holders, folder, "serve", "read")
    with Workspace(folder, command="alerts", read_only=True) as ws:
        assert ws.event_count() == 0, "a second reader works while serve reads"
    with pytest.raises(
        WorkspaceBusy,
        match=rf"the review UI \(bluebench serve\) started at .* by pid {serve.pid} is reading the workspace",
    ):
        Workspace(folder, command="scan")
    serve.stop()
    assert live_readers(folder) == [] and list((folder / READERS_DIR).glob("*.json")) == []
    Workspace(folder, command="scan").close()


def test_a_lock_taken_outside_bluebench_is_still_explained(folder: Path, holders: list[Holder]) -> None:
    other = hold(holders, folder, "-", "duckdb")
    with pytest.raises(WorkspaceBusy, match=f"another process holds the workspace .*PID {other.pid}"):
        Workspace(folder, command="scan")


def test_one_process_may_open_its_workspace_twice(folder: Path) -> None:
    """DuckDB shares one database per process; so does the lock (tests and libraries do this)."""
    with Workspace(folder, command="scan") as first, Workspace(folder, command="scan") as second:
        assert first.event_count() == second.event_count() == 0

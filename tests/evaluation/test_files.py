"""Labelled paths resolved to stored files, and evidence looked up for alerts made in memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from bluebench.evaluation.files import attach_evidence, build_index, resolve_path
from bluebench.schema import Alert, Evidence


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """The two workspace tables the index reads: a zip of two members, a log and its stored copy."""
    con = duckdb.connect()
    con.execute("CREATE TABLE files (path VARCHAR, duplicate_of VARCHAR)")
    con.execute(
        "INSERT INTO files VALUES ('sets/host.zip', NULL), ('logs/auth.log', NULL), "
        "('copies/auth.log', 'logs/auth.log')"
    )
    con.execute('CREATE TABLE events ("event.id" VARCHAR, "log.file.path" VARCHAR, "log.record" BIGINT)')
    con.execute(
        "INSERT INTO events VALUES ('e1', 'sets/host.zip!a.log', 1), ('e2', 'sets/host.zip!a.log', 2), "
        "('e3', 'sets/host.zip!b.log', 1), ('e4', 'logs/auth.log', 7)"
    )
    return con


def _alert(event_ids: list[str], evidence: list[Evidence] | None = None) -> Alert:
    t = datetime(2024, 3, 3, 8)
    return Alert(
        "brute_force", "t", "high", 0.9, [], ["T1110"], {"user": "a"}, t, t, len(event_ids), [],
        event_ids, evidence or [],
    )  # fmt: skip


def test_zip_members_belong_to_the_stored_zip(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    index = build_index(con, tmp_path)
    assert index.container == {
        "sets/host.zip!a.log": "sets/host.zip",
        "sets/host.zip!b.log": "sets/host.zip",
        "logs/auth.log": "logs/auth.log",
    }
    assert index.events == {"sets/host.zip": 3, "logs/auth.log": 1}
    # A label may name the zip, or one member of it as 'x.zip!member'.
    zip_path = tmp_path / "sets" / "host.zip"
    assert index.lookup(zip_path, "host.zip") == "sets/host.zip"
    assert index.lookup(tmp_path / "sets" / "host.zip!b.log", "host.zip!b.log") == "sets/host.zip!b.log"
    assert index.lookup(tmp_path / "sets" / "gone.zip", "gone.zip") is None


def test_a_stored_copy_resolves_to_the_original(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    index = build_index(con, tmp_path)
    assert index.lookup(tmp_path / "copies" / "auth.log", "auth.log") == "logs/auth.log"
    assert resolve_path("copies/../logs/auth.log", tmp_path) == str(tmp_path.resolve() / "logs" / "auth.log")


def test_attach_evidence_fills_only_alerts_without_it(con: duckdb.DuckDBPyConnection) -> None:
    made = _alert(["e3", "e1", "missing"])
    stored = _alert(["e4"], [Evidence("elsewhere.log", 9)])
    attach_evidence(con, [made, stored])
    assert made.evidence == [Evidence("sets/host.zip!b.log", 1), Evidence("sets/host.zip!a.log", 1)]
    assert stored.evidence == [Evidence("elsewhere.log", 9)]
    # The lookup table is registered only while it is used.
    assert "eval_ids" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}

"""The subsets of events a detect run selects once for several detectors: same findings, tables gone after."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from bluebench import pipeline
from bluebench.detectors import behaviour, build_detectors, load_config
from bluebench.detectors.base import bound_params, shared_scans, shared_table
from bluebench.engines import Db
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert

if TYPE_CHECKING:
    from conftest import EventRows
    from generated_org import GeneratedRun

MakeWorkspace = Callable[["EventRows"], Workspace]

# The detectors that read the run's shared tables when they are there.
SHARED_READERS = ("unusual_logon_hour", "new_source_or_host", "new_logon_type", "user_day_anomaly")


def summary(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return sorted((a.id, a.score, tuple(a.reasons), tuple(a.event_ids)) for a in alerts)


def test_each_reader_alone_finds_what_it_found_in_the_shared_run(generated_run: GeneratedRun) -> None:
    # generated_run ran every detector through run_detectors, so these read the shared tables;
    # alone, each selects its logons from the events itself.
    found = 0
    for det in build_detectors(load_config(), only=list(SHARED_READERS)):
        shared = generated_run.of(det.id)
        assert summary(det.detect(generated_run.ws.con)) == summary(shared), det.id
        found += len(shared)
    assert found > 0  # the comparison saw findings, not only empty lists


def test_alone_and_shared_agree_with_changed_parameters(generated_run: GeneratedRun) -> None:
    # Parameters that change the shared selection (the clock) or only the judgement must give
    # their own tables, never another configuration's rows.
    overrides = {
        "unusual_logon_hour": {"timezone": "Europe/Paris"},
        "new_logon_type": {"ignore_users": "^$"},
        "new_source_or_host": {"shared_accounts": 3},
    }
    config = load_config(overrides=overrides)
    detectors = build_detectors(config, only=list(overrides)) + build_detectors(
        load_config(), only=list(overrides)
    )
    con = generated_run.ws.con
    alone = [summary(d.detect(con)) for d in detectors]
    with shared_scans(con):
        shared = [summary(d.detect(con)) for d in detectors]
    assert shared == alone


def test_a_shared_table_is_made_once_per_run_and_dropped_after() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT range AS n FROM range(10)")
    select = "SELECT n FROM events WHERE n < $limit"
    assert shared_table(con, select, {"limit": 3}) is None  # outside a run: read the events
    with shared_scans(con):
        first = shared_table(con, select, {"limit": 3, "unused": "x"})
        assert first is not None
        assert shared_table(con, select, {"limit": 3}) == first  # values it does not read do not count
        other = shared_table(con, select, {"limit": 5})
        assert other != first
        assert con.execute(f"SELECT count(*) FROM {first}").fetchall() == [(3,)]
        assert con.execute(f"SELECT count(*) FROM {other}").fetchall() == [(5,)]
        assert shared_table(duckdb.connect(), select, {"limit": 3}) is None  # another connection's run
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert tables == []


def test_the_tables_are_dropped_when_a_detector_fails() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT 1 AS n")
    with pytest.raises(RuntimeError), shared_scans(con):
        assert shared_table(con, "SELECT n FROM events", {}) is not None
        raise RuntimeError("a detector failed")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT $tz, $pool_window", {"tz", "pool_window"}),
        ("SELECT $pool_window_days", set()),  # a longer name is not the shorter one's marker
        ("SELECT 1", set()),
    ],
)
def test_only_the_parameters_a_query_names_are_bound(sql: str, expected: set[str]) -> None:
    params = {"tz": "UTC", "pool_window": 14, "ignore_users": "x"}
    assert set(bound_params(sql, params)) == expected


def test_the_scan_job_shares_the_logons_between_the_behaviour_detectors(
    event_rows: EventRows, make_workspace: MakeWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pipeline.detect (what scan and detect run) must hold a shared run, or each detector selects alone.
    made: list[str | None] = []

    def recording(con: Db, select: str, params: Mapping[str, Any]) -> str | None:
        name = shared_table(con, select, params)
        made.append(name)
        return name

    monkeypatch.setattr(behaviour, "shared_table", recording)
    event_rows.logon("2024-01-01T09:00:00", "alice", host="ws1", src="10.0.0.5", logon_type=3)
    ws = make_workspace(event_rows)
    pipeline.detect(ws.con, pipeline.DetectOptions(only=SHARED_READERS))
    assert made and all(made)  # every ask got a table of the run
    assert len(set(made)) == 2  # one of logons and one of pooled sources, for all of them
    temporary = ws.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()
    assert temporary == [(0,)]

"""The log-clearing detector on recorded attacks and on PowerShell text.

The EVTX files are from EVTX-to-MITRE-Attack (CC0); see tests/data/evtx/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover
from detector_runs import evidence_codes, run_detector, unpack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evtx"
SAMPLES = ROOT / "data" / "samples" / "evtx"
FILES = (
    "ID4688-Clear event log attempt (wmi).evtx",
    "ID800-4103-4104-Clear event log attempt.evtx",
)
SAMPLE_FILES = (
    SAMPLES
    / "TA0005-Defense Evasion"
    / "T1070.001-Clear Windows event logs"
    / "ID104-1102-Event log cleared.evtx",
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The recorded log-clearing attacks in one workspace (gzipped test files unpacked first)."""
    folder = tmp_path_factory.mktemp("logs")
    paths = [str(p) for p in SAMPLE_FILES]
    paths += unpack(folder, FILES, DATA)
    w = Workspace(folder / "ws")
    w.ingest(discover(paths))
    yield w
    w.close()


def _alerts(ws: Workspace, detector: str, **params: Any) -> list[Alert]:
    return run_detector(ws, detector, **params)


def test_logs_cleared_and_clearing_commands(ws: Workspace) -> None:
    alerts = sorted(_alerts(ws, "log_cleared"), key=lambda a: a.first_seen)
    assert len(alerts) == 2
    bulk, wmic = alerts
    assert bulk.entities == {"host": "FS03.offsec.lan", "user": "admmig"}
    assert bulk.reasons[0] == "the Security log of FS03.offsec.lan was cleared by admmig (1102)"
    assert bulk.reasons[1].startswith("90 other logs cleared by admmig (104): ")
    assert "Clear-EventLog -LogName application, system -confirm" in bulk.reasons[2]
    assert evidence_codes(ws, bulk) == {"104": 90, "1102": 1, "4103": 1, "4104": 1, "800": 1}
    assert 'wmic  nteventlog where filename="security" cl' in wmic.reasons[1]
    assert evidence_codes(ws, wmic) == {"1102": 1, "4688": 1} and wmic.techniques == ["T1070.001"]


def test_module_manifests_listing_cmdlets_are_not_clearing(event_rows: Any, make_workspace: Any) -> None:
    manifest = 'CmdletsToExport=@("Get-EventLog",\r\n    "Clear-EventLog",\r\n    "Write-EventLog")'
    event_rows.add(
        "2024-03-03T08:00:00",
        code="4104",
        action="powershell-script-block",
        host="ws1",
        data={"ScriptBlockText": manifest},
    )
    event_rows.add(
        "2024-03-03T08:05:00",
        code="4104",
        action="powershell-script-block",
        host="ws1",
        data={"ScriptBlockText": "Clear-EventLog -LogName Security"},
    )
    alerts = _alerts(make_workspace(event_rows), "log_cleared")
    assert len(alerts) == 1 and alerts[0].event_count == 1
    assert "Clear-EventLog -LogName Security; no log-cleared event follows" in alerts[0].reasons[0]

"""Sigma under memory pressure: the same matches, a record DuckDB cannot read alone named, never a crash.

``bluebench sigma run`` on the OTRF folder died in field extraction with DuckDB's
OutOfMemoryException, and the file reader dropped a varying number of batches as "file not
read: Out of Memory Error", so the events seen changed from run to run. Both now halve what
failed until it fits; only a record that fails alone is skipped, by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from sigma_helpers import PROC, SYSMON, batch, write_rule

from bluebench.sigma import ReadReport, SigmaEngine, compile_rules, detect_files, engine_alerts
from bluebench.sigma import extract as extract_mod
from bluebench.sigma import source as source_mod

RULE = PROC.format(
    id="5a1e0000-0000-4000-8000-000000000001",
    detection="""    selection:
        CommandLine|contains: mimikatz
    condition: selection""",
)


def wide_events(n: int = 400) -> list[dict[str, Any]]:
    """Process events with long command lines (as PowerShell droppers write), every 11th a match."""
    return [
        {
            "CommandLine": "x" * (20_000 + i) + (" mimikatz" if i % 11 == 0 else ""),
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "ParentImage": "C:\\Windows\\explorer.exe",
            "_host": f"pc{i % 3}",
        }
        for i in range(n)
    ]


def matched(engine: SigmaEngine) -> list[tuple[str, int, int]]:
    return sorted(
        (a.entities.get("host", ""), a.event_count, len(a.event_ids)) for a in engine_alerts(engine)
    )


def test_a_cell_too_big_for_duckdb_memory_is_read_in_halves(tmp_path: Path) -> None:
    rules = compile_rules([write_rule(tmp_path, RULE)])
    events = batch(wide_events())
    ample = SigmaEngine(rules)
    ample.run([events])
    tight = SigmaEngine(rules)
    # As on a real host log: more than DuckDB may use for one cell's fields at once.
    tight._reader._con.execute("SET memory_limit = '8MB'")
    tight.run([events])
    assert matched(tight) == matched(ample) and sum(c for _, c, _ in matched(ample)) == 37
    assert tight.skipped == [] and tight.events_seen == ample.events_seen == 400


def test_an_event_that_fails_alone_is_named_and_the_rest_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = compile_rules([write_rule(tmp_path, RULE)])
    events = batch(wide_events(44))
    real = extract_mod.extract_lists

    def refuses_record_12(
        con: duckdb.DuckDBPyConnection, b: pa.Table, take: pa.Array, gid: Any, paths: list[list[str]]
    ) -> Any:
        if 12 in b.column("record").take(take).to_pylist():
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate")
        return real(con, b, take, gid, paths)

    monkeypatch.setattr(extract_mod, "extract_lists", refuses_record_12)
    engine = SigmaEngine(rules)
    engine.run([events])
    assert [(s.file, s.record) for s in engine.skipped] == [("test.evtx", 12)]
    assert "Sigma fields not read: Out of Memory Error" in engine.skipped[0].reason
    # Record 12 (i = 11) is a match; the other three matches of 44 events are still found.
    assert sum(c for _, c, _ in matched(engine)) == 3


def otrf_file(path: Path, n: int) -> Path:
    lines = [
        json.dumps(
            {
                "EventID": 1,
                "Channel": SYSMON,
                "SourceName": "Microsoft-Windows-Sysmon",
                "Hostname": "pc1",
                "TimeCreated": f"2024-03-01T10:00:{i % 60:02d}.000Z",
                "Image": "C:\\Windows\\System32\\cmd.exe",
                "CommandLine": "run" + (" mimikatz" if i % 5 == 0 else ""),
            }
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_file_reader_halves_a_batch_and_names_the_record_at_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = otrf_file(tmp_path / "host.json", 60)
    rules = compile_rules([write_rule(tmp_path, RULE)])
    real = source_mod._reduce

    def runs_out(
        con: duckdb.DuckDBPyConnection, shape: str, parts: list[tuple[pa.Table, str]], rep: ReadReport
    ) -> pa.Table:
        records = [r for t, _ in parts for r in t.column("record").to_pylist()]
        if len(records) > 8 or 41 in records:  # too big for memory; record 41 fails even alone
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate")
        return real(con, shape, parts, rep)

    monkeypatch.setattr(source_mod, "_reduce", runs_out)
    runs = []
    for _ in range(2):
        report = ReadReport()
        engine, alerts = detect_files([str(path)], rules, report)
        runs.append(
            (engine.events_seen, sum(a.event_count for a in alerts), [str(s) for s in report.skipped])
        )
    assert runs[0] == runs[1], "the same events whatever happened in between"
    seen, hits, skipped = runs[0]
    assert seen == 59 and hits == 11, "record 41 (i = 40, a match) alone is missing"
    assert skipped == [f"{path}, record 41: record not read: Out of Memory Error: failed to allocate"]

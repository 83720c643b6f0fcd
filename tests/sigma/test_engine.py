"""Cells read their fields in one DuckDB call per turn of reads, small cells share their atoms'
evaluation, and each cell gets the matches it gets alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sigma_helpers import batch, write_rule

from bluebench.sigma import SigmaEngine, compile_rules
from bluebench.sigma import engine as engine_mod
from bluebench.sigma import extract as extract_mod

RULES = """title: proc
id: 00000000-0000-4000-8000-000000000001
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\\evil.exe'
    condition: sel
---
title: net
id: 00000000-0000-4000-8000-000000000002
logsource: {category: network_connection, product: windows}
detection:
    sel:
        DestinationPort: 4444
    condition: sel
---
title: reg
id: 00000000-0000-4000-8000-000000000003
logsource: {category: registry_set, product: windows}
detection:
    sel:
        TargetObject|contains: '\\CurrentVersion\\Run'
    filter:
        Image|endswith: '\\trusted.exe'
    condition: sel and not filter
"""


def mixed_events() -> list[dict[str, Any]]:
    """A few events of three cells (Sysmon 1, 3, 13), each cell with matches and misses."""
    out: list[dict[str, Any]] = []
    for i in range(30):
        kind = i % 3
        if kind == 0:
            out.append({"_code": "1", "Image": "C:\\x\\evil.exe" if i % 2 else "C:\\x\\good.exe"})
        elif kind == 1:
            out.append({"_code": "3", "DestinationPort": 4444 if i % 4 == 1 else 443, "Image": "a.exe"})
        else:
            image = "C:\\trusted.exe" if i % 4 == 0 else "C:\\other.exe"
            out.append(
                {
                    "_code": "13",
                    "TargetObject": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
                    "Image": image,
                }
            )
    return out


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_rows: int, read_rows: int = 4096
) -> tuple[dict[str, list[int]], int, int]:
    """Matched records per rule, how many DuckDB calls read fields, and how many small-cell groups ran."""
    monkeypatch.setattr(engine_mod, "SMALL_CELL_ROWS", small_rows)
    monkeypatch.setattr(engine_mod, "READ_ROWS", read_rows)
    calls = groups = 0
    real = extract_mod.extract_lists
    real_small = SigmaEngine._run_small

    def counted(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args)

    def counted_small(self: SigmaEngine, *args: Any) -> Any:
        nonlocal groups
        groups += 1
        return real_small(self, *args)

    monkeypatch.setattr(extract_mod, "extract_lists", counted)
    monkeypatch.setattr(SigmaEngine, "_run_small", counted_small)
    rs = compile_rules([write_rule(tmp_path, RULES)])
    assert not rs.failures and len(rs.rules) == 3
    eng = SigmaEngine(rs)
    eng.run([batch(mixed_events())])
    got = {r.title: sorted(int(e.record) for e in eng.matches[r.id].events) for r in rs.rules}
    return got, calls, groups


def test_small_cells_share_one_read_and_match_as_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    together, calls_together, groups_together = _run(tmp_path, monkeypatch, small_rows=256)
    alone, calls_alone, groups_alone = _run(tmp_path, monkeypatch, small_rows=0)
    assert together == alone
    # One DuckDB call reads the fields of every cell either way; small cells also share one group.
    assert (calls_together, groups_together) == (1, 1) and (calls_alone, groups_alone) == (1, 0)
    events = mixed_events()
    assert together["proc"] == [
        i + 1 for i, e in enumerate(events) if e.get("Image", "").endswith("evil.exe")
    ]
    assert together["net"] == [i + 1 for i, e in enumerate(events) if e.get("DestinationPort") == 4444]
    assert together["reg"] == [
        i + 1 for i, e in enumerate(events) if "TargetObject" in e and not e["Image"].endswith("trusted.exe")
    ]


def test_groups_are_bounded_by_rows_times_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "SMALL_CELLS_READS", 1)  # every small cell fills a group alone
    bounded, calls, groups = _run(tmp_path, monkeypatch, small_rows=256)
    monkeypatch.setattr(engine_mod, "SMALL_CELLS_READS", 65_536)
    assert (calls, groups) == (1, 3)
    assert bounded == _run(tmp_path, monkeypatch, small_rows=256)[0]


def test_reads_are_bounded_by_rows_per_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Three cells of ten rows each, each a read of its own: a call per read when a call holds ten rows.
    per_read, calls, _ = _run(tmp_path, monkeypatch, small_rows=0, read_rows=10)
    assert calls == 3
    assert per_read == _run(tmp_path, monkeypatch, small_rows=0)[0]


def test_a_run_allocates_from_the_system_pool_and_restores_the_default_after(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, RULES)])
    before = pa.default_memory_pool().backend_name
    seen: list[str] = []

    def batches() -> Iterator[pa.Table]:
        seen.append(pa.default_memory_pool().backend_name)
        yield batch(mixed_events())
        raise RuntimeError("a reader failed")

    eng = SigmaEngine(rs)
    with pytest.raises(RuntimeError):
        eng.run(batches())
    assert seen == ["system"] and pa.default_memory_pool().backend_name == before
    eng = SigmaEngine(rs)
    eng.run(iter([batch(mixed_events())]))
    assert sum(m.count for m in eng.matches.values()) > 0 and pa.default_memory_pool().backend_name == before


def test_the_engine_database_uses_one_thread_unless_asked_for_more(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, RULES)])

    def threads(eng: SigmaEngine) -> int:
        return int(eng.connection.sql("SELECT current_setting('threads')").fetchall()[0][0])

    one, two = SigmaEngine(rs), SigmaEngine(rs, threads=2)
    assert threads(one) == 1 and threads(two) == 2
    for eng in (one, two):
        eng.run([batch(mixed_events())])
    assert {k: m.count for k, m in one.matches.items()} == {k: m.count for k, m in two.matches.items()}
    assert sum(m.count for m in one.matches.values()) > 0

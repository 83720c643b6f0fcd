"""The Sigma file reader names a line that is not JSON, as ingest does, and reads the rest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from bluebench.datagen import generate
from bluebench.events.workspace import Workspace
from bluebench.sigma.source import NOT_JSON, ReadReport, file_batches
from bluebench.sources import discover


def test_a_line_that_is_not_json_is_named_and_the_rest_read(tmp_path: Path) -> None:
    generate(tmp_path / "gen", 1000, seed=3, days=1, linux_share=0.0)
    (day,) = sorted((tmp_path / "gen" / "windows").glob("*.ndjson"))
    lines = day.read_text(encoding="utf-8").splitlines()
    bad = 7  # 1-based line number of the line cut in half
    lines[bad - 1] = lines[bad - 1][: len(lines[bad - 1]) // 2]
    path = tmp_path / "cut.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ReadReport()
    table = pa.concat_tables(list(file_batches([str(path)], report)))
    skips = [(s.file, s.record, s.reason) for s in report.skipped]
    assert skips == [(str(path), bad, f"{NOT_JSON}: {lines[bad - 1][:60]!r}")]
    assert table.num_rows == len(lines) - 1
    assert bad not in table.column("record").to_pylist()

    with Workspace(tmp_path / "ws") as ws:
        ws.ingest(list(discover([str(path)])))
        stored = ws.con.execute("SELECT record, reason FROM skipped").fetchall()
    assert stored == [(bad, skips[0][2])]  # the same words as ingest

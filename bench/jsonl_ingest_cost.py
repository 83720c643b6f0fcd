"""Where the CPU of storing Winlogbeat JSON lines goes: the direct INSERT with columns left out.

Runs the INSERT that ingest runs on plain Windows JSON lines (``events.direct``: ``read_text``,
the normalizing SELECT) over the first ``--files`` generated days of ``run_jsonl.py``, into fresh
database files set as the workspace sets its own, the variants interleaved, each ``--runs``
times (CPU and wall seconds, commit and checkpoint included; median and minimum):

- ``today``: exactly the query and table ingest uses, its files in one part per DuckDB thread
  side by side, DuckDB at the share of the limit the workspace gives it then;
- ``one_part``: the same INSERT with every file in one ``read_text``, as ingest ran it before
  its parts, DuckDB at the whole limit;
- ``original_null``, ``event_data_null``, ``both_null``: the same as ``today``, storing NULL for
  the raw record (``event.original``), the EventData JSON (``winlog.event_data``) or both;
- ``promoted_null``: NULL for the 56 promoted ``winlog.event_data.*`` columns;
- ``computed_only``: every column computed (one hash of all of them per row), nothing stored.

Beside each variant's CPU, the busiest thread's in the INSERT (from ``/proc/self/task``; the
checkpoint on closing not counted): about the INSERT's wall time on an idle machine, where the
other threads run beside it. The NULL variants lose data and are
no layout bluebench could use: each difference to ``today``
is what storing those columns costs, ``today - computed_only`` what storing costs in all.

    PYTHONPATH=src:bench .venv/bin/python bench/jsonl_ingest_cost.py --files 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from bluebench.events import direct
from bluebench.events.normalize import SOURCES_VARIABLE
from bluebench.events.storage import EVENT_STORE
from bluebench.events.workspace import SCHEMA_SQL
from bluebench.schema import EVENT_COLUMNS, EVENT_DATA_PREFIX, q
from bluebench.sources import ReadOptions
from common import ROOT, cpu_seconds, machine, write_result
from run_jsonl import OUT

VARIANTS = (
    "one_part",
    "today",
    "original_null",
    "event_data_null",
    "both_null",
    "promoted_null",
    "computed_only",
)
TYPES = {c: t for c, t, _ in EVENT_COLUMNS}


def _connect(path: Path, files: list[Path], memory: str) -> duckdb.DuckDBPyConnection:
    """A database file set as the workspace sets its own (``Workspace._configure``), with its tables."""
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for setting in (f"memory_limit = '{memory}'", "preserve_insertion_order = false", "max_vacuum_tasks = 0"):
        con.execute(f"SET {setting}")
    con.execute("SET TimeZone = 'UTC'")
    names = [f.name for f in files]
    con.execute(f"SET VARIABLE {SOURCES_VARIABLE} = MAP(?::VARCHAR[], ?::VARCHAR[])", [names, names])
    con.execute(SCHEMA_SQL[0])
    return con


def _nulls(columns: list[str]) -> str:
    return ", ".join(f"NULL::{TYPES[c]} AS {q(c)}" for c in columns)


def _sql(variant: str, parts: int) -> str:
    """The statement of one variant over the direct INSERT's SELECT."""
    insert = direct.insert_sql("winlogbeat", parts)
    select = insert.removeprefix(f"INSERT INTO {EVENT_STORE} ")
    promoted = [c for c in TYPES if c.startswith(EVENT_DATA_PREFIX)]
    nulled = {
        "original_null": ["event.original"],
        "event_data_null": ["winlog.event_data"],
        "both_null": ["event.original", "winlog.event_data"],
        "promoted_null": promoted,
    }
    if variant in ("today", "one_part"):
        return insert
    if variant == "computed_only":
        every = ", ".join(q(c) for c in TYPES)
        return f"SELECT count(*), count(*) FILTER (hash({every}) = 0) FROM ({select})"
    return f"INSERT INTO {EVENT_STORE} SELECT * REPLACE ({_nulls(nulled[variant])}) FROM ({select})"


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process so far (Linux; empty elsewhere)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        out[task.name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def storage(files: list[Path], runs: int, scratch: Path) -> dict[str, Any]:
    """CPU and wall seconds of each variant, interleaved; the rows ``today`` stored."""
    paths = [direct.path_text(f) for f in files]
    threads = int(duckdb.connect().execute("SELECT current_setting('threads')").fetchall()[0][0])
    split = direct.split_by_size([f.stat().st_size for f in files], threads)
    common: dict[str, object] = {
        "paths": paths,
        "names": [f.name for f in files],
        "max_line": ReadOptions().limits.record_bytes,
    }
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    busiest: dict[str, list[float]] = {v: [] for v in VARIANTS}
    wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
    rows = 0
    for _ in range(runs):
        for v in VARIANTS:
            parts = [list(range(len(files)))] if v == "one_part" else split
            params = {
                **common,
                **{direct.part_parameter(i): [paths[j] for j in p] for i, p in enumerate(parts)},
            }
            memory = 10**9 if len(parts) == 1 else int(10**9 * direct.PARALLEL_MEMORY_SHARE)
            con = _connect(scratch / f"{v}.duckdb", files, f"{memory}B")
            t0, c0, threads0 = time.perf_counter(), cpu_seconds(), _thread_cpu()
            got = con.execute(_sql(v, len(parts)), params).fetchall()[0][0]
            after = _thread_cpu()  # before closing, which ends DuckDB's threads
            busiest[v].append(max((after[t] - threads0.get(t, 0.0) for t in after), default=0.0))
            con.close()  # the checkpoint: what a transaction left to compress is written here
            wall[v].append(time.perf_counter() - t0)
            cpu[v].append(cpu_seconds() - c0)
            if v == "today":
                rows = int(got)
    for v in VARIANTS:
        for p in (scratch / f"{v}.duckdb", scratch / f"{v}.duckdb.wal"):
            p.unlink(missing_ok=True)
    return {
        "rows": rows,
        "parts": len(split),
        **{
            v: {
                "cpu_s_median": round(statistics.median(cpu[v]), 2),
                "cpu_s_min": round(min(cpu[v]), 2),
                "busiest_thread_cpu_s_median": round(statistics.median(busiest[v]), 2),
                "busiest_thread_cpu_s_min": round(min(busiest[v]), 2),
                "wall_s_median": round(statistics.median(wall[v]), 2),
                "cpu_us_per_event_median": round(statistics.median(cpu[v]) * 1e6 / max(rows, 1), 2),
            }
            for v in VARIANTS
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000, help="which generated set (run_jsonl.py)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=8, help="the first N generated days")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    data = OUT / f"jsonl-{args.events}-s{args.seed}"
    files = sorted((data / "windows").glob("*.ndjson"))[: args.files]
    if not files:
        raise SystemExit(f"{data}: no generated Windows files; run bench/run_jsonl.py --events {args.events}")
    scratch = OUT / "jsonl-ingest-cost"
    scratch.mkdir(parents=True, exist_ok=True)
    before = machine()
    result = {
        "input": {
            "folder": os.path.relpath(data, ROOT),
            "files": len(files),
            "bytes": sum(f.stat().st_size for f in files),
        },
        "runs": args.runs,
        "insert": storage(files, args.runs, scratch),
        "machine": before,
    }
    path = write_result(f"jsonl-ingest-cost-{args.files}", result, args.out)
    ins = result["insert"]
    print(f"load average at start {before['load_average_at_start']}, at end {os.getloadavg()}")
    print(f"{ins['rows']:,} events in {len(files)} files, {ins['parts']} parts")
    for v in VARIANTS:
        print(f"{v:16s} {ins[v]}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Where the CPU of storing Zeek conn records goes: the INSERT by table width, and each SQL expression.

Reads the generated ``conn.log`` of ``run_netflow.py`` once with the Zeek reader (timed), then
runs the normalization INSERT that ingest runs into fresh database files, the variants
interleaved, each ``--runs`` times (CPU seconds: median and minimum):

- ``every_column``: a table of every event column, as the workspace stored flows before
  ``events.storage`` (NULL for every column a network record leaves empty);
- ``flow_store``: the flow table as the workspace makes it (``netflow.FLOW_COLUMNS``), exactly
  the query ingest runs (checked to store the very same values as ``every_column``);
- ``filled_only``: a table of only the columns a conn record fills;
- ``id_as_number`` (only with ``--id-as-number``): the flow table with ``event.id`` stored as the
  md5's 128 bits (``UHUGEINT``, ``md5_number``) instead of its 32 hex characters.

``filled_only`` is not a layout bluebench could use (other logs fill other columns): it shows what
the columns a conn record leaves empty still cost to store. ``id_as_number`` prices a change of
the stored id (the view would have to show the same hex text, and old workspaces be upgraded).
Beside them, DuckDB's CSV reader storing the file's columns as it types them, nothing else (the
floor). Then the CPU of evaluating single expressions of the same query alone (``count(expr)``, nothing stored; minimum of the runs): the line split, the
event id and its md5, the direction, and every column at once.

    PYTHONPATH=src:bench .venv/bin/python bench/netflow_ingest_cost.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bluebench.datagen.netflows import NetPlan
from bluebench.events import netflow
from bluebench.events.netflow import FLOW_ALIASES, FLOW_COLUMNS, PROVENANCE
from bluebench.events.normalize import SOURCES_VARIABLE, normalize_sql
from bluebench.events.storage import column_sql
from bluebench.events.workspace import _with_file
from bluebench.schema import EVENT_COLUMNS, q
from bluebench.sources import ReadOptions, Skipped
from bluebench.sources.zeek import ZeekTsvReader
from common import cpu_seconds, machine, shown, write_result
from run_netflow import OUT, generated

VARIANTS = ("every_column", "flow_store", "filled_only")
#: Run only when asked (``--id-as-number``): it takes about fifteen times the others.
ID_VARIANT = "id_as_number"


def _table_sql(columns: list[str], id_type: str = "VARCHAR") -> str:
    types = {c: t for c, t, _ in EVENT_COLUMNS} | {"event.id": id_type}
    return "CREATE TABLE events (" + ", ".join(column_sql(c, types[c]) for c in columns) + ")"


def _connect(path: Path, log: Path) -> duckdb.DuckDBPyConnection:
    """A database file set as the workspace sets its own (``Workspace._configure``)."""
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for setting in ("memory_limit = '1GB'", "preserve_insertion_order = false", "max_vacuum_tasks = 0"):
        con.execute(f"SET {setting}")
    con.execute(
        f"SET VARIABLE {SOURCES_VARIABLE} = MAP(?::VARCHAR[], ?::VARCHAR[])", [[str(log)], [str(log)]]
    )
    return con


def _insert(variant: str, wide: str, filled: list[str], everything: list[str]) -> tuple[str, str]:
    """(CREATE TABLE, INSERT) of one variant: the flow table's SELECT, stored by name."""
    flow = [c for c, _, _ in FLOW_COLUMNS]
    table = {"every_column": everything, "flow_store": flow, "filled_only": filled, "id_as_number": flow}[
        variant
    ]
    stored = filled if variant == "filled_only" else flow
    if variant == "id_as_number":
        # The same 128 bits as the md5 text, stored as one UHUGEINT instead of 32 hex characters.
        if wide.count("md5(") != 1:
            raise SystemExit(
                "the normalization query no longer makes event.id with one md5(): update the bench"
            )
        wide = wide.replace("md5(", "md5_number(")
    return _table_sql(
        table, "UHUGEINT" if variant == "id_as_number" else "VARCHAR"
    ), f"INSERT INTO events BY NAME SELECT {', '.join(q(c) for c in stored)} FROM ({wide})"


def storage(
    table: pa.Table,
    params: dict[str, object],
    log: Path,
    runs: int,
    scratch: Path,
    variants: tuple[str, ...] = VARIANTS,
) -> dict[str, Any]:
    """CPU and wall seconds of each variant's INSERT, interleaved; ``flow_store`` checked against ``every_column``."""
    wide = normalize_sql("zeek", params)
    cols, _ = netflow.zeek_tsv(params)
    everything = [c for c, _, _ in EVENT_COLUMNS]
    filled = [c for c in everything if (c in cols or c in PROVENANCE) and c not in FLOW_ALIASES]
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    wall: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(runs):
        for v in variants:
            con = _connect(scratch / f"{v}.duckdb", log)
            create, insert = _insert(v, wide, filled, everything)
            con.execute(create)
            con.register("raw_batch", table)
            t0, c0 = time.perf_counter(), cpu_seconds()
            con.execute(insert).fetchall()
            wall[v].append(time.perf_counter() - t0)
            cpu[v].append(cpu_seconds() - c0)
            con.close()
    # A digest of every stored value of every row (the sum of 64-bit row hashes, order-free):
    # streamed, so ten million rows are compared in constant memory.
    every = ", ".join(q(c) for c, _, _ in FLOW_COLUMNS)
    digests = {}
    for v in ("every_column", "flow_store"):
        con = duckdb.connect(str(scratch / f"{v}.duckdb"), read_only=True)
        con.execute("SET memory_limit = '1GB'")
        digests[v] = con.execute(f"SELECT count(*), sum(hash({every})::HUGEINT) FROM events").fetchall()[0]
        con.close()
    return {
        "columns": {
            "every_column": len(everything),
            "flow_store": len(FLOW_COLUMNS),
            "filled_by_conn": len(filled),
        },
        "flow_store_stores_the_same": digests["every_column"] == digests["flow_store"],
        "rows_stored": digests["every_column"][0],
        **{
            v: {
                "cpu_s_median": round(statistics.median(cpu[v]), 2),
                "cpu_s_min": round(min(cpu[v]), 2),
                "wall_s_median": round(statistics.median(wall[v]), 2),
            }
            for v in variants
        },
    }


def csv_reader_alone(log: Path, runs: int, scratch: Path) -> dict[str, float]:
    """CPU and wall seconds of DuckDB's CSV reader storing the file's columns as it types them, nothing else.

    The floor of storing these records in DuckDB: no event id, no raw line, no normalization
    (Zeek's ``-`` read as NULL, the header lines skipped as comments). Minimum of the runs.
    """
    cpu, wall = [], []
    for _ in range(runs):
        con = _connect(scratch / "csv_alone.duckdb", log)
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute(
            "CREATE TABLE conn AS SELECT * FROM read_csv(?, delim = '\t', comment = '#', header = false, "
            "quote = '', escape = '', nullstr = '-')",
            [str(log)],
        )
        con.execute("CHECKPOINT")
        wall.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds() - c0)
        con.close()
    return {"cpu_s_min": round(min(cpu), 2), "wall_s_min": round(min(wall), 2)}


def expressions(table: pa.Table, params: dict[str, object], log: Path, runs: int) -> dict[str, float]:
    """CPU seconds of evaluating single expressions of the normalization query, nothing stored."""
    con = duckdb.connect()
    con.execute(
        f"SET VARIABLE {SOURCES_VARIABLE} = MAP(?::VARCHAR[], ?::VARCHAR[])", [[str(log)], [str(log)]]
    )
    con.register("raw_batch", table)
    wide = normalize_sql("zeek", params)
    key = (
        f"'zeek' || '|' || coalesce(getvariable('{SOURCES_VARIABLE}')[file], file) || '|' || record::VARCHAR"
    )
    cols, _ = netflow.zeek_tsv(params)
    every = ", ".join(f"count({q(c)})" for c in [*cols, *PROVENANCE] if c not in FLOW_ALIASES)
    queries = {
        "line split (string_split)": "SELECT count(string_split(raw, sep)) FROM raw_batch",
        "event.id key without md5": f"SELECT count({key}) FROM raw_batch",
        "event.id (md5 of the key)": f"SELECT count(md5({key})) FROM raw_batch",
        "network.direction (with the split)": f'SELECT count("network.direction") FROM ({wide})',
        "source.port (the split and one cast)": f'SELECT count("source.port") FROM ({wide})',
        "every filled column": f"SELECT {every} FROM ({wide})",
    }
    out = {}
    for name, sql in queries.items():
        best = float("inf")
        for _ in range(runs):
            c0 = cpu_seconds()
            con.execute(sql).fetchall()
            best = min(best, cpu_seconds() - c0)
        out[name] = round(best, 3)
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--id-as-number", action="store_true", help="also store event.id as a UHUGEINT (slow)")
    args = ap.parse_args()
    plan = NetPlan(rows=args.rows, seed=args.seed, days=7, hosts=max(20, args.rows // 5000))
    folder, _ = generated(plan, OUT / f"netflow-{args.rows}-s{args.seed}")
    log = folder / "conn.log"
    before = machine()
    skipped: list[Skipped] = []
    c0 = cpu_seconds()
    batches = list(ZeekTsvReader().read(log, str(log), skipped, ReadOptions()))
    reader_cpu = cpu_seconds() - c0
    shapes = {(b.shape, b.params["kind"]) for b in batches}
    if shapes != {("zeek", "conn")}:
        raise SystemExit(f"{log}: expected one Zeek conn log, read {sorted(shapes)}")
    table = pa.concat_tables([_with_file(b) for b in batches])
    params = dict(batches[0].params)
    scratch = OUT / "netflow-ingest-cost"
    scratch.mkdir(parents=True, exist_ok=True)
    result = {
        "input": {"file": shown(log), "rows": table.num_rows, "skipped": len(skipped)},
        "runs": args.runs,
        "duckdb_threads": duckdb.connect().execute("SELECT current_setting('threads')").fetchall()[0][0],
        "reader_cpu_s": round(reader_cpu, 2),
        "insert": storage(
            table, params, log, args.runs, scratch, VARIANTS + ((ID_VARIANT,) if args.id_as_number else ())
        ),
        "duckdb_csv_reader_alone": csv_reader_alone(log, args.runs, scratch),
        "expression_cpu_s": expressions(table, params, log, args.runs),
        "machine": before,
    }
    for p in scratch.glob("*"):
        p.unlink()
    path = write_result(f"netflow-ingest-cost-{args.rows}", result)
    print(f"load average at start {before['load_average_at_start']}, at end {os.getloadavg()}")
    print(f"Zeek reader (Python): {result['reader_cpu_s']} CPU s for {table.num_rows:,} rows")
    for v in (v for v in (*VARIANTS, ID_VARIANT) if v in result["insert"]):
        print(f"{v:18s} {result['insert'][v]}")
    print(
        f"flow_store stores the same values as every_column: {result['insert']['flow_store_stores_the_same']}"
    )
    print(f"DuckDB's CSV reader storing the columns alone: {result['duckdb_csv_reader_alone']}")
    for name, s in result["expression_cpu_s"].items():
        print(f"{name:38s} {s} s")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

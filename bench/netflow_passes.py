"""One beaconing pass over a kept 10M-row workspace: the hashed probe of frequent pairs against a join on the pair.

Beaconing reads its sources in passes (``netsql.in_passes``); in each, only pairs seen
``min_attempts`` times reach the gap window. The query probes them by ``hash(src, target,
dport)`` in a table of integers. The formulation before it, kept here as the reference, joined
on the three columns, and DuckDB built that join's hash table from every attempt of the pass
with all its columns. This bench runs pass 0 of both, interleaved ``--runs`` times on the
workspace ``bench/run_netflow.py --keep`` leaves, checks that both give the very same rows,
and times the run's shared tables (built once before the passes, as a detect run builds them).

    PYTHONPATH=src:bench .venv/bin/python bench/run_netflow.py --rows 10000000 --memory-limit 600MB --keep
    PYTHONPATH=src:bench .venv/bin/python bench/netflow_passes.py --memory-limit 600MB
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from bluebench.detectors import build_detectors, c2, load_config, netsql, shared_run
from common import cpu_seconds, machine, shown, write_result
from run_netflow import OUT

# The reference: frequent pairs joined on the pair itself (the query before the hashed probe).
_HASHED = """frequent AS (SELECT hash(src, target, dport) AS h FROM keyed GROUP BY ALL HAVING count(*) >= $min_attempts),"""
_PAIRS = (
    """frequent AS (SELECT src, target, dport FROM keyed GROUP BY ALL HAVING count(*) >= $min_attempts),"""
)
_PROBE = """    FROM keyed k JOIN spans s USING (src)
    WHERE hash(k.src, k.target, k.dport) IN (SELECT h FROM frequent)"""
_JOIN = """    FROM keyed k JOIN spans s USING (src) SEMI JOIN frequent f
         ON k.src = f.src AND k.target = f.target AND k.dport IS NOT DISTINCT FROM f.dport"""


def reference_candidates() -> str:
    """Beaconing's candidates as they were before the hashed probe (fails if the query changed)."""
    if _HASHED not in c2.CANDIDATES or _PROBE not in c2.CANDIDATES:
        raise SystemExit("beaconing's CANDIDATES no longer hold the hashed probe this bench compares")
    return c2.CANDIDATES.replace(_HASHED, _PAIRS).replace(_PROBE, _JOIN)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=OUT / "netflow-ws-10000000" / "bluebench.duckdb")
    ap.add_argument("--memory-limit", default="600MB")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not args.workspace.exists():
        raise SystemExit(f"{shown(args.workspace)}: no workspace; run bench/run_netflow.py --keep first")
    before = machine()
    con = duckdb.connect(str(args.workspace), read_only=True)
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    detectors = build_detectors(load_config(None), only=["beaconing", "long_connection"])
    beacon = detectors[0]
    assert isinstance(beacon, c2.Beaconing)
    gap = float(beacon.params["merge_gap_seconds"])
    params: dict[str, Any] = {**beacon.query_params(names=False), "chunk": 0}
    with shared_run(con, detectors):
        t0, c0 = time.perf_counter(), cpu_seconds()
        tables = netsql.session_tables(con, gap)
        assert tables is not None
        shared = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(cpu_seconds() - c0, 2)}
        connections = int(con.execute(netsql.CONNECTION_COUNT_SQL).fetchall()[0][0])
        params["chunks"] = netsql.passes(lambda _: [{"n": connections}], int(beacon.params["chunk_rows"]))
        queries = {
            "hashed_probe": c2._beacon_attempts(False, False, tables) + c2.CANDIDATES,
            "pair_join": c2._beacon_attempts(False, False, tables) + reference_candidates(),
        }
        wall: dict[str, list[float]] = {k: [] for k in queries}
        cpu: dict[str, list[float]] = {k: [] for k in queries}
        rows: dict[str, list[str]] = {}
        for _ in range(args.runs):
            for name, sql in queries.items():
                used = {k: v for k, v in params.items() if f"${k}" in sql}
                t0, c0 = time.perf_counter(), cpu_seconds()
                found = con.execute(sql, used).fetchall()
                wall[name].append(round(time.perf_counter() - t0, 2))
                cpu[name].append(round(cpu_seconds() - c0, 2))
                rows[name] = sorted(map(repr, found))
    con.close()
    result = {
        "workspace": shown(args.workspace),
        "connections": connections,
        "duckdb_memory_limit": args.memory_limit,
        "passes": params["chunks"],
        "shared_tables_at_30s": shared,
        "runs": args.runs,
        "same_rows": rows["hashed_probe"] == rows["pair_join"],
        "candidates_in_pass_0": len(rows["hashed_probe"]),
        **{
            name: {
                "wall_s": wall[name],
                "cpu_s": cpu[name],
                "wall_s_median": statistics.median(wall[name]),
                "cpu_s_median": statistics.median(cpu[name]),
            }
            for name in queries
        },
        "machine": before,
    }
    path = write_result(f"netflow-passes-{args.memory_limit}", result)
    print(f"load average at start {before['load_average_at_start']}, at end {os.getloadavg()}")
    print(f"{connections:,} connections, {params['chunks']} passes; shared tables {shared}")
    for name in queries:
        print(f"pass 0, {name:12s} wall {wall[name]} CPU {cpu[name]}")
    print(
        f"same rows: {result['same_rows']} ({result['candidates_in_pass_0']} candidates); wrote {shown(path)}"
    )


if __name__ == "__main__":
    main()

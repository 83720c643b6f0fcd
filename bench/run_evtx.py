"""Ingest + detect speed and memory on the 281 EVTX recordings of EVTX-to-MITRE-Attack.

Reads ``../shared/data/windows/evtx-to-mitre-attack`` (mdecrevoisier/EVTX-to-MITRE-Attack,
CC0): small binary files, one attack each, so the figures show the per-file costs (EVTX
parsing, grouping small files into one transaction) rather than bulk throughput. Times the
main job in a fresh workspace (ingest, every detector, saving the alerts), prints events/s
and peak memory, and writes ``bench/results/evtx.json``.

    .venv/bin/python bench/run_evtx.py
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bluebench.sources.base import ReadOptions
from bluebench.sources.evtx import EvtxReader
from common import (
    cpu_seconds,
    evtx_files,
    ingest_and_detect,
    machine,
    print_summary,
    shown,
    timed,
    write_result,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "windows" / "evtx-to-mitre-attack"
OUT = Path(__file__).resolve().parent / "out"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--workspace", type=Path, default=OUT / "ws-evtx")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"no data at {args.data} (this benchmark reads ../shared/data)", file=sys.stderr)
        return 2
    files = evtx_files(args.data)
    shutil.rmtree(args.workspace, ignore_errors=True)
    info = machine()
    cpu0 = cpu_seconds()
    result = ingest_and_detect(args.workspace, files)
    result["cpu_s_whole_process"] = round(cpu_seconds() - cpu0, 1)
    shutil.rmtree(args.workspace, ignore_errors=True)
    print_summary(result)
    # How much of ingest is the EVTX parser itself (records as JSON, one Python object each).
    reader = EvtxReader()
    with timed() as t:
        parsed = sum(
            b.table.num_rows for f in files for b in reader.read(f.path, f.display, [], ReadOptions())
        )
    result["evtx_parse_only"] = {**t.to_json(), "records": parsed}
    print(f"EVTX parsing alone: {t.wall:.1f} s for {parsed:,} records")
    path = write_result("evtx", {"machine": info, "data": shown(args.data), **result}, args.out)
    print(f"result: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

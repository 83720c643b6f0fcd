"""Every finding of the network detectors on a workspace, digested, with each detector's wall and CPU time.

The alert digest (``alert_digest.py``) sees only what reaches a threshold; a speed change to
the network detectors must leave every finding alone, those below it too. This runs the
detectors' ``score`` in one shared run (as ``run_detectors`` does) on a workspace opened
read-only, and digests each detector's findings: score, entities, first and last seen,
reasons and event ids. Two versions of the code agree when the digests do; run them one after
the other on the same machine to compare their times (the load is printed beside them).

    PYTHONPATH=src .venv/bin/python bench/network_findings.py WORKSPACE [--only beaconing,exfiltration]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time
from pathlib import Path

import duckdb

from bluebench.detectors import build_detectors, load_config
from bluebench.detectors.netsql import shared_sessions
from common import cpu_seconds

LIMIT = re.compile(r"[0-9]+(\.[0-9]+)?\s*[KMGT]i?B")
NETWORK = (
    "beaconing",
    "long_connection",
    "exfiltration",
    "port_scan",
    "network_brute_force",
    "unusual_inbound",
)


def findings(workspace: Path, only: list[str], memory_limit: str) -> dict[str, dict[str, object]]:
    """Per detector: how many findings, their digest, wall and CPU seconds."""
    if not LIMIT.fullmatch(memory_limit):
        raise SystemExit(f"--memory-limit: {memory_limit!r} is not a size such as 1GB or 600MB")
    con = duckdb.connect(str(workspace / "bluebench.duckdb"), read_only=True)
    con.execute(f"SET memory_limit = '{memory_limit}'")  # checked above: digits and a unit
    out: dict[str, dict[str, object]] = {}
    try:
        detectors = build_detectors(load_config(), only=only)
        with shared_sessions(con, detectors):
            for det in detectors:
                w, c = time.perf_counter(), cpu_seconds()
                found = list(det.score(con))
                wall, cpu = time.perf_counter() - w, cpu_seconds() - c
                items = sorted(
                    repr((f.score, sorted(f.entities.items()), str(f.first_seen), str(f.last_seen), f.reasons,
                          sorted(f.event_ids)))
                    for f in found
                )  # fmt: skip
                digest = hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
                out[det.id] = {"findings": len(found), "digest": digest, "wall_s": round(wall, 2),
                               "cpu_s": round(cpu, 2)}  # fmt: skip
    finally:
        con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--only", default=",".join(NETWORK), help="detector ids, comma-separated")
    ap.add_argument("--memory-limit", default="1GB")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    result = findings(args.workspace, args.only.split(","), args.memory_limit)
    print(json.dumps({"load_average_at_start": round(load, 2), "detectors": result}))


if __name__ == "__main__":
    main()

"""Incident grouping: alerts before and after on real data, and grouping time on synthetic alerts.

* EVTX: every ``.evtx`` under ``../shared/data/windows`` in one workspace (as ``bluebench
  scan`` of that folder would), with the default detector and grouping configs.
* OTRF: each of the 58 Security-Datasets in its own workspace (each is one host's
  recording), alerts and incidents per dataset and in total.
* Synthetic: 10,000 and 100,000 alerts with entities drawn from pools whose size grows
  with the count (users, hosts, sources) over 30 days, grouped in an in-memory workspace;
  the best of ``--repeat`` runs is reported (grouping is deterministic, the rest is noise).

    .venv/bin/python bench/incidents.py [--out bench/results/incidents.json]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bluebench import pipeline
from bluebench.events.workspace import SCHEMA_SQL, Workspace
from bluebench.incidents import GroupingReport, group_alerts, load_incidents
from common import machine, shown, write_result

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "windows"


def _grouped(report: GroupingReport, ws: Workspace) -> dict[str, Any]:
    top = load_incidents(ws.con, limit=3)
    return {
        **report.to_json(),
        "top_incidents": [{"title": i.title, "risk": i.risk, "alerts": i.alert_count} for i in top],
    }


def real(paths: list[Path]) -> dict[str, Any]:
    """Ingest, detect and group ``paths`` in a fresh workspace."""
    tmp = Path(tempfile.mkdtemp(prefix="bb-inc-"))
    try:
        with Workspace(tmp / "ws") as ws:
            run = pipeline.scan(ws, pipeline.input_files([str(p) for p in paths]))
            return {"events": run.ingest.events, "files": len(run.ingest.files), **_grouped(run.grouping, ws)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def evtx() -> dict[str, Any]:
    files = sorted(DATA.rglob("*.evtx"))
    out = real(files)
    out["data"] = shown(DATA) + " (every .evtx below it)"
    out["evtx_files"] = len(files)
    return out


def otrf() -> dict[str, Any]:
    folder = DATA / "otrf"
    labels = list(csv.DictReader((folder / "labels.csv").open(encoding="utf-8")))
    rows = []
    for lab in labels:
        r = real([folder / lab["path"]])
        rows.append({"dataset": lab["path"], **{k: v for k, v in r.items() if k != "top_incidents"}})
        print(f"  {lab['path']}: {r['alerts_in']} alerts -> {r['incidents_out']} incidents", flush=True)
    total_in = sum(r["alerts_in"] for r in rows)
    total_out = sum(r["incidents_out"] for r in rows)
    return {
        "data": shown(folder),
        "datasets": len(rows),
        "events": sum(r["events"] for r in rows),
        "alerts_in": total_in,
        "incidents_out": total_out,
        "alerts_per_incident": total_in / total_out if total_out else None,
        "datasets_with_alerts": sum(1 for r in rows if r["alerts_in"]),
        "per_dataset": rows,
    }


def synthetic_alerts(n: int, seed: int = 7) -> pa.Table:
    """n alerts over 30 days; pools grow with n so that entity reuse stays realistic."""
    rng = np.random.default_rng(seed)
    users = np.array([f"user{i}" for i in range(max(n // 20, 5))])
    hosts = np.array([f"ws{i}" for i in range(max(n // 50, 5))] + ["dc1", "dc2"])
    srcs = np.array([f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(max(n // 30, 5))])
    tactics = [["TA0006"], ["TA0006", "TA0001"], ["TA0008"], ["TA0003"], ["TA0005"], ["TA0001", "TA0005"]]
    t0 = datetime(2024, 1, 1)
    start = np.sort(rng.integers(0, 30 * 86400, n))
    length = rng.integers(0, 3600, n)
    tac = rng.integers(0, len(tactics), n)
    ents = []
    for u, h, s, has_u, has_s in zip(
        rng.choice(users, n),
        rng.choice(hosts, n, p=None),
        rng.choice(srcs, n),
        rng.random(n) < 0.8,
        rng.random(n) < 0.6,
        strict=True,
    ):
        e = {"host": str(h)}
        if has_u:
            e["user"] = str(u)
        if has_s:
            e["source"] = str(s)
        ents.append(e)
    import json

    first = [t0 + timedelta(seconds=int(s)) for s in start]
    return pa.table(
        {
            "id": pa.array([f"a{i:08d}" for i in range(n)]),
            "detector": pa.array([f"det_{int(t)}" for t in tac]),
            "title": pa.array(["Synthetic alert"] * n),
            "severity": pa.array(rng.choice(["low", "medium", "high", "critical"], n)),
            "score": pa.array(rng.random(n)),
            "tactics": pa.array([tactics[int(t)] for t in tac], pa.list_(pa.string())),
            "techniques": pa.array(
                [["T1110"] if int(t) < 2 else ["T1021.002"] for t in tac], pa.list_(pa.string())
            ),
            "entities": pa.array([json.dumps(e) for e in ents]),
            "first_seen": pa.array(first, pa.timestamp("us")),
            "last_seen": pa.array(
                [f + timedelta(seconds=int(x)) for f, x in zip(first, length, strict=True)],
                pa.timestamp("us"),
            ),
            "event_count": pa.array(rng.integers(1, 50, n)),
            "reasons": pa.array([["synthetic"]] * n, pa.list_(pa.string())),
            "created_at": pa.array([t0] * n, pa.timestamp("us")),
        }
    )


def synthetic(n: int, repeat: int) -> dict[str, Any]:
    con = duckdb.connect()
    for sql in SCHEMA_SQL:
        con.execute(sql)
    table = synthetic_alerts(n)
    con.register("syn", table)
    con.execute("INSERT INTO alerts SELECT * FROM syn")
    con.unregister("syn")
    times = []
    report = None
    for _ in range(repeat):
        t = time.perf_counter()
        report = group_alerts(con)
        times.append(time.perf_counter() - t)
    assert report is not None
    con.close()
    return {
        "alerts": n,
        "incidents": report.incidents_out,
        "largest_incident": report.largest_incident,
        "grouping_s_best": round(min(times), 3),
        "grouping_s_all": [round(t, 3) for t in times],
        "alerts_per_s": round(n / min(times)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-real", action="store_true", help="Only the synthetic timings.")
    args = ap.parse_args()
    result: dict[str, Any] = {"machine": machine()}
    if not args.skip_real:
        if not DATA.exists():
            print(f"no shared data at {DATA}", file=sys.stderr)
            return 2
        print("EVTX ...", flush=True)
        result["evtx"] = evtx()
        print(f"EVTX: {result['evtx']['alerts_in']} alerts -> {result['evtx']['incidents_out']} incidents")
        print("OTRF ...", flush=True)
        result["otrf"] = otrf()
        print(f"OTRF: {result['otrf']['alerts_in']} alerts -> {result['otrf']['incidents_out']} incidents")
    result["synthetic"] = []
    for n in (10_000, 100_000):
        r = synthetic(n, args.repeat)
        result["synthetic"].append(r)
        print(
            f"synthetic {n:,} alerts -> {r['incidents']:,} incidents in {r['grouping_s_best']:.2f} s (best of {args.repeat})"
        )
    path = write_result("incidents", result, args.out)
    print(f"written {shown(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Ingest + detect speed and memory on a generated Zeek conn.log, beside DuckDB reading the same file alone.

Generates ``--rows`` seeded connections with :mod:`bluebench.datagen.netflows` (outside the
timed part, and only once: kept under ``bench/out`` and reused while the manifest matches),
then times the main job in a fresh workspace (ingest, every detector, saving the alerts, the
checkpoint) exactly as ``run_jsonl.py`` does. Beside it, DuckDB alone reads the same file
with its own CSV reader and counts connections per source and destination: the floor of what
reading the columns costs, so ``ratio`` says how much bluebench's parsing, provenance and
detection add. The labelled attacks are matched against the alerts (entity recall).

    PYTHONPATH=src .venv/bin/python bench/run_netflow.py --rows 10000000
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb

from bluebench.datagen.netflows import NetPlan, generate_conn
from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from common import RESULTS, cpu_seconds, ingest_and_detect, machine, print_summary, rate, shown, write_result

OUT = Path(__file__).resolve().parent / "out"
# Skip Zeek's header lines (they start with '#') and read the 21 tab-separated conn fields.
DUCKDB_ALONE = """
SELECT count(*) AS rows, count(DISTINCT (column02, column04)) AS pairs
FROM read_csv(?, delim = '\t', header = false, comment = '#', auto_detect = true, nullstr = '-')
"""


def generated(plan: NetPlan, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The generated log, made now unless an identical one is already there."""
    manifest = folder / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if m.get("plan") == plan.__dict__:
            return folder, m
    shutil.rmtree(folder, ignore_errors=True)
    return folder, generate_conn(plan, folder)


def duckdb_alone(path: Path) -> dict[str, Any]:
    """DuckDB's own reader on the same file: rows, distinct pairs, wall and CPU seconds."""
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")
    t0, c0 = time.perf_counter(), cpu_seconds()
    rows, pairs = con.execute(DUCKDB_ALONE, [str(path)]).fetchone() or (0, 0)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    con.close()
    return {"rows": rows, "pairs": pairs, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "rows_per_s": rate(rows, wall)}  # fmt: skip


def attack_recall(folder: Path, workspace: Path) -> dict[str, Any]:
    """Which labelled attacks an alert names (same source, and destination or port where labelled)."""
    ws = Workspace(workspace)
    with ws:
        alerts = ws.con.execute("SELECT detector, entities FROM alerts").fetchall()
    found: dict[str, list[str]] = {}
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            hits = []
            for det, ents in alerts:
                e = json.loads(ents) if isinstance(ents, str) else ents
                if e.get("source") != row["source"]:
                    continue
                if (
                    row["destination"]
                    and e.get("destination") not in (row["destination"], None)
                    and (e.get("host") != row["destination"])
                ):
                    continue
                hits.append(det)
            found[row["attack"]] = sorted(set(hits))
    return {"attacks": len(found), "found": sum(1 for v in found.values() if v), "by_attack": found}


def speed_table() -> str:
    """Markdown: every stored netflow run, each figure from its result file."""
    lines = [
        "| rows | ingest rows/s (wall, CPU s) | ingest + detect rows/s (wall, CPU s) | peak RSS (DuckDB limit) "
        "| DuckDB alone (wall, CPU s) | ratio wall / CPU | detectors failed | attacks named | load (start, end) |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    # Only this bench's own results (netflow-ROWS[-LIMIT].json), not other netflow benches' files.
    runs = [p for p in RESULTS.glob("netflow-*.json") if p.stem.split("-")[1].isdigit()]
    for path in sorted(runs, key=lambda p: int(p.stem.split("-")[1])):
        r = json.loads(path.read_text(encoding="utf-8"))
        ing, both, alone, ratio = (
            r["ingest"],
            r["ingest_plus_detect"],
            r["duckdb_alone"],
            r["ratio_to_duckdb_alone"],
        )
        failed = [k for k, v in r["detect"]["detectors"].items() if v.get("error")]
        rec = r["attack_recall"]
        lines.append(
            f"| {r['events']:,} | {ing['events_per_s']:,} ({ing['wall_s']:.0f} s, {ing['cpu_s']:.0f} s) "
            f"| {both['events_per_s']:,} ({both['wall_s']:.0f} s, {both['cpu_s']:.0f} s) "
            f"| {r['memory']['peak_rss_mb']:,.0f} MiB ({r['duckdb_memory_limit']}) "
            f"| {alone['wall_s']} s, {alone['cpu_s']} s "
            f"| {ratio['wall']} / {ratio['cpu']} | {', '.join(failed) or 'none'} | {rec['found']} of {rec['attacks']} "
            f"| {r['machine']['load_average_at_start'][0]:.1f}, {r['load_average_at_end'][0]:.1f} |"
        )
    cores = {json.loads(p.read_text())["machine"]["cores"] for p in RESULTS.glob("netflow-*.json")}
    lines.append("")
    lines.append(
        f"Measured on a shared machine with {', '.join(str(c) for c in sorted(cores))} cores (load in each result file)."
    )
    return "\n".join(lines)


def write_doc(doc: Path, body: str) -> None:
    """Replace the ``<!-- speed:begin -->`` ... ``<!-- speed:end -->`` block of ``doc``."""
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition("<!-- speed:begin -->")
    if found:
        tail = rest.partition("<!-- speed:end -->")[2]
        doc.write_text(f"{head}<!-- speed:begin -->\n{body}\n<!-- speed:end -->{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--hosts", type=int, default=0, help="workstations (default: one per 5,000 rows)")
    ap.add_argument(
        "--memory-limit",
        default="1GB",
        help="DuckDB's memory limit for the workspace (the default is the workspace's own, 1GB)",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the workspace (for bench/alert_digest.py) instead of deleting it",
    )
    args = ap.parse_args()
    # The periodic services alone make about 1,430 rows per host and week: scale hosts with rows.
    hosts = args.hosts or max(20, args.rows // 5000)
    plan = NetPlan(rows=args.rows, seed=args.seed, days=args.days, hosts=hosts)
    folder, manifest = generated(plan, OUT / f"netflow-{args.rows}-s{args.seed}")
    log = folder / "conn.log"
    before = machine()
    alone = duckdb_alone(log)
    workspace = OUT / f"netflow-ws-{args.rows}"
    shutil.rmtree(workspace, ignore_errors=True)
    job = ingest_and_detect(workspace, discover([str(log)]), memory_limit=args.memory_limit)
    recall = attack_recall(folder, workspace)
    total = job["ingest_plus_detect"]
    result = {
        "input": {
            "file": shown(log),
            "bytes": log.stat().st_size,
            "rows": manifest.get("rows"),
            "plan": plan.__dict__,
        },
        **job,
        "duckdb_alone": alone,
        "ratio_to_duckdb_alone": {
            "wall": round(total["wall_s"] / alone["wall_s"], 1) if alone["wall_s"] else None,
            "cpu": round(total["cpu_s"] / alone["cpu_s"], 1) if alone["cpu_s"] else None,
        },
        "rows_per_cpu_s": rate(job["events"], total["cpu_s"]),
        "attack_recall": recall,
        "machine": before,
    }
    name = f"netflow-{args.rows}" + ("" if args.memory_limit == "1GB" else f"-{args.memory_limit}")
    path = write_result(name, result)
    print_summary(result)
    print(
        f"DuckDB alone: {alone['wall_s']} s wall, {alone['cpu_s']} s CPU ({alone['rows_per_s']:,} rows/s); "
        f"bluebench / DuckDB alone: {result['ratio_to_duckdb_alone']}; "
        f"labelled attacks named by an alert: {recall['found']} of {recall['attacks']}"
    )
    print(f"wrote {path}")
    write_doc(Path(__file__).resolve().parents[1] / "docs" / "network.md", speed_table())
    if not args.keep:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Ingest + detect speed and memory on generated Winlogbeat JSON lines (and a Linux auth.log).

Generates ``--events`` seeded events with ``bluebench generate`` (outside the timed part, and
only once: the files are kept under ``bench/out`` and reused while the manifest matches),
then times the main job in a fresh workspace: ingest, every detector, saving the alerts.
Prints events/s, CPU time and peak memory, then where the time goes (read, parse,
normalize, store) on one day's file, and writes ``bench/results/jsonl-<events>.json``.

Unlike ``run_evtx.py`` this needs no data from outside the project (it does not read
``../shared/data``); its input is generated.

    .venv/bin/python bench/run_jsonl.py --events 10000000
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from bluebench import pipeline
from bluebench.datagen import DEFAULT_DAYS
from bluebench.events import direct
from bluebench.events.normalize import SOURCES_VARIABLE, _windows_intermediate, normalize_sql
from bluebench.events.workspace import Workspace
from bluebench.schema import EVENT_COLUMNS, q
from bluebench.sources import InputFile, ReadOptions, discover
from common import cpu_seconds, ingest_and_detect, machine, print_summary, rate, shown, timed, write_result

OUT = Path(__file__).resolve().parent / "out"


def generated(events: int, seed: int, days: int, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The generated data set, made now unless an identical one is already there."""
    manifest = folder / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if (m.get("events"), m.get("seed"), m.get("days")) == (events, seed, days):
            return folder, {"generated_now": False}
    shutil.rmtree(folder, ignore_errors=True)
    cli = Path(sys.executable).parent / "bluebench"
    cmd = [
        str(cli),
        "generate",
        str(folder),
        "--events",
        str(events),
        "--seed",
        str(seed),
        "--days",
        str(days),
        "-q",
    ]
    with timed() as t:
        subprocess.run(cmd, check=True)
    return folder, {"generated_now": True, "generate": t.to_json()}


def split(sample: Path) -> dict[str, Any]:
    """Where the time goes on one file: each stage run alone over the same lines, as ingest runs them.

    A plain Winlogbeat file is read by DuckDB itself (``bluebench.events.direct``): read = cutting
    it into numbered lines (``read_text``); parse = the JSON of each line read for the header
    fields and the EventData; normalize = every event column (the field mapping); store = the
    whole ingest minus the above (compression, writing, commit, the checkpoint on close).
    Fingerprinting the file (to spot duplicates; the lines are counted in the same pass) is
    measured alone. All figures are CPU microseconds per event (DuckDB on its threads) and
    wall seconds.
    """
    params = {
        "paths": [direct.path_text(sample)],
        "names": [sample.name],
        "max_line": ReadOptions().limits.record_bytes,
    }
    lines = f"WITH raw_batch AS ({direct.RAW_LINES_SQL})"
    stages: dict[str, Any] = {}
    with timed() as t:
        _, n = direct.fingerprint_and_lines(sample)
    stages["fingerprint"] = t
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET VARIABLE {SOURCES_VARIABLE} = MAP {{}}::MAP(VARCHAR, VARCHAR)")
    with timed() as t:
        con.execute(
            f"{lines} SELECT count(*), max(record), max(length(raw)) FROM raw_batch", params
        ).fetchall()
    stages["read"] = t
    with timed() as t:
        con.execute(
            f"{lines} SELECT count(*), max(length(code)), max(ts), max(length(host)), max(length(ed::VARCHAR)) "
            f"FROM ({_windows_intermediate('winlogbeat', checked=False)})",
            params,
        ).fetchall()
    stages["read+parse"] = t
    cols = ", ".join(f"max(length({q(c)}::VARCHAR))" for c, _, _ in EVENT_COLUMNS)
    with timed() as t:
        con.execute(
            f"{lines} SELECT {cols} FROM ({normalize_sql('winlogbeat', {}, checked=False)})", params
        ).fetchall()
    stages["read+parse+normalize"] = t
    con.close()
    folder = OUT / "ws-split"
    shutil.rmtree(folder, ignore_errors=True)
    with timed() as t, Workspace(folder) as ws:  # closing (the checkpoint) is timed too
        pipeline.ingest(ws, [InputFile(sample, sample.name)])
    shutil.rmtree(folder, ignore_errors=True)
    stages["ingest (all)"] = t

    def us(x: float) -> float:
        return round(x * 1e6 / n, 1)

    parts = {
        "fingerprint": stages["fingerprint"],
        "read": stages["read"],
        "parse": _minus(stages["read+parse"], stages["read"]),
        "normalize": _minus(stages["read+parse+normalize"], stages["read+parse"]),
        "store": _minus(stages["ingest (all)"], _plus(stages["read+parse+normalize"], stages["fingerprint"])),
    }
    return {
        "file": sample.name,
        "events": n,
        "stages": {k: v.to_json() for k, v in stages.items()},
        "cpu_us_per_event": {k: us(v.cpu) for k, v in parts.items()},
        "wall_s": {k: round(v.wall, 2) for k, v in parts.items()},
        "ingest_events_per_s": rate(n, stages["ingest (all)"].wall),
    }


def _minus(a: Any, b: Any) -> Any:
    from common import Timer

    return Timer(max(a.wall - b.wall, 0.0), max(a.cpu - b.cpu, 0.0))


def _plus(a: Any, b: Any) -> Any:
    from common import Timer

    return Timer(a.wall + b.wall, a.cpu + b.cpu)


#: The limit: DuckDB alone reading the same Windows files and counting failed logons per
#: source address and account, the question brute-force detection asks of them.
LIMIT_SQL = """
    SELECT winlog.event_data.IpAddress AS ip, winlog.event_data.TargetUserName AS account, count(*) AS n
    FROM read_json_auto($files, format = 'newline_delimited')
    WHERE winlog.event_id = '4625'
    GROUP BY ALL
"""


def duckdb_limit(files: list[Path]) -> dict[str, Any]:
    """DuckDB alone on the same JSON lines (its own threads and memory limit as the workspace's)."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '1GB'")
    with timed() as t:
        rows = con.execute(LIMIT_SQL, {"files": [str(f) for f in files]}).fetchall()
    con.close()
    return {"files": len(files), "groups": len(rows), "failed_logons": sum(r[2] for r in rows), **t.to_json()}


def attack_coverage(data: Path, workspace: Path) -> dict[str, dict[str, int]]:
    """Per attack: instances, and instances with at least one labelled event among alert evidence."""
    with (data / "labels.csv").open(encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    con = duckdb.connect(str(workspace / "bluebench.duckdb"), read_only=True)
    rows = con.execute(
        """SELECT DISTINCT e."log.file.path", e."log.record" FROM alert_events l
           JOIN events e ON e."event.id" = l.event_id"""
    ).fetchall()
    con.close()
    evidence = {(Path(p).resolve(), r) for p, r in rows}
    out: dict[str, dict[str, int]] = {}
    hit: set[str] = set()
    instances: dict[str, set[str]] = {}
    for row in labels:
        instances.setdefault(row["attack"], set()).add(row["attack_id"])
        if ((data / row["file"]).resolve(), int(row["record"])) in evidence:
            hit.add(row["attack_id"])
    for attack, ids in sorted(instances.items()):
        out[attack] = {"instances": len(ids), "with_alert_evidence": len(ids & hit)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS)
    ap.add_argument(
        "--data", type=Path, help="generated data folder (default bench/out/jsonl-<events>-s<seed>)"
    )
    ap.add_argument("--workspace", type=Path, default=OUT / "ws-jsonl")
    ap.add_argument("--no-split", action="store_true", help="skip the per-stage time split")
    ap.add_argument("--keep", action="store_true", help="keep the workspace afterwards")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    data, gen = generated(
        args.events, args.seed, args.days, args.data or OUT / f"jsonl-{args.events}-s{args.seed}"
    )
    files = list(discover([str(data / "windows"), str(data / "linux")]))
    shutil.rmtree(args.workspace, ignore_errors=True)
    info = machine()
    cpu0 = cpu_seconds()
    result = ingest_and_detect(args.workspace, files)
    result["cpu_s_whole_process"] = round(cpu_seconds() - cpu0, 1)
    print_summary(result)
    windows = sorted(f.path for f in files if f.path.suffix == ".ndjson")
    lim = result["limit_duckdb"] = duckdb_limit(windows)
    job = result["ingest_plus_detect"]
    result["ratio_to_limit"] = {
        "cpu": round(job["cpu_s"] / lim["cpu_s"], 1) if lim["cpu_s"] else None,
        "wall": round(job["wall_s"] / lim["wall_s"], 1) if lim["wall_s"] else None,
    }
    print(
        f"limit: DuckDB alone read the {len(windows)} Windows files and grouped {lim['failed_logons']:,} failed "
        f"logons in {lim['wall_s']:.1f} s wall, {lim['cpu_s']:.1f} s CPU; bluebench (ingest + detect + close) / "
        f"limit: {result['ratio_to_limit']['cpu']}x in CPU, {result['ratio_to_limit']['wall']}x in wall time"
    )
    result["attack_coverage"] = attack_coverage(data, args.workspace)
    if not args.keep:
        shutil.rmtree(args.workspace, ignore_errors=True)
    if not args.no_split:
        sample = max((data / "windows").glob("*.ndjson"), key=lambda p: p.stat().st_size)
        result["time_split"] = split(sample)
        sp = result["time_split"]["cpu_us_per_event"]
        print(
            "CPU us/event on "
            + result["time_split"]["file"]
            + ": "
            + ", ".join(f"{k} {v}" for k, v in sp.items())
        )
    path = write_result(
        f"jsonl-{args.events}",
        {"machine": info, "data": {"folder": shown(data), **gen}, **result},
        args.out,
    )
    print(f"result: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

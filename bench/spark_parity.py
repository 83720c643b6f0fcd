"""DuckDB and Spark over the same events: alerts per detector, identical or not, time per engine.

Ingests every EVTX file under ``../shared/data/windows`` (read-only) into a fresh workspace,
exports it as day-partitioned Parquet, and runs every detector on DuckDB (the workspace)
and on Spark (``--master``, default ``local[2]``) over the Parquet. Alerts are compared on
id, score (to 1e-9), severity, techniques, entities, times, reasons and evidence. Writes
``bench/results/spark_parity.json``; exits 1 when any detector differs.

    .venv/bin/python bench/spark_parity.py
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bluebench import pipeline
from bluebench.engines import parity_key
from bluebench.engines.spark import SparkEngine, start_session
from bluebench.schema import Alert
from common import evtx_files, ingest_and_export, machine, shown, write_result

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "windows"
OUT = Path(__file__).resolve().parent / "out"


def _same(duck: list[Alert], spark: list[Alert]) -> bool:
    d, s = sorted(duck, key=lambda a: a.id), sorted(spark, key=lambda a: a.id)
    return [parity_key(a) for a in d] == [parity_key(a) for a in s] and all(
        abs(x.score - y.score) <= 1e-9 for x, y in zip(d, s, strict=True)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--work", type=Path, default=OUT / "spark-parity")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    files = evtx_files(args.data)
    if not files:
        print(f"no EVTX files under {args.data} (this benchmark reads ../shared/data)", file=sys.stderr)
        return 2
    info = machine()
    ws, export, prep_s = ingest_and_export(args.work, files)
    t = time.perf_counter()
    spark = start_session(args.master)
    engine = SparkEngine(spark, args.work / "parquet")
    start_s = time.perf_counter() - t
    # The pipeline's own detection run on each engine (each run replaces the stored alerts).
    on_duck = pipeline.detect(ws.con)
    on_spark_run = pipeline.detect(ws.con, engine=engine)
    times = {
        r.id: (r.timing.wall_s, s.timing.wall_s) for r, s in zip(on_duck.runs, on_spark_run.runs, strict=True)
    }
    per: dict[str, dict[str, Any]] = {}
    for det_id, (duck_s, spark_s) in times.items():
        duck = [a for a in on_duck.alerts if a.detector == det_id]
        on_spark = [a for a in on_spark_run.alerts if a.detector == det_id]
        per[det_id] = {
            "duckdb_alerts": len(duck),
            "spark_alerts": len(on_spark),
            "identical": _same(duck, on_spark),
            "duckdb_s": round(duck_s, 3),
            "spark_s": round(spark_s, 3),
        }
        print(
            f"{det_id:28} duckdb {len(duck):4} ({duck_s:6.2f} s)  spark {len(on_spark):4} ({spark_s:6.2f} s)"
            f"  {'identical' if per[det_id]['identical'] else 'DIFFERENT'}"
        )
    spark.stop()
    ws.close()
    shutil.rmtree(args.work, ignore_errors=True)
    result = {
        "machine": info,
        "data": shown(args.data),
        "files": len(files),
        "events": export.events,
        "parquet_files": export.files,
        "spark_master": args.master,
        **prep_s,
        "spark_session_start_s": round(start_s, 2),
        "duckdb_detect_s": round(sum(d["duckdb_s"] for d in per.values()), 2),
        "spark_detect_s": round(sum(d["spark_s"] for d in per.values()), 2),
        "alerts": sum(d["duckdb_alerts"] for d in per.values()),
        "all_identical": all(d["identical"] for d in per.values()),
        "detectors": per,
    }
    path = write_result("spark_parity", result, args.out)
    print(
        f"{result['alerts']} alerts; identical on every detector: {result['all_identical']}; "
        f"detect time duckdb {result['duckdb_detect_s']} s, spark {result['spark_detect_s']} s; result: {path}"
    )
    return 0 if result["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())

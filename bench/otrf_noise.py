"""Noise on real host background: alerts per 1,000 events for each OTRF dataset.

Reads ``../shared/data/windows/otrf`` (OTRF Security-Datasets, MIT). Each dataset is an
attack recorded with everything else its host logged, and mostly benign, so alerts per
1,000 events measure how noisy the detectors are. Two figures: every alert, and the
*background* alerts, those whose techniques do not match the dataset's own (finding the
recorded attack is not noise). For datasets whose own technique is one the built-in detectors
aim at, it also says whether that technique was found.

    .venv/bin/python bench/otrf_noise.py [--data DIR] [--out bench/results/otrf_noise.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bluebench import pipeline
from bluebench.alerts.store import load_alerts
from bluebench.events.workspace import Workspace

OTRF = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "windows" / "otrf"
# Techniques the built-in detectors are meant to see (credential access, lateral movement
# over authentication and remote execution, account manipulation, log clearing).
AUTH_TECHNIQUES = (
    "T1110", "T1558", "T1550", "T1021", "T1078", "T1136", "T1098", "T1070.001",
    "T1047", "T1053.005", "T1187", "T1210", "T1003.001", "T1003.002", "T1555",
)  # fmt: skip


def matches(found: str, wanted: str) -> bool:
    """Same technique, a sub-technique of it, or its parent."""
    return found == wanted or found.startswith(wanted + ".") or wanted.startswith(found + ".")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=OTRF)
    ap.add_argument("--out", type=Path, default=Path("bench/results/otrf_noise.json"))
    args = ap.parse_args()
    labels = list(csv.DictReader((args.data / "labels.csv").open(encoding="utf-8")))
    rows = []
    for lab in labels:
        path = args.data / lab["path"]
        tmp = Path(tempfile.mkdtemp(prefix="otrf-"))
        try:
            with Workspace(tmp) as ws:
                t0 = time.perf_counter()
                summary = pipeline.ingest(ws, pipeline.input_files([str(path)]))
                pipeline.detect(ws.con)
                stored = load_alerts(ws.con)
                seconds = time.perf_counter() - t0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        wanted = [t for t in lab["techniques"].split(";") if t]
        relevant = [t for t in wanted if any(matches(t, a) for a in AUTH_TECHNIQUES)]
        found = sorted({t for a in stored for t in a.techniques})
        # an alert on the dataset's own technique found the recorded attack; the rest is background
        background = [a for a in stored if not any(matches(f, t) for f in a.techniques for t in wanted)]
        rows.append(
            {
                "dataset": lab["path"],
                "title": lab["title"],
                "techniques": wanted,
                "events": summary.events,
                "skipped": summary.skipped_records,
                "alerts": len(stored),
                "alerts_per_1000": round(1000 * len(stored) / summary.events, 3) if summary.events else None,
                "background_alerts": len(background),
                "background_per_1000": (
                    round(1000 * len(background) / summary.events, 3) if summary.events else None
                ),
                "by_detector": {
                    d: sum(1 for a in stored if a.detector == d) for d in sorted({a.detector for a in stored})
                },
                "auth_technique": bool(relevant),
                "technique_found": any(matches(f, t) for f in found for t in relevant) if relevant else None,
                "seconds": round(seconds, 2),
            }
        )
        r = rows[-1]
        print(
            f"{r['alerts_per_1000'] or 0:7.3f}/1k  {r['alerts']:4d} alerts {r['events']:7d} events  "
            f"{','.join(wanted) or '-':12s} found={r['technique_found']}  {lab['title']}",
            flush=True,
        )
    total_events = sum(r["events"] for r in rows)
    total_alerts = sum(r["alerts"] for r in rows)
    total_background = sum(r["background_alerts"] for r in rows)
    summary_row = {
        "datasets": len(rows),
        "events": total_events,
        "alerts": total_alerts,
        "alerts_per_1000": round(1000 * total_alerts / total_events, 3) if total_events else None,
        "background_alerts": total_background,
        "background_per_1000": round(1000 * total_background / total_events, 3) if total_events else None,
        "auth_datasets": sum(1 for r in rows if r["auth_technique"]),
        "auth_found": sum(1 for r in rows if r["technique_found"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary_row, "datasets": rows}, indent=2), encoding="utf-8")
    print(json.dumps(summary_row))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure each detector's calibrated confidence on labelled generated organisations.

For each seed: generate an organisation (``bluebench.datagen``), ingest it, run every built-in
detector, and count per detector and score band the alerts that were real and those that were
not. Real means what ``bluebench evaluate`` counts as a true positive: an evidence event is
labelled malicious with a technique matching one of the alert's (T1110.001 matches T1110). The counts, with how they were made, are
written to ``src/bluebench/detectors/calibration.json``, which ``detectors.calibration`` turns
into each alert's confidence. Tune on seeds, and report on a seed none of them is:

    .venv/bin/python bench/calibrate.py --seeds 1 2 3                 # writes the shipped file
    .venv/bin/python bench/calibrate.py --check 2718 --out /tmp/c.json  # reliability on a held-out seed

``--check SEED`` measures one more seed and prints, per detector, the confidence the
calibration gives its alerts against the share that was real on that seed, and the Brier
score of the confidences (lower is better; 0.25 is a coin's).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluebench import pipeline
from bluebench.alerts.store import load_alerts
from bluebench.attack import any_match
from bluebench.datagen import generate
from bluebench.detectors.calibration import BAND_EDGES, Calibration, DetectorCalibration, band_of
from bluebench.events.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "src" / "bluebench" / "detectors" / "calibration.json"


def labelled_run(seed: int, events: int, days: int, tmp: Path) -> list[tuple[str, float, bool]]:
    """(detector, score, real) for every alert of one generated organisation."""
    out = tmp / f"org-{seed}"
    generate(out, events, seed=seed, days=days)
    with Workspace(tmp / f"ws-{seed}") as ws:
        pipeline.ingest(ws, pipeline.input_files([str(out / "windows"), str(out / "linux")]))
        pipeline.detect(ws.con)
        rows = list(csv.DictReader((out / "labels.csv").open(encoding="utf-8")))
        ws.con.register(
            "calibration_labels",
            pa.table(
                {
                    "file": [r["file"].split("/")[-1] for r in rows],
                    "record": [int(r["record"]) for r in rows],
                    "technique": [r["technique"] for r in rows],
                }
            ),
        )
        bad: dict[str, set[str]] = defaultdict(set)
        for eid, technique in ws.con.execute(
            """SELECT e."event.id", l.technique FROM events e JOIN calibration_labels l
               ON l.file = regexp_extract(e."log.file.path", '[^/]+$') AND l.record = e."log.record" """
        ).fetchall():
            bad[eid].add(technique)
        ws.con.unregister("calibration_labels")
        return [
            (a.detector, a.score, any(any_match(bad.get(e, set()), a.techniques) for e in a.event_ids))
            for a in load_alerts(ws.con)
        ]


def counts(alerts: list[tuple[str, float, bool]]) -> dict[str, DetectorCalibration]:
    """Per detector and band: true and false positives."""
    tp: dict[str, list[int]] = defaultdict(lambda: [0] * len(BAND_EDGES))
    fp: dict[str, list[int]] = defaultdict(lambda: [0] * len(BAND_EDGES))
    for detector, score, real in alerts:
        (tp if real else fp)[detector][band_of(score)] += 1
    return {d: DetectorCalibration(d, tuple(tp[d]), tuple(fp[d])) for d in sorted(set(tp) | set(fp))}


def commit() -> str:
    """The code's commit, so a calibration says what it measured."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def check(calibration: Calibration, alerts: list[tuple[str, float, bool]]) -> dict[str, Any]:
    """Predicted confidence against the share that was real, per detector, and the Brier score."""
    by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for detector, score, real in alerts:
        conf = calibration.confidence(detector, score)
        if conf is not None:
            by[detector].append((conf, real))
    rows = []
    for detector, items in sorted(by.items()):
        rows.append(
            {
                "detector": detector,
                "alerts": len(items),
                "predicted": round(sum(c for c, _ in items) / len(items), 3),
                "observed": round(sum(r for _, r in items) / len(items), 3),
            }
        )
    pairs = [x for items in by.values() for x in items]
    brier = sum((c - float(r)) ** 2 for c, r in pairs) / len(pairs) if pairs else None
    return {"detectors": rows, "brier": round(brier, 4) if brier is not None else None, "alerts": len(pairs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--check", type=int, default=None, help="a held-out seed to check the calibration on")
    ap.add_argument("--out", type=Path, default=SHIPPED)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    try:
        if args.check is not None:
            shipped = Calibration.from_json(json.loads(SHIPPED.read_text(encoding="utf-8")), str(SHIPPED))
            result = check(shipped, labelled_run(args.check, args.events, args.days, tmp))
            result.update(seed=args.check, events=args.events, days=args.days)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            for r in result["detectors"]:
                print(
                    f"{r['detector']:26s} {r['alerts']:5d} alerts  predicted {r['predicted']:.2f}  observed {r['observed']:.2f}"
                )
            print(f"Brier score over {result['alerts']} alerts: {result['brier']}")
            return 0
        alerts: list[tuple[str, float, bool]] = []
        per_seed = {}
        for seed in args.seeds:
            t0 = time.perf_counter()
            run = labelled_run(seed, args.events, args.days, tmp)
            per_seed[str(seed)] = {"alerts": len(run), "real": sum(r for *_, r in run)}
            alerts.extend(run)
            print(
                f"seed {seed}: {len(run)} alerts, {per_seed[str(seed)]['real']} real, {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
        measured = {
            "what": "alerts of each detector whose evidence holds an event labelled with a matching technique "
            "(real: what bluebench evaluate counts as a true positive) or not",
            "seeds": args.seeds,
            "events": args.events,
            "days": args.days,
            "per_seed": per_seed,
            "commit": commit(),
            "date": datetime.now(UTC).date().isoformat(),
            "command": "bench/calibrate.py --seeds " + " ".join(map(str, args.seeds)),
        }
        calibration = Calibration(counts(alerts), measured)
        args.out.write_text(json.dumps(calibration.to_json(), indent=2) + "\n", encoding="utf-8")
        for name, c in sorted(calibration.detectors.items()):
            conf = ", ".join(f"{x:.2f}" for x in c.confidences())
            print(f"{name:26s} tp {list(c.tp)} fp {list(c.fp)} confidence by band {conf}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

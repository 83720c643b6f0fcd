"""Detection quality on a generated organisation with a seed no one tuned on.

Generates an organisation (``bluebench.datagen``) with ``--seed``, ingests it, runs every
built-in detector, and measures, with what ``bluebench evaluate`` counts:

* precision per detector and overall: an alert is real when one of its evidence events is
  labelled with a technique matching one of the alert's (T1110.001 matches T1110);
* recall per attack instance (attack id, technique): found when one of its events is evidence
  of an alert with a matching technique;
* which detectors open incidents alone: an alert opens one when its calibrated confidence is
  at least the grouping's ``open_min_confidence`` (or was never measured); the precision of
  those alerts is the figure a detector left on must hold (0.3 or more).

    .venv/bin/python bench/org_quality.py --seed 11 --out bench/results/org_quality-11.json

Seeds 1, 2 and 3 are the ones ``bench/calibrate.py`` measured confidences on; report others.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluebench import pipeline
from bluebench.alerts.store import load_alerts
from bluebench.attack import any_match
from bluebench.datagen import generate
from bluebench.events.workspace import Workspace
from bluebench.incidents.config import load_grouping_params

TUNED_SEEDS = (1, 2, 3)
FLOOR = 0.3  # the precision a detector that opens incidents alone must hold


def _labels(ws: Workspace, labels_csv: Path) -> tuple[dict[str, set[str]], dict[str, set[tuple[str, str]]]]:
    """Per stored event id: its labelled techniques, and the (attack id, technique) instances it is part of."""
    rows = list(csv.DictReader(labels_csv.open(encoding="utf-8")))
    ws.con.register(
        "quality_labels",
        pa.table(
            {
                "file": [r["file"].split("/")[-1] for r in rows],
                "record": [int(r["record"]) for r in rows],
                "technique": [r["technique"] for r in rows],
                "instance": [f"{r['attack']}#{r['attack_id']}" for r in rows],
            }
        ),
    )
    techniques: dict[str, set[str]] = defaultdict(set)
    instances: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for eid, technique, instance in ws.con.execute(
        """SELECT e."event.id", l.technique, l.instance FROM events e JOIN quality_labels l
           ON l.file = regexp_extract(e."log.file.path", '[^/]+$') AND l.record = e."log.record" """
    ).fetchall():
        techniques[eid].add(technique)
        instances[eid].add((instance, technique))
    ws.con.unregister("quality_labels")
    return techniques, instances


def measure(seed: int, events: int, days: int, tmp: Path) -> dict[str, Any]:
    """Generate, scan and measure one organisation."""
    out = tmp / f"org-{seed}"
    generate(out, events, seed=seed, days=days)
    open_min = load_grouping_params().open_min_confidence
    with Workspace(tmp / f"ws-{seed}") as ws:
        pipeline.ingest(ws, pipeline.input_files([str(out / "windows"), str(out / "linux")]))
        pipeline.detect(ws.con)
        techniques, instances = _labels(ws, out / "labels.csv")
        alerts = load_alerts(ws.con)
    every = {i for s in instances.values() for i in s}
    found: set[tuple[str, str]] = set()
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in alerts:
        real = any(any_match(techniques.get(e, set()), a.techniques) for e in a.event_ids)
        opens = a.confidence is None or a.confidence >= open_min
        row = per[a.detector]
        row["alerts"] += 1
        row["real"] += real
        row["opening"] += opens
        row["opening_real"] += opens and real
        for e in a.event_ids:
            found |= {i for i in instances.get(e, set()) if any_match([i[1]], a.techniques)}
    by_attack: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for inst in every:
        attack = inst[0].split("#")[0]
        by_attack[attack][0] += 1
        by_attack[attack][1] += inst in found
    detectors = []
    for name, r in sorted(per.items()):
        precision = r["real"] / r["alerts"]
        opening_precision = r["opening_real"] / r["opening"] if r["opening"] else None
        detectors.append(
            {
                "detector": name,
                **r,
                "precision": round(precision, 3),
                "opening_precision": None if opening_precision is None else round(opening_precision, 3),
                "holds_floor": opening_precision is None or opening_precision >= FLOOR,
            }
        )
    n_alerts = sum(r["alerts"] for r in per.values())
    n_real = sum(r["real"] for r in per.values())
    return {
        "seed": seed,
        "tuned": seed in TUNED_SEEDS,
        "events": events,
        "days": days,
        "open_min_confidence": open_min,
        "alerts": n_alerts,
        "real": n_real,
        "precision": round(n_real / n_alerts, 3) if n_alerts else None,
        "instances": len(every),
        "instances_found": len(found & every),
        "recall": round(len(found & every) / len(every), 3) if every else None,
        "detectors": detectors,
        "attacks": {k: {"instances": v[0], "found": v[1]} for k, v in sorted(by_attack.items())},
    }


def show(result: dict[str, Any]) -> None:
    """The tables the note quotes."""
    print(
        f"seed {result['seed']} ({'tuned on' if result['tuned'] else 'no one tuned on'}), {result['events']:,} events, "
        f"{result['days']} days: precision {result['precision']} ({result['real']}/{result['alerts']}), "
        f"recall per attack instance {result['recall']} ({result['instances_found']}/{result['instances']})"
    )
    print(f"{'detector':26s} alerts  real  prec  opening  real  prec  floor")
    for d in result["detectors"]:
        op = "-" if d["opening_precision"] is None else f"{d['opening_precision']:.2f}"
        print(
            f"{d['detector']:26s} {d['alerts']:6d} {d['real']:5d} {d['precision']:5.2f} {d['opening']:8d} "
            f"{d['opening_real']:5d} {op:>5s}  {'ok' if d['holds_floor'] else 'BELOW'}"
        )
    print(f"{'attack':34s} instances found")
    for k, v in result["attacks"].items():
        print(f"{k:34s} {v['instances']:9d} {v['found']:5d}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="org-quality-"))
    try:
        t0 = time.perf_counter()
        result = measure(args.seed, args.events, args.days, tmp)
        result["seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    show(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Noise and hits of the behaviour detectors, which need weeks of history to judge at all.

Three measurements, alerts per 1,000 events for each of ``unusual_logon_hour``,
``new_source_or_host``, ``new_logon_type`` and ``user_day_anomaly``:

1. each OTRF dataset on its own (minutes of one host: no baseline, so no alert is expected);
2. all OTRF datasets in one workspace (the lab's accounts recur over months);
3. a ``bluebench generate`` corpus of ``--days`` days, whose labels say which alerts touch
   an injected attack (an alert "hits" when one of its events is labelled).

Reads ``../shared/data/windows/otrf`` (OTRF Security-Datasets, MIT).

    .venv/bin/python bench/behaviour_noise.py [--days 60 --events 600000 --seed 1]
        [--out bench/results/behaviour_noise.json] [--skip-otrf]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from bluebench import pipeline
from bluebench.datagen import generate
from bluebench.events.workspace import Workspace

OTRF = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "windows" / "otrf"
BEHAVIOUR = ["unusual_logon_hour", "new_source_or_host", "new_logon_type", "user_day_anomaly"]


def run(ws: Workspace) -> dict[str, Any]:
    """Alerts of each behaviour detector on one workspace, with timings."""
    events = ws.event_count()
    out: dict[str, Any] = {"events": events, "detectors": {}}
    report = pipeline.detect(ws.con, pipeline.DetectOptions(only=tuple(BEHAVIOUR)))
    for run in report.runs:
        alerts = [a for a in report.alerts if a.detector == run.id]
        out["detectors"][run.id] = {
            "alerts": len(alerts),
            "alerts_per_1000": round(1000 * len(alerts) / events, 4) if events else None,
            "seconds": round(run.timing.wall_s, 2),
            "_alerts": alerts,
        }
    return out


def strip(result: dict[str, Any]) -> dict[str, Any]:
    """The result without the alert objects, for JSON."""
    return {
        **result,
        "detectors": {
            k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
            for k, v in result["detectors"].items()
        },
    }


def otrf(data: Path, tmp: Path) -> dict[str, Any]:
    zips = sorted(data.glob("datasets/**/*.zip"))
    per = []
    for z in zips:
        with Workspace(tmp / z.stem) as ws:
            pipeline.ingest(ws, pipeline.input_files([str(z)]))
            r = run(ws)
        per.append({"dataset": str(z.relative_to(data)), **strip(r)})
        shutil.rmtree(tmp / z.stem, ignore_errors=True)
    events = sum(p["events"] for p in per)
    alerts = sum(d["alerts"] for p in per for d in p["detectors"].values())
    with Workspace(tmp / "all") as ws:
        pipeline.ingest(ws, pipeline.input_files([str(z) for z in zips]))
        combined = strip(run(ws))
    return {
        "separately": {"datasets": len(per), "events": events, "alerts": alerts, "per_dataset": per},
        "together": combined,
    }


def generated(tmp: Path, events: int, days: int, seed: int) -> dict[str, Any]:
    folder = tmp / "gen"
    summary = generate(folder, events, seed=seed, days=days, start=date(2025, 1, 6))
    labels: dict[tuple[str, int], str] = {}
    with (folder / "labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            labels[(row["file"], int(row["record"]))] = row["attack_id"]
    with Workspace(tmp / "gen-ws") as ws:
        pipeline.ingest(ws, pipeline.input_files([str(folder)]))
        rows = ws.con.execute('SELECT "event.id", "log.file.path", "log.record" FROM events').fetchall()
        attack_of = {}
        for eid, path, record in rows:
            rel = Path(path).relative_to(folder).as_posix()
            if (rel, record) in labels:
                attack_of[eid] = labels[(rel, record)]
        result = run(ws)
    for d in result["detectors"].values():
        hits = [a for a in d["_alerts"] if any(e in attack_of for e in a.event_ids)]
        d["alerts_touching_attacks"] = len(hits)
        d["attacks_hit"] = sorted({attack_of[e] for a in hits for e in a.event_ids if e in attack_of})
    return {
        "days": days,
        "seed": seed,
        "attacks": len(summary.attacks),
        "labelled_events": summary.labelled_events,
        **strip(result),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=OTRF)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--events", type=int, default=600_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-otrf", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/behaviour_noise.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="behaviour-"))
    try:
        report: dict[str, Any] = {}
        if not args.skip_otrf:
            report["otrf"] = otrf(args.data, tmp)
            sep, tog = report["otrf"]["separately"], report["otrf"]["together"]
            print(
                f"OTRF separately: {sep['alerts']} alerts over {sep['events']:,} events in {sep['datasets']} datasets"
            )
            print(f"OTRF together: {json.dumps(tog['detectors'])}")
        report["generated"] = generated(tmp, args.events, args.days, args.seed)
        print(f"generated ({args.days} days, {report['generated']['events']:,} events):")
        for name, d in report["generated"]["detectors"].items():
            print(
                f"  {name:20s} {d['alerts']:4d} alerts ({d['alerts_per_1000']}/1k), "
                f"{d['alerts_touching_attacks']} touch attacks: {', '.join(d['attacks_hit']) or '-'}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A demo-like run (helpers; the fixtures are in report_fixtures.py), built once per session: the shipped EVTX samples plus a small generated log.

Built the way ``make demo`` builds it (generate, scan, evaluate against both label files, group
into incidents when that stage exists), only smaller, so every report test reads a real run.
Stored paths are relative to the run folder, as a user typing them there would store them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.datagen import generate
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation import evaluate_alerts, load_labels, save_evaluation
from bluebench.events.workspace import Workspace
from bluebench.incidents import group_alerts
from bluebench.review import ReviewStore
from bluebench.sources import discover

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"


@dataclass
class DemoRun:
    """Where the run lives: its folder (the cwd of every command) and its workspace inside it."""

    folder: Path
    workspace: Path


def build_demo(folder: Path, events: int = 6000) -> DemoRun:
    """Generate, ingest, detect, evaluate and group; returns the run's folders."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLES, folder / "samples")
    generate(folder / "gen", events, seed=7, days=8)
    old = Path.cwd()
    os.chdir(folder)
    try:
        with Workspace("ws") as ws:
            ws.ingest(discover(["samples/evtx", "gen/windows", "gen/linux"]))
            detectors = build_detectors(load_config(None))
            save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
            for labels in ("samples/evtx_labels.csv", "gen/labels.csv"):
                save_evaluation(ws.con, evaluate_alerts(ws.con, load_labels(labels), load_alerts(ws.con)))
            group_incidents(ws)
    finally:
        os.chdir(old)
    review_some(folder)
    return DemoRun(folder, folder / "ws")


def group_incidents(ws: Workspace) -> bool:
    """Group the alerts into incidents (the incidents stage)."""
    group_alerts(ws.con)
    return True


def review_some(folder: Path) -> None:
    """A lead records verdicts on the first incidents: one true, one false, one benign, one open."""
    with Workspace(folder / "ws") as ws:
        rows = ws.con.execute(
            "SELECT i.id, list(l.alert_id ORDER BY l.alert_id), list(a.detector ORDER BY l.alert_id) "
            "FROM incidents i JOIN incident_alerts l ON l.incident_id = i.id JOIN alerts a ON a.id = l.alert_id "
            "GROUP BY i.id ORDER BY i.id LIMIT 4"
        ).fetchall()
    with ReviewStore.for_workspace(folder / "ws") as store:
        store.add_user("lead", "correct horse battery", "lead")
        for (iid, aids, dets), verdict in zip(
            rows, ("true_positive", "false_positive", "benign_true_positive", "needs_info"), strict=False
        ):
            reason = "" if verdict in ("true_positive", "needs_info") else "checked with the owner"
            store.set_verdict(
                iid, verdict, actor="lead", reason=reason, alerts=list(zip(aids, dets, strict=True))
            )

"""A small generated organisation with every attack scenario, scanned once per test session.

Detector tests read it to check that an attack's instance is found (an alert of the detector
with one of the instance's labelled events as evidence) and that the hard negatives around it
(configuration management, remoting admins, print clients, ...) raise nothing.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from bluebench.datagen import generate
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover

# Three weeks of a small organisation: long enough for the baselines, two attack rounds.
EVENTS, DAYS, SEED = 400_000, 21, 23


@dataclass
class GeneratedRun:
    """A scanned generated organisation: its alerts and which events each attack instance owns."""

    ws: Workspace
    alerts: list[Alert]
    instances: dict[str, set[str]] = field(default_factory=dict)  # attack_id -> event ids
    attack_of: dict[str, str] = field(default_factory=dict)  # attack_id -> attack name

    def of(self, detector: str) -> list[Alert]:
        """Alerts of one detector."""
        return [a for a in self.alerts if a.detector == detector]

    def ids(self, attack: str) -> list[str]:
        """Instance ids of one attack scenario."""
        return sorted(i for i, name in self.attack_of.items() if name == attack)

    def found_by(self, attack_id: str, detector: str) -> list[Alert]:
        """The detector's alerts with evidence among the instance's events."""
        mine = self.instances[attack_id]
        return [a for a in self.of(detector) if mine & set(a.event_ids)]

    def false(self, detector: str) -> list[Alert]:
        """The detector's alerts with no labelled event as evidence."""
        labelled = set().union(*self.instances.values())
        return [a for a in self.of(detector) if not labelled & set(a.event_ids)]


def scan_generated(folder: Path) -> GeneratedRun:
    """Generate, ingest and run every built-in detector; map labels to stored event ids."""
    out = folder / "org"
    generate(out, EVENTS, seed=SEED, days=DAYS)
    ws = Workspace(folder / "ws")
    ws.ingest(discover([str(out / "windows"), str(out / "linux")]))
    alerts = run_detectors(ws.con, build_detectors(load_config()))
    with (out / "labels.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    labels = pa.table(
        {
            "file": [r["file"].split("/")[-1] for r in rows],
            "record": [int(r["record"]) for r in rows],
            "attack_id": [r["attack_id"] for r in rows],
        }
    )
    ws.con.register("generated_labels", labels)
    try:
        found = ws.con.execute(
            """SELECT l.attack_id, e."event.id" FROM events e JOIN generated_labels l
               ON l.file = regexp_extract(e."log.file.path", '[^/]+$') AND l.record = e."log.record" """
        ).fetchall()
    finally:
        ws.con.unregister("generated_labels")
    run = GeneratedRun(ws, alerts)
    instances: dict[str, set[str]] = defaultdict(set)
    for attack_id, eid in found:
        instances[attack_id].add(eid)
    run.instances = dict(instances)
    run.attack_of = {r["attack_id"]: r["attack"] for r in rows}
    return run

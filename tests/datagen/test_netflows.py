"""The generated conn.log: reproducible, read without a skipped line, and its labelled attacks found."""

from __future__ import annotations

import csv
from pathlib import Path

from bluebench.datagen.netflows import NetPlan, generate_conn
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.sources import discover

PLAN = NetPlan(rows=30_000, days=2, hosts=40, servers=5, sites=2000, beacons=3, exfiltrations=2, scans=2)


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a = generate_conn(PLAN, tmp_path / "a")
    generate_conn(PLAN, tmp_path / "b")
    generate_conn(NetPlan(**{**PLAN.__dict__, "seed": 2}), tmp_path / "c")
    first = (tmp_path / "a" / "conn.log").read_bytes()
    assert first == (tmp_path / "b" / "conn.log").read_bytes() != (tmp_path / "c" / "conn.log").read_bytes()
    assert a["rows"] == first.count(b"\n") - 7  # seven header lines
    labels = list(csv.DictReader((tmp_path / "a" / "labels.csv").open()))
    assert [r["attack"] for r in labels] == [a_["attack"] for a_ in a["attacks"]]  # type: ignore[index, union-attr]


def test_every_row_is_read_and_the_attacks_are_named_by_alerts(tmp_path: Path) -> None:
    manifest = generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    summary = ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    assert summary.events == manifest["rows"] and not summary.had_problems
    with ws:
        alerts = run_detectors(
            ws.con, build_detectors(load_config(), only=["beaconing", "exfiltration", "port_scan"])
        )
    labels = list(csv.DictReader((tmp_path / "gen" / "labels.csv").open()))
    for row in labels:
        hits = [a for a in alerts if a.entities.get("source") == row["source"]]
        assert hits, f"{row['attack']} from {row['source']} raised no alert"
    periodic = manifest["periodic_benign"]
    assert isinstance(periodic, dict)
    assert not [
        a for a in alerts if a.detector == "beaconing" and a.entities["destination"] in periodic.values()
    ]

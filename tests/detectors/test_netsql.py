"""Beaconing, long connections and exfiltration read the sources in passes: the same findings as one pass."""

from __future__ import annotations

from pathlib import Path

from bluebench.datagen.netflows import NetPlan, generate_conn
from bluebench.detectors.c2 import Beaconing, LongConnection
from bluebench.detectors.exfil import Exfiltration
from bluebench.events.workspace import Workspace
from bluebench.sources import discover

PLAN = NetPlan(rows=20_000, days=2, hosts=30, servers=4, sites=1500, beacons=3, exfiltrations=2, scans=0)


def test_passes_over_the_sources_give_the_findings_of_one(tmp_path: Path) -> None:
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    with ws:
        for cls in (Beaconing, LongConnection, Exfiltration):
            one = cls(min_score=0.0).detect(ws.con)
            many = cls(min_score=0.0, chunk_rows=3000).detect(ws.con)  # seven passes
            assert one, f"{cls.id} found nothing to compare"
            assert [(a.id, a.score, a.reasons, a.event_ids) for a in many] == [
                (a.id, a.score, a.reasons, a.event_ids) for a in one
            ], cls.id


def test_evidence_fetched_for_kept_findings_is_what_all_findings_cite(tmp_path: Path) -> None:
    """Evidence comes from a second query over the kept findings' hosts: the same ids as the full run."""
    generate_conn(PLAN, tmp_path / "gen")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(tmp_path / "gen" / "conn.log")]))
    with ws:
        for cls in (Beaconing, LongConnection, Exfiltration):
            every = {(a.score, tuple(a.reasons)): a.event_ids for a in cls(min_score=0.0).detect(ws.con)}
            kept = cls().detect(ws.con)
            for a in kept:
                assert a.event_ids and a.event_ids == every[(a.score, tuple(a.reasons))], cls.id
            below = [f for f in cls().score(ws.con) if not cls().reaches(f.score)]
            assert all(not f.event_ids for f in below), cls.id

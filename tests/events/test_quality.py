"""The data-quality report: what it counts and the sentences it gives."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bluebench.events.quality import EPOCH_DATED_BEFORE, quality_report
from netlogs import T0, conn, ingest, zeek_tsv


def test_events_dated_near_the_epoch_are_counted_and_named(tmp_path: Path) -> None:
    # An Argus or Zeek capture replayed without absolute times starts at 1970-01-01.
    relative = [
        conn(t - T0, "10.0.0.5", "198.51.100.7", 443, sport=50000 + i) for i, t in enumerate((0, 60, 3600))
    ]
    dated = [conn(t, "10.0.0.5", "198.51.100.7", 443, sport=51000 + i) for i, t in enumerate((0, 60))]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", relative + dated)}) as ws:
        report = quality_report(ws.con, now=datetime(2026, 1, 1))
    assert (report.events, report.epoch_dated, report.future) == (5, 3, 0)
    assert report.first is not None and report.first < EPOCH_DATED_BEFORE
    (sentence,) = [f for f in report.findings() if "dated before" in f]
    assert sentence.startswith("3 events are dated before 1990: a clock never set")
    assert report.to_json()["epoch_dated"] == 3


def test_sound_dates_give_no_epoch_finding(tmp_path: Path) -> None:
    rows = [conn(t, "10.0.0.5", "198.51.100.7", 443, sport=50000 + i) for i, t in enumerate((0, 60))]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", rows)}) as ws:
        report = quality_report(ws.con, now=datetime(2026, 1, 1))
    assert report.epoch_dated == 0 and not any("dated before" in f for f in report.findings())

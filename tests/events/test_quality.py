"""The data-quality report: what it counts and the sentences it gives."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bluebench.events.quality import EPOCH_DATED_BEFORE, out_of_order, quality_report
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


REFERENCE_OUT_OF_ORDER = """SELECT count(*) FROM (
    SELECT "@timestamp" < lag("@timestamp") OVER (PARTITION BY "log.file.path" ORDER BY "log.record") AS back
    FROM events WHERE "event.dataset" <> 'evtx') WHERE back"""


@pytest.mark.parametrize("seed", range(6))
def test_out_of_order_by_blocks_counts_what_one_window_per_file_counts(seed: int) -> None:
    # Record numbers with gaps (skipped lines), timestamps that jump back, some missing, two files
    # and an EVTX file that is left out: every block size gives the count of one window per file.
    rng = random.Random(seed)
    rows = []
    for path, dataset in (("a.log", "zeek"), ("b.log", "argus"), ("c.evtx", "evtx")):
        record, t = 0, datetime(2024, 3, 1)
        for _ in range(rng.randint(1, 60)):
            record += rng.choice((1, 1, 1, 2, 5))
            t += timedelta(seconds=rng.randint(-30, 60))
            rows.append((path, record, None if rng.random() < 0.1 else t, dataset))
    con = duckdb.connect()
    con.execute(
        'CREATE TABLE events ("log.file.path" VARCHAR, "log.record" BIGINT, "@timestamp" TIMESTAMP, '
        '"event.dataset" VARCHAR)'
    )
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
    expected = con.execute(REFERENCE_OUT_OF_ORDER).fetchall()[0][0]
    assert [out_of_order(con, block) for block in (1, 2, 3, 7, 64, 65_536)] == [expected] * 6

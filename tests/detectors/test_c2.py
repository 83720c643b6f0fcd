"""Beaconing and long connections: the shipped C2 captures, and the ordinary pollers they must not be."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bluebench.detectors.c2 import Beaconing, LongConnection, bowley, regularity
from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from netlogs import T0, conn, every, ingest, zeek_tsv

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek"
HOST, C2 = "10.1.0.20", "198.51.100.66"


def _sample(tmp_path: Path, *parts: str) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(SAMPLES.joinpath(*parts))]))
    return ws


def test_njrat_channel_is_found_with_both_addresses_period_and_jitter(tmp_path: Path) -> None:
    with _sample(tmp_path, "001-njrat") as ws:
        (alert,) = Beaconing().detect(ws.con)
    assert alert.entities == {
        "host": "192.168.1.115",
        "source": "192.168.1.115",
        "destination": "41.108.179.197",
        "port": "1177",
    }
    lead = alert.reasons[0]
    assert "192.168.1.115 connected to 41.108.179.197:1177" in lead
    assert "every 23.0 s (median gap)" in lead and "jitter of" in lead
    assert any("not a standard service port" in r for r in alert.reasons)
    assert alert.score >= 0.5 and "T1571" in alert.techniques


def test_remcos_retries_are_a_beacon_too(tmp_path: Path) -> None:
    with _sample(tmp_path, "test18-remcos") as ws:
        (alert,) = Beaconing().detect(ws.con)
    assert alert.entities["destination"] == "66.63.168.35" and alert.entities["port"] == "5888"
    assert "every 2.1 s" in alert.reasons[0]
    assert any("refused or unanswered" in r for r in alert.reasons)


def _poller(
    start: float, period: float, n: int, dport: int, jitter: float = 1.0, **kw: object
) -> list[dict[str, object]]:
    return [
        conn(t, HOST, C2, dport, sport=40000 + i, sent=320, got=900, **kw)  # type: ignore[arg-type]
        for i, t in enumerate(every(start, period, n, jitter))
    ]


def test_same_timing_alerts_on_an_odd_port_but_not_on_a_named_https_service(tmp_path: Path) -> None:
    https = _poller(0, 300, 100, 443, service="ssl")
    ssl = [
        {"ts": r["ts"], "uid": r["uid"], "id.orig_h": HOST, "id.orig_p": r["id.orig_p"], "id.resp_h": C2,
         "id.resp_p": 443, "server_name": "telemetry.example.com", "validation_status": "ok"}
        for r in https
    ]  # fmt: skip
    with ingest(tmp_path / "a", {"conn.log": zeek_tsv("conn", https), "ssl.log": zeek_tsv("ssl", ssl)}) as ws:
        found = list(Beaconing().score(ws.con))
        assert [f.entities["destination"] for f in found] == ["telemetry.example.com"], "keyed by server name"
        assert found[0].score < 0.5, "a named HTTPS poller only ranks"
        assert not Beaconing(min_score=0.5).detect(ws.con)
    with ingest(tmp_path / "b", {"conn.log": zeek_tsv("conn", _poller(0, 300, 100, 4444))}) as ws:
        (alert,) = Beaconing(min_score=0.5).detect(ws.con)
        assert alert.entities["destination"] == C2 and "every 5.0 min" in alert.reasons[0]


def test_a_name_at_many_addresses_names_the_same_three_every_run(tmp_path: Path) -> None:
    # A service behind rotating addresses: the reason names three of them, and which three (and
    # in what order) must not depend on how DuckDB's threads happened to aggregate the pair.
    addresses = [f"203.0.113.{n}" for n in (90, 7, 55, 13, 201, 42)]
    rows = [
        conn(t, HOST, addresses[i % len(addresses)], 443, sport=40000 + i, sent=320, got=900, service="ssl")
        for i, t in enumerate(every(0, 300, 60, 1.0))
    ]
    ssl = [
        {"ts": r["ts"], "uid": r["uid"], "id.orig_h": HOST, "id.orig_p": r["id.orig_p"],
         "id.resp_h": r["id.resp_h"], "id.resp_p": 443, "server_name": "cdn.example.com", "validation_status": "ok"}
        for r in rows
    ]  # fmt: skip
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", rows), "ssl.log": zeek_tsv("ssl", ssl)}) as ws:
        leads = {next(iter(Beaconing().score(ws.con))).reasons[0] for _ in range(5)}
    assert len(leads) == 1
    assert "cdn.example.com:443 (at 203.0.113.13, 203.0.113.201, 203.0.113.42)" in leads.pop()


def test_irregular_traffic_is_not_a_beacon(tmp_path: Path) -> None:
    rng = random.Random(3)
    times, t = [], 0.0
    for _ in range(100):
        t += rng.expovariate(1 / 300)
        times.append(t)
    rows = [
        conn(x, HOST, C2, 4444, sport=40000 + i, sent=rng.randint(100, 90000)) for i, x in enumerate(times)
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", rows)}) as ws:
        assert not Beaconing(min_score=0.5).detect(ws.con)


def test_allow_list_and_a_tls_only_capture(tmp_path: Path) -> None:
    ssl = [
        {"ts": T0 + t, "uid": f"C{i}", "id.orig_h": HOST, "id.orig_p": 40000 + i, "id.resp_h": C2, "id.resp_p": 8443,
         "server_name": None, "validation_status": "self signed certificate"}
        for i, t in enumerate(every(0, 60, 60, 0.5))
    ]  # fmt: skip
    with ingest(tmp_path, {"ssl.log": zeek_tsv("ssl", ssl)}) as ws:
        beaconing, long = Beaconing(min_score=0.5), LongConnection()
        (alert,) = beaconing.detect(ws.con)
        assert not long.detect(ws.con)
        # What each detector could not see is said, not silently missing.
        assert beaconing.notes == [
            "beaconing: no Zeek conn.log or Argus flows among the network logs read (ssl): sizes, refusals "
            "and sessions are unknown; timing is read from ssl/http records alone"
        ]
        assert "no session durations" in long.notes[0]
        assert "sizes unknown: no conn.log record" in alert.reasons[1]
        assert any("self-signed" in r for r in alert.reasons) and any(
            "named a server" in r for r in alert.reasons
        )
        assert not Beaconing(allow=[C2]).detect(ws.con)


def test_peer_to_peer_fan_out_halves_the_score(tmp_path: Path) -> None:
    rows = []
    for k in range(8):
        peer = f"203.0.113.{10 + k}"
        rows += [
            conn(t, HOST, peer, 51413, sport=30000 + 100 * k + i, proto="udp", state="S0", sent=74, got=0)
            for i, t in enumerate(every(k, 60, 30, 0.2))
        ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", rows)}) as ws:
        found = list(Beaconing().score(ws.con))
    assert len(found) == 8 and all(f.score < 0.5 for f in found)
    assert all(any("peer-to-peer" in r for r in f.reasons) for f in found)


def test_regularity_scores() -> None:
    assert bowley([1.0, 1.0, 1.0]) == 0.0
    assert bowley([1.0, 1.0, 3.0]) == pytest.approx(1.0)
    assert regularity([10.0, 10.0, 10.0], 0.0) == 1.0
    assert regularity([1.0, 10.0, 100.0], 9.0) is not None and regularity([1.0, 10.0, 100.0], 9.0) < 0.5  # type: ignore[operator]
    assert regularity(None, None) is None


def test_android_rat_long_connection_and_an_ordinary_one(tmp_path: Path) -> None:
    with _sample(tmp_path, "003-android-rat") as ws:
        (alert,) = LongConnection().detect(ws.con)
        assert alert.entities["destination"] == "147.32.83.234" and alert.entities["port"] == "1337"
        assert "open for 1.2 h without a break" in alert.reasons[0] and "42.0 MB sent" in alert.reasons[0]
        assert alert.techniques[0] == "T1571"
    push = [conn(0, HOST, "192.0.2.80", 443, service="ssl", duration=3 * 3600.0, sent=40_000, got=60_000)]
    with ingest(tmp_path / "push", {"conn.log": zeek_tsv("conn", push)}) as ws:
        (f,) = LongConnection().score(ws.con)
        assert f.score < 0.5 and "nothing else is odd" in f.reasons[-1]


def test_heavy_traffic_both_ways_lowers_a_long_connection(tmp_path: Path) -> None:
    call = [
        conn(0, HOST, "192.0.2.81", 10000, proto="udp", duration=5400.0, sent=80_000_000, got=300_000_000)
    ]
    quiet = [conn(0, HOST, "192.0.2.82", 10000, proto="udp", duration=5400.0, sent=8_000, got=9_000)]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", call + quiet)}) as ws:
        by_dst = {f.entities["destination"]: f for f in LongConnection().score(ws.con)}
    assert by_dst["192.0.2.81"].score < by_dst["192.0.2.82"].score
    assert any("heavy traffic both ways" in r for r in by_dst["192.0.2.81"].reasons)


@pytest.mark.parametrize("start", [0.0, 1234.5, 1790.0])
def test_a_stretch_of_short_reconnects_is_kept_by_the_slice_test_and_a_sparse_poller_is_not(
    tmp_path: Path, start: float
) -> None:
    """Only pairs whose sessions can cover a half-hour slice reach the windows: chained ones must."""
    chained = [  # 40 s sessions every 100 s for 2 h: each gap (60 s) is under the merge gap (120 s)
        conn(start + 100.0 * i, HOST, "192.0.2.90", 7000, sport=41000 + i, duration=40.0, sent=900, got=900)
        for i in range(72)
    ]
    sparse = [  # the same sessions every 300 s: gaps of 260 s break every stretch
        conn(start + 300.0 * i, HOST, "192.0.2.91", 7000, sport=42000 + i, duration=40.0, sent=900, got=900)
        for i in range(24)
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", chained + sparse)}) as ws:
        found = list(LongConnection(min_score=0.0).score(ws.con))
    assert [f.entities["destination"] for f in found] == ["192.0.2.90"]
    assert "open for 2.0 h without a break" in found[0].reasons[0] and "72 sessions" in found[0].reasons[0]

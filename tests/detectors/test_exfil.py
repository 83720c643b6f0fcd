"""Exfiltration: an upload far above what came back, retries that never stop, and what is not theft."""

from __future__ import annotations

from pathlib import Path

from bluebench.detectors.exfil import Exfiltration
from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from netlogs import conn, every, ingest, zeek_tsv

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek"
HOST = "10.1.0.20"


def _sample(tmp_path: Path, name: str) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(SAMPLES / name)]))
    return ws


def test_android_rat_upload_is_named_with_its_volume(tmp_path: Path) -> None:
    with _sample(tmp_path, "003-android-rat") as ws:
        (alert,) = Exfiltration().detect(ws.con)
    assert alert.entities["destination"] == "147.32.83.234" and alert.entities["port"] == "1337"
    assert "sent 42.0 MB" in alert.reasons[0] and "received 5.8 kB" in alert.reasons[0]
    assert any("times more went out than came back" in r for r in alert.reasons)
    assert alert.techniques == ["T1041", "T1048"] and alert.score >= 0.5


def test_remcos_retries_count_as_attempts(tmp_path: Path) -> None:
    with _sample(tmp_path, "test18-remcos") as ws:
        (alert,) = Exfiltration().detect(ws.con)
    assert "tried 66.63.168.35:5888 240 times" in alert.reasons[0]


def _background(n: int = 8) -> list[dict[str, object]]:
    return [
        conn(60.0 * i, HOST, f"192.0.2.{i + 1}", 443, sport=30000 + i, sent=2_000, got=40_000)
        for i in range(n)
    ]


def test_upload_alerts_download_does_not(tmp_path: Path) -> None:
    up = [
        conn(
            1000,
            HOST,
            "203.0.113.50",
            443,
            sport=41000,
            service="ssl",
            duration=300.0,
            sent=60_000_000,
            got=200_000,
        )
    ]
    down = [
        conn(
            2000,
            HOST,
            "203.0.113.51",
            443,
            sport=41001,
            service="ssl",
            duration=300.0,
            sent=200_000,
            got=60_000_000,
        )
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", _background() + up + down)}) as ws:
        alerts = Exfiltration(min_score=0.5).detect(ws.con)
    assert [a.entities["destination"] for a in alerts] == ["203.0.113.50"]
    assert any("robust deviations above this host's usual volume" in r for r in alerts[0].reasons)


def test_a_scan_is_not_retries_and_allow_list_holds(tmp_path: Path) -> None:
    scan = [
        conn(
            i * 0.01,
            HOST,
            "203.0.113.60",
            1000 + i,
            sport=50000,
            state="REJ",
            history="Sr",
            sent=0,
            got=0,
            duration=0.001,
        )
        for i in range(200)
    ]
    retry = [
        conn(
            t,
            HOST,
            "203.0.113.61",
            5888,
            sport=42000 + i,
            state="REJ",
            history="Sr",
            sent=0,
            got=0,
            duration=0.03,
        )
        for i, t in enumerate(every(0, 2.1, 100, 0.05))
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", scan + retry)}) as ws:
        assert [a.entities["destination"] for a in Exfiltration().detect(ws.con)] == ["203.0.113.61"]
        assert not Exfiltration(allow=["203.0.113.61"]).detect(ws.con)

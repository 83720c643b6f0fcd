"""Port scans, brute force over the network and unusual inbound access."""

from __future__ import annotations

from pathlib import Path

from bluebench.detectors import load_config
from bluebench.detectors.recon import NetworkBruteForce, PortScan, UnusualInbound
from bluebench.events.workspace import Workspace
from bluebench.sources import discover
from netlogs import T0, conn, ingest, zeek_tsv

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek"
SERVER = "10.1.0.5"


def _sample(tmp_path: Path, name: str) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(SAMPLES / name)]))
    return ws


def test_nmap_scans_name_the_scanner_and_count_targets_and_ports(tmp_path: Path) -> None:
    with _sample(tmp_path, "002-nmap") as ws:
        (alert,) = PortScan().detect(ws.con)
    assert alert.entities["source"] == "172.16.1.11"
    assert alert.tactics == ["TA0007"] and alert.techniques == ["T1046"], "inside the network: discovery"
    assert "172.16.1.11 probed 161 targets on 101 ports" in alert.reasons[0]
    assert "vertical and horizontal" in alert.reasons[0]
    assert any(
        r.startswith("targets: ") and "192.168.1.0/24" in r and "10.0.2.0/24" in r for r in alert.reasons
    )


def test_vertical_scan_to_the_internet_is_reconnaissance(tmp_path: Path) -> None:
    with _sample(tmp_path, "slips-vertical-scan") as ws:
        (alert,) = PortScan().detect(ws.con)
    assert alert.entities == {"source": "192.168.1.9", "host": "45.33.32.156"}
    assert alert.tactics == ["TA0043"] and alert.techniques == ["T1595"]
    assert "1 target on 44 ports" in alert.reasons[0] and "refused (REJ)" in alert.reasons[2]


def test_inbound_scan_from_the_internet_and_a_few_probes_are_not_one(tmp_path: Path) -> None:
    scan = [
        conn(
            i,
            "203.0.113.7",
            SERVER,
            20 + i,
            sport=60000,
            state="S0",
            history="S",
            sent=0,
            got=0,
            duration=None,
        )
        for i in range(40)
    ]
    few = [
        conn(100 + i, "203.0.113.8", SERVER, 22 + i, sport=60001, state="S0", history="S", sent=0, got=0)
        for i in range(3)
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", scan + few)}) as ws:
        (alert,) = PortScan().detect(ws.con)
    assert alert.entities == {"source": "203.0.113.7", "host": SERVER} and alert.tactics == ["TA0043"]
    assert alert.severity == "low", "Internet background noise is low severity"


def test_brute_force_then_a_session_that_lasted(tmp_path: Path) -> None:
    tries = [
        conn(
            10 * i,
            "203.0.113.9",
            SERVER,
            22,
            sport=40000 + i,
            service="ssh",
            duration=2.0,
            sent=1500,
            got=2500,
        )
        for i in range(25)
    ]
    success = [
        conn(
            300,
            "203.0.113.9",
            SERVER,
            22,
            sport=41000,
            service="ssh",
            duration=900.0,
            sent=50_000,
            got=900_000,
        )
    ]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", tries + success)}) as ws:
        (alert,) = NetworkBruteForce().detect(ws.con)
    assert alert.entities == {"source": "203.0.113.9", "host": SERVER, "port": "22"}
    assert "25 short SSH sessions" in alert.reasons[0]
    assert "then a SSH session lasted 15.0 min" in alert.reasons[1] and len(alert.event_ids) == 26


def test_ssh_log_failures_and_success(tmp_path: Path) -> None:
    base = {"id.orig_h": "203.0.113.10", "id.orig_p": 50000, "id.resp_h": SERVER, "id.resp_p": 22}
    ssh = [
        {**base, "ts": T0 + 5 * i, "uid": f"S{i}", "auth_success": False, "auth_attempts": 3}
        for i in range(6)
    ]
    ssh.append({**base, "ts": T0 + 40, "uid": "S9", "auth_success": True, "auth_attempts": 1})
    with ingest(tmp_path, {"ssh.log": zeek_tsv("ssh", ssh)}) as ws:
        (alert,) = NetworkBruteForce().detect(ws.con)
    assert "18 failed SSH authentications (ssh.log)" in alert.reasons[0]
    assert alert.reasons[1] == "then a login succeeded (ssh.log auth_success)"


def test_legitimate_ssh_logins_are_not_brute_force(tmp_path: Path) -> None:
    with _sample(tmp_path, "006-ssh") as ws:
        assert not NetworkBruteForce().detect(ws.con)


def _day(day: int, sources: list[str], port: int = 443) -> list[dict[str, object]]:
    return [
        conn(day * 86400 + 60 * i, s, SERVER, port, sport=30000 + i, service="ssl", sent=900, got=9000)
        for i, s in enumerate(sources)
    ]


def test_unusual_inbound_needs_history_then_names_new_sources_and_ports(tmp_path: Path) -> None:
    regular = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    rows = [r for d in range(4) for r in _day(d, regular)]
    with ingest(tmp_path / "quiet", {"conn.log": zeek_tsv("conn", rows)}) as ws:
        assert not list(UnusualInbound().score(ws.con)), "the same sources every day are not unusual"
    crowd = [f"203.0.113.{i}" for i in range(1, 31)]
    rows += _day(4, regular + crowd) + _day(4, ["198.51.100.9"], port=4444)
    with ingest(tmp_path / "loud", {"conn.log": zeek_tsv("conn", rows)}) as ws:
        found = {f.entities["port"]: f for f in UnusualInbound().score(ws.con)}
        evidence = {
            port: {
                ws.con.execute('SELECT "source.ip" FROM events WHERE "event.id" = ?', [e]).fetchone()
                for e in f.event_ids
            }
            for port, f in found.items()
        }
    assert set(found) == {"443", "4444"}
    # Evidence is the new sources' connections of that day only, fetched for the kept days alone.
    assert len(found["443"].event_ids) == 30 and evidence["443"] == {(s,) for s in crowd}
    assert evidence["4444"] == {("198.51.100.9",)}
    assert "reached by 30 new sources" in found["443"].reasons[0]
    # The earlier days' median of new sources (3, 0, 0, 0) and their count, from the windows.
    assert "against 0 new a day before (4 days seen)" in found["443"].reasons[0]
    assert "a port it never served in its 4 earlier days" in found["4444"].reasons[0]
    with ingest(tmp_path / "one-day", {"conn.log": zeek_tsv("conn", _day(0, crowd))}) as ws:
        assert not list(UnusualInbound().score(ws.con)), "no baseline, no judgement"


def test_resets_with_unknown_answers_are_not_probes_and_peers_on_their_own_ports_score_low(
    tmp_path: Path,
) -> None:
    # Web pages closed with a reset, bytes unknown (a flow log with totals alone): no scan.
    resets = [
        conn(i, "10.1.0.40", f"198.51.100.{i}", 443, sport=30000 + i, state="RSTR", got=None)
        for i in range(40)
    ]
    # A peer-to-peer client: each peer tried once on its own port, a few on the common one.
    peers = [
        conn(100 + i, "10.1.0.41", f"203.0.113.{i}", 20000 + 7 * i, state="S0", got=None) for i in range(80)
    ]
    peers += [conn(200 + i, "10.1.0.41", f"192.0.2.{i}", 51413, state="S0", got=None) for i in range(16)]
    sweep = [conn(300 + i, "10.1.0.42", f"192.0.2.{100 + i}", 3389, state="S0", got=None) for i in range(40)]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", resets + peers + sweep)}) as ws:
        found = {a.entities["source"]: a for a in PortScan().detect(ws.con)}
    assert set(found) == {"10.1.0.41", "10.1.0.42"}
    assert found["10.1.0.41"].score < 0.25 * found["10.1.0.42"].score
    assert "the busiest port reached only 16 of the 96 targets" in found["10.1.0.41"].reasons[-1]


def test_a_host_browsing_with_some_failures_is_not_sweeping_its_port(tmp_path: Path) -> None:
    pages = [conn(5 * i, "10.1.0.43", f"198.51.100.{i % 200}", 443, sport=20000 + i) for i in range(400)]
    failures = [conn(3 + 60 * i, "10.1.0.43", f"203.0.113.{i}", 443, state="S0", got=None) for i in range(20)]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", pages + failures)}) as ws:
        (scored,) = PortScan(min_score=0.0).detect(ws.con)
        assert "held 400 conversations on port 443 besides these 20 failures" in scored.reasons[-1]
        assert not PortScan(**load_config()["port_scan"]).detect(ws.con)  # the shipped threshold drops it

"""Per-flow network labels: Stratosphere's label column (or tail) and Argus' Label read from the logs themselves."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.errors import ConfigError
from bluebench.evaluation.evaluate import evaluate_alerts
from bluebench.evaluation.flows import has_flow_labels
from bluebench.evaluation.labels import load_labels
from netlogs import argus_csv, conn, every, ingest, write, zeek_tsv

HOST, C2, OTHER, WEB = "10.1.0.20", "198.51.100.7", "10.1.0.21", "192.0.2.10"
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "network"


def _capture() -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    """A labelled beacon, an unlabelled look-alike beacon (Background) and labelled benign web traffic."""
    beacon = [conn(t, HOST, C2, 4444, sport=40000 + i) for i, t in enumerate(every(0, 60, 80, 0.3))]
    other = [
        conn(t, OTHER, "203.0.113.99", 9999, sport=41000 + i) for i, t in enumerate(every(5, 60, 80, 0.3))
    ]
    web = [conn(30 * i, HOST, WEB, 443, sport=42000 + i, service="ssl") for i in range(10)]
    labels = [("Malicious", "C&C-HeartBeat")] * 80 + [("Background", "-")] * 80 + [("Benign", "-")] * 10
    return beacon + other + web, labels


@pytest.mark.parametrize("tail", [False, True], ids=["label-columns", "three-space-tail"])
def test_beacon_measured_per_flow_background_excluded_and_counted(tmp_path: Path, tail: bool) -> None:
    rows, labels = _capture()
    name = "conn.log.labeled"
    with ingest(tmp_path, {name: zeek_tsv("conn", rows, labels=labels, tail=tail)}) as ws:
        detectors = build_detectors(load_config(), only=["beaconing", "port_scan"])
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        label_set = load_labels(tmp_path / "logs" / name)
        result = evaluate_alerts(ws.con, label_set, load_alerts(ws.con), detectors=["beaconing", "port_scan"])
    assert label_set.kind == "flow" and result.units["recall"] == "attack flow"
    assert result.scope["attack_flows"] == 80 and result.scope["benign_flows"] == 10
    assert result.scope["background_flows_excluded"] == 80
    beacon = next(r for r in result.detectors if r.name == "beaconing")
    # The labelled beacon is a TP with all its flows; the look-alike cites only Background flows:
    # neither right nor wrong, left out of precision and counted.
    assert (beacon.measure.tp, beacon.measure.fp) == (1, 0)
    assert (beacon.measure.detected, beacon.measure.fn) == (80, 0)
    assert (beacon.measure.fp_negative, beacon.measure.tn) == (0, 10)
    assert beacon.details["alerts_on_excluded_flows_only"] == 1 and beacon.alerts_outside == 1
    scan = next(r for r in result.detectors if r.name == "port_scan")
    assert scan.alerts == 0 and scan.measure.fn == 80  # measured against every malicious flow
    assert any("80 Background and 0 unlabelled flows are excluded" in n for n in result.notes)


def test_an_alert_on_benign_flows_is_a_false_positive_costing_those_flows(tmp_path: Path) -> None:
    rows, labels = _capture()
    # The same capture, but the beacon's flows are labelled Benign (an update check, say).
    labels = [("Benign", "-")] * 80 + labels[80:]
    with ingest(tmp_path, {"conn.log.labeled": zeek_tsv("conn", rows, labels=labels)}) as ws:
        detectors = build_detectors(load_config(), only=["beaconing"])
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        result = evaluate_alerts(
            ws.con, load_labels(tmp_path / "logs"), load_alerts(ws.con), detectors=["beaconing"]
        )
    row = result.detectors[0]
    assert (row.measure.tp, row.measure.fp) == (0, 1)
    assert (row.measure.fp_negative, row.measure.tn) == (80, 10)
    assert row.measure.recall.n == 0 and row.measure.fpr.value == pytest.approx(80 / 90)


def test_argus_label_column_classes_and_gzip(tmp_path: Path) -> None:
    flows = [
        ("2024/03/04 09:00:00.000000", 0.5, "tcp", HOST, 40000, "->", C2, 4444, "S_", 0, 0, 2, 120, 60,
         "flow=From-Botnet-V42-TCP-Attempt"),
        ("2024/03/04 09:00:01.000000", 0.5, "tcp", HOST, 40001, "->", WEB, 443, "S_", 0, 0, 2, 120, 60,
         "flow=From-Normal-V42-Stribrant"),
        ("2024/03/04 09:00:02.000000", 0.5, "udp", OTHER, 40002, "<->", WEB, 53, "CON", 0, 0, 2, 120, 60,
         "flow=Background-UDP-Established"),
        ("2024/03/04 09:00:03.000000", 0.5, "udp", OTHER, 40003, "<->", WEB, 53, "CON", 0, 0, 2, 120, 60, ""),
    ]  # fmt: skip
    path = tmp_path / "logs" / "capture.binetflow.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(argus_csv(flows).encode()))
    with ingest(tmp_path, {}) as ws:
        result = evaluate_alerts(ws.con, load_labels(path), [], detectors=["beaconing"])
    assert [result.scope[k] for k in ("attack_flows", "benign_flows", "background_flows_excluded")] == [
        1,
        1,
        1,
    ]
    assert result.scope["unlabelled_flows_excluded"] == 1 and result.scope["labelled_lines_not_stored"] == 0


def test_a_labelled_log_never_ingested_is_named_and_a_folder_without_labels_refused(tmp_path: Path) -> None:
    rows, labels = _capture()
    write(tmp_path / "elsewhere" / "conn.log.labeled", zeek_tsv("conn", rows, labels=labels))
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", rows)}) as ws:
        result = evaluate_alerts(ws.con, load_labels(tmp_path / "elsewhere"), [], detectors=["beaconing"])
    assert result.scope["label_files_not_in_workspace"] == 1 and result.scope["attack_flows"] == 0
    assert any("not in the workspace" in n for n in result.notes)
    with pytest.raises(ConfigError, match="no labelled network log"):
        load_labels(tmp_path / "logs")  # plain conn.log: no label column


def test_sniffing_tells_labelled_logs_from_plain_ones() -> None:
    rows, labels = _capture()
    assert has_flow_labels(zeek_tsv("conn", rows[:2], labels=labels[:2]).encode())
    assert has_flow_labels(zeek_tsv("conn", rows[:2], labels=labels[:2], tail=True).encode())
    assert not has_flow_labels(zeek_tsv("conn", rows[:2]).encode())
    assert has_flow_labels(argus_csv([]).encode()) and not has_flow_labels(
        argus_csv([], label=False).encode()
    )


def test_shipped_remcos_sample_flow_labels(tmp_path: Path) -> None:
    """The shipped RemcosRAT excerpt: its exfiltration flows found, its benign flows not alerted."""
    from bluebench.events.workspace import Workspace
    from bluebench.sources import discover

    folder = SAMPLES / "zeek" / "test18-remcos"
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover([str(folder)]))
    with ws:
        detectors = build_detectors(load_config(), only=["exfiltration", "beaconing"])
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        result = evaluate_alerts(
            ws.con, load_labels(folder), load_alerts(ws.con), detectors=["exfiltration", "beaconing"]
        )
    exfil = next(r for r in result.detectors if r.name == "exfiltration")
    assert exfil.measure.tp >= 1 and exfil.measure.fp == 0
    assert exfil.measure.recall.value is not None and exfil.measure.recall.value > 0.9
    assert exfil.measure.fp_negative == 0 and result.scope["benign_flows"] > 0

"""Per-pair network labels: the layout read, bad rows named, alerts matched by source, destination and port."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.alerts.store import load_alerts, save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.errors import ConfigError
from bluebench.evaluation.evaluate import Evaluation, evaluate_alerts
from bluebench.evaluation.labels import LabelSet, load_labels
from netlogs import conn, every, ingest, zeek_tsv

HOST, C2, OTHER = "10.1.0.20", "198.51.100.7", "10.1.0.21"


def _labels(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _beacons_measured(tmp_path: Path, labels_csv: str) -> tuple[LabelSet, Evaluation]:
    """HOST beacons to C2, OTHER beacons to an address no label names, HOST also browses: measured."""
    beacon = [conn(t, HOST, C2, 4444, sport=40000 + i) for i, t in enumerate(every(0, 60, 80, 0.3))]
    # A second beacon the labels do not name (a false alert for this measurement).
    other = [
        conn(t, OTHER, "203.0.113.99", 9999, sport=41000 + i) for i, t in enumerate(every(5, 60, 80, 0.3))
    ]
    web = [conn(30 * i, HOST, "192.0.2.10", 443, sport=42000 + i, service="ssl") for i in range(10)]
    with ingest(tmp_path, {"conn.log": zeek_tsv("conn", beacon + other + web)}) as ws:
        detectors = build_detectors(load_config(), only=["beaconing"])
        save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])
        labels = load_labels(_labels(tmp_path, labels_csv))
        return labels, evaluate_alerts(ws.con, labels, load_alerts(ws.con), detectors=["beaconing"])


def test_pair_rows_are_read_and_bad_ones_named(tmp_path: Path) -> None:
    labels = load_labels(
        _labels(tmp_path, "source,destination,port,technique,attack\n10.0.0.1,,445,T1046,scan\n")
    )
    assert labels.kind == "pair" and labels.pairs[0].destination == "" and labels.pairs[0].port == 445
    with pytest.raises(ConfigError, match=r"line 2: port must be a number"):
        load_labels(_labels(tmp_path, "source,destination,port,technique\n10.0.0.1,10.0.0.2,https,T1071\n"))
    with pytest.raises(ConfigError, match=r"line 2: need a source and one technique"):
        load_labels(_labels(tmp_path, "source,destination,port,technique\n,10.0.0.2,443,T1071\n"))


def test_beacon_found_a_missed_pair_counted_and_a_false_alert_costs_a_benign_pair(tmp_path: Path) -> None:
    _, result = _beacons_measured(
        tmp_path,
        f"source,destination,port,technique,attack\n{HOST},{C2},4444,T1071,beacon\n"
        f"{HOST},203.0.113.50,443,T1048,exfiltration\n",
    )
    row = result.detectors[0]
    assert (row.measure.tp, row.measure.fp) == (1, 1)
    assert (row.measure.detected, row.measure.fn) == (1, 0)  # the exfiltration row is not a beacon's
    assert row.measure.fp_negative == 1 and result.scope["benign_pairs"] == 2  # OTHER's pair; HOST's web
    # Overall counts what the measured detectors claim; the exfiltration row shows under its technique.
    assert result.overall.measure.fn == 0
    exfil = next(r for r in result.techniques if r.name == "T1048")
    assert (exfil.measure.detected, exfil.measure.fn) == (0, 1)
    assert exfil.details["missed_pairs"] == ["line 3: exfiltration"]
    assert result.units == {"precision": "alert", "recall": "labelled pair", "fpr": "benign pair"}


def test_a_label_column_marks_benign_and_background_pairs(tmp_path: Path) -> None:
    """A 'benign' row is never a positive (an alert on it is false); a 'background' row is left out."""
    labels, result = _beacons_measured(
        tmp_path,
        "source,destination,port,label,technique\n"
        f"{HOST},{C2},4444,Malicious,T1071\n"
        f"{OTHER},203.0.113.99,9999,benign,\n"
        f"{HOST},192.0.2.10,443,Background,\n",
    )
    assert [p.label for p in labels.pairs] == ["malicious", "benign", "unknown"]
    row = result.detectors[0]
    assert (row.measure.tp, row.measure.fp, row.measure.detected, row.measure.fn) == (1, 1, 1, 0)
    assert (row.measure.fp_negative, row.measure.tn) == (1, 0)  # the benign pair, alerted; web left out
    assert result.scope["unknown_pairs_excluded"] == 1 and result.scope["benign_label_rows"] == 1
    with pytest.raises(ConfigError, match=r"line 2: label 'maybe'"):
        load_labels(_labels(tmp_path, "source,destination,label,technique\n10.0.0.1,10.0.0.2,maybe,T1071\n"))
    with pytest.raises(ConfigError, match=r"line 2: need a source and one technique"):
        load_labels(_labels(tmp_path, "source,destination,label,technique\n10.0.0.1,10.0.0.2,malicious,\n"))

"""Label files read as published: recognised by header, paths relative to the CSV's folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bluebench.errors import ConfigError
from bluebench.evaluation.labels import load_labels, normalize_technique


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_evtx_style_per_file(tmp_path: Path) -> None:
    p = write(
        tmp_path / "windows" / "evtx_labels.csv",
        "path,tactic_ids,tactic_name,techniques,events\n"
        "evtx/TA0006-Credential Access/T1110.xxx-Brut force/ID4625-a.evtx,TA0006,Credential Access,T1110.xxx,8\n"
        '"evtx/TA0006/ID4769,4768-Kerberoast.evtx",TA0006,Credential Access,T1558;t1558.003,10\n'
        "evtx/APT/ID5145-DonPAPI.evtx,,APT,,750\n",
    )
    labels = load_labels(p)
    assert labels.kind == "file"
    assert [(f.given, sorted(f.techniques)) for f in labels.files][1] == (
        "evtx/TA0006/ID4769,4768-Kerberoast.evtx",
        ["T1558", "T1558.003"],
    )
    assert labels.files[0].techniques == frozenset({"T1110"})
    assert labels.files[0].path == (tmp_path / "windows" / labels.files[0].given).resolve()
    assert [u.given for u in labels.unlabelled] == ["evtx/APT/ID5145-DonPAPI.evtx"]
    assert labels.fingerprint and len(labels.fingerprint) == 40


def test_duplicate_rows_merge_techniques(tmp_path: Path) -> None:
    p = write(tmp_path / "l.csv", "path,techniques\na.evtx,T1110\nb.evtx,T1003\na.evtx,T1078\n")
    labels = load_labels(p)
    assert [(f.given, sorted(f.techniques)) for f in labels.files] == [
        ("a.evtx", ["T1078", "T1110"]),
        ("b.evtx", ["T1003"]),
    ]
    assert any("line 4" in n for n in labels.notes)


def test_otrf_style_per_file(tmp_path: Path) -> None:
    p = write(
        tmp_path / "otrf" / "labels.csv",
        "path,tactic_dir,meta_id,title,techniques,tactics,events,bad_lines\n"
        "datasets/atomic/windows/credential_access/host/empire_dcsync.zip,credential_access,SDWIN-1,DCSync,T1003.006,TA0006,8465,0\n"
        "datasets/atomic/windows/persistence/host/covenant_persistwmi.tar.gz,persistence,SDWIN-2,WMI,,,10,0\n",
    )
    labels = load_labels(p)
    assert labels.kind == "file"
    assert labels.files[0].path.name == "empire_dcsync.zip"
    assert labels.files[0].techniques == frozenset({"T1003.006"})
    assert len(labels.unlabelled) == 1


def test_per_event(tmp_path: Path) -> None:
    p = write(
        tmp_path / "gen" / "labels.csv",
        "file,record,technique,attack,attack_id\n"
        "logs/auth.log,12,T1110.001,brute_force,a1\n"
        "logs/auth.log,13,T1110.001,brute_force,a1\n"
        "logs/dc.json,7,T1558.003,kerberoast,a2\n",
    )
    labels = load_labels(p)
    assert labels.kind == "event"
    assert [(e.given, e.record, e.technique, e.attack_id) for e in labels.events] == [
        ("logs/auth.log", 12, "T1110.001", "a1"),
        ("logs/auth.log", 13, "T1110.001", "a1"),
        ("logs/dc.json", 7, "T1558.003", "a2"),
    ]
    assert labels.events[0].path == (tmp_path / "gen" / "logs" / "auth.log").resolve()


def test_per_window(tmp_path: Path) -> None:
    p = write(
        tmp_path / "w.csv",
        "entity,start,end,technique\n"
        "user=Alice,2024-03-01T10:00:00Z,2024-03-01T11:00:00+00:00,T1110.003\n"
        "203.0.113.7,2024-03-01T12:00:00+02:00,2024-03-01T12:30:00,T1110\n",
    )
    labels = load_labels(p)
    assert labels.kind == "window"
    a, b = labels.windows
    assert (a.kind, a.entity, a.start, a.end) == (
        "user",
        "alice",
        datetime(2024, 3, 1, 10),
        datetime(2024, 3, 1, 11),
    )
    assert (b.kind, b.entity, b.start) == ("", "203.0.113.7", datetime(2024, 3, 1, 10))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", r"unknown labels layout"),
        ("path,techniques\nx.evtx,TXXXX\n", r"l.csv, line 2: not an ATT&CK technique id"),
        ("file,record,technique,attack,attack_id\nx.log,twelve,T1110,bf,1\n", r"line 2: record must be"),
        ("entity,start,end,technique\nbob,yesterday,today,T1110\n", r"line 2: start and end must be ISO"),
        ("entity,start,end,technique\nbob,2024-03-02,2024-03-01,T1110\n", r"line 2: end .* is before start"),
        ("", r"labels file is empty"),
        ("path,techniques\nID4688,4697-PsExec.evtx,T1021\n", r"line 2: 3 columns where the header has 2"),
    ],
)
def test_malformed_labels_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path / "l.csv", text)
    with pytest.raises(ConfigError, match=message):
        load_labels(p)


def test_normalize_technique() -> None:
    assert normalize_technique(" t1110.xxx ") == "T1110"
    assert normalize_technique("T1098.XXX") == "T1098"
    assert normalize_technique("T1558.003") == "T1558.003"
    with pytest.raises(ValueError):
        normalize_technique("TA0006")

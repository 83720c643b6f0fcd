"""Per-file labels: every count checked against what the fixture files are known to hold.

Files (see conftest): bf.log T1110 (from T1110.xxx), bf_copy.log T1110.001 (a byte copy of
bf.log, stored as an alias), spray.log T1110.003, enum.log T1087, benign.log T1136. The
detectors alert: brute_force on bf.log, password_spray on spray.log and on enum.log,
user_enumeration on enum.log.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from eval_helpers import AUTH_DETECTORS, Labelled, benign, brute_force, counts, detect

from bluebench.alerts.store import load_alerts
from bluebench.evaluation.evaluate import (
    HINT_CWD,
    Evaluation,
    evaluate_alerts,
    save_evaluation,
    stored_evaluations,
)
from bluebench.evaluation.labels import load_labels
from bluebench.evaluation.metrics import Measure
from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, discover


def run(fx: Labelled, techniques: list[str] | None = None) -> Evaluation:
    return evaluate_alerts(
        fx.ws.con, load_labels(fx.labels), load_alerts(fx.ws.con), techniques, AUTH_DETECTORS
    )


def rows(result: Evaluation) -> dict[str, Any]:
    return {r.name: r for r in [*result.detectors, result.overall]}


def test_alerts_as_expected(per_file: Labelled) -> None:
    got = sorted((a.detector, sorted({e.file for e in a.evidence})) for a in load_alerts(per_file.ws.con))
    assert got == [
        ("brute_force", ["data/bf.log"]),
        ("password_spray", ["data/spray.log"]),
        ("user_enumeration", ["data/enum.log"]),
    ]


def test_per_detector_counts(per_file: Labelled) -> None:
    r = rows(run(per_file))
    # (TP, FP, FN, TN, FP among negatives); the unit is a labelled file.
    assert counts(r["brute_force"].measure) == (2, 0, 0, 3, 0)  # bf.log and its alias bf_copy.log
    # misses bf.log (T1110); failures for accounts that do not exist (enum.log) are user_enumeration's
    assert counts(r["password_spray"].measure) == (1, 0, 1, 3, 0)
    assert counts(r["credential_stuffing"].measure) == (0, 0, 1, 4, 0)  # zero alerts, still listed
    assert counts(r["success_after_failures"].measure) == (0, 0, 3, 2, 0)
    assert counts(r["user_enumeration"].measure) == (1, 0, 3, 1, 0)
    assert counts(r["overall"].measure) == (4, 0, 0, 1, 0)
    spray = r["password_spray"]
    assert (spray.measure.precision.k, spray.measure.precision.n) == (1, 1)
    assert (spray.measure.fpr.k, spray.measure.fpr.n) == (0, 3)
    assert spray.details["false_positive_files"] == []
    assert spray.details["missed_files"] == ["bf.log"]
    assert r["credential_stuffing"].alerts == 0 and r["credential_stuffing"].measure.precision.value is None


def test_per_technique_counts(per_file: Labelled) -> None:
    result = run(per_file)
    t = {r.name: r for r in result.techniques}
    assert list(t) == ["T1087", "T1110", "T1110.001", "T1110.003", "T1136"]
    # T1110: labelled bf, bf_copy, spray (sub-techniques count); alerted also enum (spray and
    # enumeration alerts carry T1110 techniques) which is labelled T1087 only: a false positive.
    assert (t["T1110"].details["labelled_files"], t["T1110"].details["alerted_files"]) == (3, 4)
    assert counts(t["T1110"].measure) == (3, 1, 0, 1, 1)
    assert counts(t["T1110.003"].measure) == (1, 1, 1, 2, 1)
    assert counts(t["T1087"].measure) == (1, 0, 0, 4, 0)
    assert counts(t["T1136"].measure) == (0, 0, 1, 4, 0)
    assert t["T1136"].details["detectors"] == []
    assert t["T1087"].details["detectors"] == ["user_enumeration"]


def test_scope_and_notes(per_file: Labelled) -> None:
    result = run(per_file)
    assert result.scope["files_evaluated"] == 5
    assert result.scope["files_not_in_workspace"] == 1
    assert result.scope["files_not_in_workspace_examples"] == ["missing.log"]
    assert result.scope["files_without_technique"] == 1
    assert result.scope["label_techniques_no_detector_claims"] == ["T1136"]
    assert result.units == {"precision": "file", "recall": "file", "fpr": "file"}
    assert any("not in the workspace" in n for n in result.notes)


def test_technique_filter(per_file: Labelled) -> None:
    result = run(per_file, ["T1087"])
    r = rows(result)
    assert [t.name for t in result.techniques] == ["T1087"]
    assert r["brute_force"].techniques == [] and r["brute_force"].alerts == 0
    assert counts(r["user_enumeration"].measure) == (1, 0, 0, 4, 0)
    assert result.scope["alerts_outside_filter"] == 2


def test_paths_resolve_from_another_folder(per_file: Labelled, monkeypatch: Any) -> None:
    """Stored files are found where ingest read them, whatever folder evaluate runs in."""
    monkeypatch.chdir(per_file.root / "data")
    elsewhere = evaluate_alerts(
        per_file.ws.con, load_labels("labels.csv"), load_alerts(per_file.ws.con), detectors=AUTH_DETECTORS
    )
    assert counts(elsewhere.overall.measure) == (4, 0, 0, 1, 0)
    assert elsewhere.scope["files_evaluated"] == 5


def test_workspaces_without_locations_use_the_folder_given(per_file: Labelled, monkeypatch: Any) -> None:
    """A workspace made before locations were kept resolves stored paths from ``cwd``."""
    per_file.ws.con.execute("UPDATE files SET location = NULL")
    monkeypatch.chdir(per_file.root / "data")
    found = evaluate_alerts(
        per_file.ws.con,
        load_labels("labels.csv"),
        load_alerts(per_file.ws.con),
        detectors=AUTH_DETECTORS,
        cwd=per_file.root,
    )
    assert counts(found.overall.measure) == (4, 0, 0, 1, 0)
    lost = evaluate_alerts(
        per_file.ws.con, load_labels("labels.csv"), load_alerts(per_file.ws.con), detectors=AUTH_DETECTORS
    )
    assert lost.scope["files_evaluated"] == 0 and HINT_CWD in lost.notes
    # Where it looked is kept, so the command can name it.
    assert str(per_file.root / "data" / "bf.log") in lost.scope["paths_tried"]


def test_labels_moved_away_from_the_data_are_found_under_root(per_file: Labelled, tmp_path: Path) -> None:
    """Labels copied elsewhere: their relative paths are tried under ``roots`` (``--root``)."""
    moved = tmp_path / "elsewhere" / "labels.csv"
    moved.parent.mkdir()
    moved.write_text(per_file.labels.read_text(encoding="utf-8"), encoding="utf-8")
    lost = evaluate_alerts(
        per_file.ws.con, load_labels(moved), load_alerts(per_file.ws.con), None, AUTH_DETECTORS
    )
    assert lost.scope["files_evaluated"] == 0
    found = evaluate_alerts(
        per_file.ws.con,
        load_labels(moved),
        load_alerts(per_file.ws.con),
        None,
        AUTH_DETECTORS,
        roots=[per_file.root / "data"],
    )
    assert counts(found.overall.measure) == (4, 0, 0, 1, 0)


def test_stored_and_recomputable(per_file: Labelled) -> None:
    result = run(per_file)
    eid = save_evaluation(per_file.ws.con, result)
    stored = stored_evaluations(per_file.ws.con)
    assert [s["id"] for s in stored] == [eid]
    row = per_file.ws.con.execute("SELECT labels_fingerprint, kind FROM evaluations").fetchall()
    assert row == [(load_labels(per_file.labels).fingerprint, "file")]
    again = Measure.from_json(stored[0]["overall"])
    assert again == result.overall.measure
    assert stored[0]["overall"]["precision"]["ci95"] == list(result.overall.measure.precision.interval or [])


def test_zip_with_several_members_is_one_file(tmp_path: Any, monkeypatch: Any) -> None:
    """Events of 'x.zip!member' belong to x.zip; a label on the zip covers all its members."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sets").mkdir()
    with zipfile.ZipFile(tmp_path / "sets" / "host.zip", "w") as zf:
        zf.writestr("quiet.log", "\n".join(benign(datetime(2024, 3, 3, 7))) + "\n")
        zf.writestr("auth.log", "\n".join(brute_force(datetime(2024, 3, 3, 8))) + "\n")
    with zipfile.ZipFile(tmp_path / "sets" / "calm.zip", "w") as zf:
        zf.writestr("a.log", "\n".join(benign(datetime(2024, 3, 4, 7), host="h7")) + "\n")
        zf.writestr("b.log", "\n".join(benign(datetime(2024, 3, 4, 9), host="h8")) + "\n")
    (tmp_path / "sets" / "labels.csv").write_text(
        "path,techniques\nhost.zip,T1110.001\ncalm.zip,T1136\n", encoding="utf-8"
    )
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover(["sets/host.zip", "sets/calm.zip"]), ReadOptions(year=2024))
    detect(ws)
    assert {e.file for a in load_alerts(ws.con) for e in a.evidence} == {"sets/host.zip!auth.log"}
    result = evaluate_alerts(
        ws.con, load_labels(tmp_path / "sets" / "labels.csv"), load_alerts(ws.con), detectors=AUTH_DETECTORS
    )
    assert result.scope["files_evaluated"] == 2
    assert counts({r.name: r for r in result.detectors}["brute_force"].measure) == (1, 0, 0, 1, 0)
    ws.close()

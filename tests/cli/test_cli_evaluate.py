"""evaluate and tune on the command line: tables, one JSON object, stored results, exit codes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import bluebench.cli
import bluebench.cli.evaluate  # noqa: F401
from bluebench.cli.app import app, out
from logtext import sshd_lines, write_lines


@pytest.fixture
def scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """logs/auth.log (brute force, spray, enumeration) and logs/quiet.log scanned into ./ws."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BLUEBENCH_WORKSPACE", raising=False)
    monkeypatch.setattr(out, "width", 250)  # tables wider than the test terminal
    logs = tmp_path / "logs"
    logs.mkdir()
    write_lines(logs / "auth.log", sshd_lines())
    write_lines(logs / "quiet.log", [ln.replace("web1", "db1") for ln in sshd_lines()[:1]])
    (logs / "labels.csv").write_text(
        "path,tactic_ids,tactic_name,techniques,events\n"
        "auth.log,TA0006,Credential Access,T1110.xxx,26\n"
        "quiet.log,TA0001,Initial Access,T1078,1\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["scan", "logs/auth.log", "logs/quiet.log", "-w", "ws", "--year", "2024"]
    )
    assert result.exit_code == 0, result.output
    return tmp_path


def test_evaluate_tables(scanned: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--labels", "logs/labels.csv", "-w", "ws"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for part in (
        "Per detector",
        "precision per file",
        "Per technique",
        "T1110",
        "overall",
        "what the counts mean",
    ):
        assert part in text
    assert "credential_stuffing" in text  # a detector with no alert is listed


def test_evaluate_json_is_one_object_and_stored(scanned: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--labels", "logs/labels.csv", "-w", "ws", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["labels"]["kind"] == "file" and doc["units"]["recall"] == "file"
    overall = doc["overall"]
    assert set(overall["counts"]) == {"TP", "FP", "FN", "TN", "detected", "FP_on_negatives"}
    c = overall["counts"]
    assert c["TP"] == 1  # auth.log's brute force; quiet.log depends on which detectors claim T1078
    assert c["TP"] + c["FN"] + c["FP_on_negatives"] + c["TN"] == doc["scope"]["files_evaluated"] == 2
    assert overall["precision"]["ci95"] is not None
    con = duckdb.connect(str(scanned / "ws" / "bluebench.duckdb"), read_only=True)
    stored = con.execute("SELECT id, labels_fingerprint, result FROM evaluations").fetchall()
    con.close()
    assert len(stored) == 1 and stored[0][0] == doc["id"]
    assert json.loads(stored[0][2])["overall"]["counts"] == overall["counts"]


def test_evaluate_technique_filter(scanned: Path) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", "--labels", "logs/labels.csv", "-w", "ws", "--json", "--techniques", "t1078"]
    )
    doc = json.loads(result.stdout)
    assert doc["technique_filter"] == ["T1078"]
    assert [t["name"] for t in doc["techniques"]] == ["T1078"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--labels", "nope.csv"], "cannot read labels"),
        (["--labels", "logs/auth.log"], "unknown labels layout"),
        (["--labels", "logs/labels.csv", "--techniques", "TA0006"], "not an ATT&CK technique id"),
    ],
)
def test_evaluate_usage_errors_exit_2(scanned: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["evaluate", "-w", "ws", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_evaluate_requires_labels(scanned: Path) -> None:
    assert CliRunner().invoke(app, ["evaluate", "-w", "ws"]).exit_code == 2


def test_tune_writes_usable_config(scanned: Path) -> None:
    result = CliRunner().invoke(
        app, ["tune", "--labels", "logs/labels.csv", "-w", "ws", "--budget", "1", "--out", "tuned.toml"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "alerts a day per detector over 1.00 days" in text and "Recall at 0" in text
    cfg = tomllib.loads((scanned / "tuned.toml").read_text(encoding="utf-8"))
    assert set(cfg) >= {"brute_force", "password_spray"}
    assert all(isinstance(v["min_score"], float) for v in cfg.values())
    detect = CliRunner().invoke(app, ["detect", "-w", "ws", "--config", "tuned.toml", "--json"])
    assert detect.exit_code == 0, detect.output
    per_detector: dict[str, int] = {}
    for line in detect.stdout.splitlines():
        d = json.loads(line)["detector"]
        per_detector[d] = per_detector.get(d, 0) + 1
    assert all(n <= 1 for n in per_detector.values())  # the budget: one a day, one day of data


def test_tune_json(scanned: Path) -> None:
    result = CliRunner().invoke(
        app, ["tune", "--labels", "logs/labels.csv", "-w", "ws", "--budget", "10", "--json"]
    )
    doc = json.loads(result.stdout)
    assert doc["budget_alerts_per_day"] == 10 and doc["days"] == 1.0
    assert {d["detector"] for d in doc["detectors"]} >= {"brute_force"}


def _evaluated(result: object) -> int:
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    return int(doc["scope"]["files_evaluated"])


def test_evaluate_from_another_folder_finds_the_same_files(
    scanned: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels by absolute path, the workspace by absolute path, run from anywhere else."""
    here = CliRunner().invoke(app, ["evaluate", "--labels", "logs/labels.csv", "-w", "ws", "--json"])
    assert here.exit_code == 0, here.output
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    args = ["evaluate", "--labels", str(scanned / "logs" / "labels.csv"), "-w", str(scanned / "ws"), "--json"]
    there = CliRunner().invoke(app, args)
    assert there.exit_code == 0, there.output
    assert _evaluated(there) == _evaluated(here) == 2
    assert json.loads(there.stdout)["overall"]["counts"] == json.loads(here.stdout)["overall"]["counts"]


def test_labels_copied_elsewhere_are_found_with_root(scanned: Path) -> None:
    moved = scanned / "copied-labels.csv"
    moved.write_text((scanned / "logs" / "labels.csv").read_text(encoding="utf-8"), encoding="utf-8")
    found = CliRunner().invoke(
        app, ["evaluate", "--labels", str(moved), "-w", "ws", "--root", "logs", "--json"]
    )
    assert found.exit_code == 0, found.output
    assert _evaluated(found) == 2


def test_labels_that_match_nothing_exit_2_naming_the_paths_tried(scanned: Path) -> None:
    moved = scanned / "copied-labels.csv"
    moved.write_text((scanned / "logs" / "labels.csv").read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--labels", str(moved), "-w", "ws", "--json"])
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert "no file labelled in" in said and "tried:" in said
    assert str(scanned / "auth.log") in said  # next to the labels file, and from the working folder
    assert result.stdout == ""  # no evaluation printed, none stored
    con = duckdb.connect(str(scanned / "ws" / "bluebench.duckdb"), read_only=True)
    stored = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'evaluations'").fetchall()
    assert stored == [(0,)]
    con.close()
    tune = CliRunner().invoke(app, ["tune", "--budget", "5", "--labels", str(moved), "-w", "ws"])
    assert tune.exit_code == 2 and "tried:" in tune.stderr


def test_evaluate_flow_labels_of_a_shipped_capture_with_chosen_detectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A labelled Zeek log as --labels: per-flow rows for the named detectors only; an unknown id refused."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BLUEBENCH_WORKSPACE", raising=False)
    sample = Path(__file__).resolve().parents[2] / "data" / "samples" / "network" / "zeek" / "test18-remcos"
    assert CliRunner().invoke(app, ["scan", str(sample), "-w", "ws"]).exit_code == 0
    result = CliRunner().invoke(
        app,
        ["evaluate", "--labels", str(sample), "-w", "ws", "--detectors", "exfiltration,beaconing", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["labels"]["kind"] == "flow" and data["units"]["recall"] == "attack flow"
    assert [r["name"] for r in data["detectors"]] == ["exfiltration", "beaconing"]
    assert data["scope"]["attack_flows"] > 0 and data["scope"]["benign_flows"] > 0
    bad = CliRunner().invoke(app, ["evaluate", "--labels", str(sample), "-w", "ws", "--detectors", "nope"])
    assert bad.exit_code == 2 and "no detector nope" in bad.output

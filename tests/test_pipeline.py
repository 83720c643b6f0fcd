"""The pipeline: one run of the job, each detector once, Sigma treated as any other detector."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bluebench.cli  # noqa: F401  (registers the commands)
from bluebench import pipeline
from bluebench.alerts.store import load_alerts
from bluebench.cli.app import app
from bluebench.detectors import DETECTORS
from bluebench.detectors.base import Detector
from bluebench.evaluation.labels import load_labels
from bluebench.evaluation.tune import event_span, tune
from bluebench.events.workspace import Workspace
from bluebench.incidents import load_incidents
from bluebench.sigma import DETECTOR_ID

SIGMA = Path(__file__).resolve().parent / "data" / "sigma"
RULES = str(SIGMA / "rules")


@pytest.fixture
def evtx(tmp_path: Path) -> Path:
    """SigmaHQ's regression recordings (one EVTX per rule) in one folder."""
    folder = tmp_path / "evtx"
    folder.mkdir()
    for f in sorted((SIGMA / "regression").glob("*/*.evtx")):
        shutil.copy(f, folder / f"{f.parent.name}.evtx")
    return folder


def _rules() -> pipeline.DetectOptions:
    return pipeline.DetectOptions(sigma=pipeline.RuleOptions((RULES,)))


def test_the_sigma_detector_is_registered_under_the_id_its_alerts_carry() -> None:
    assert DETECTOR_ID in DETECTORS and DETECTORS.get(DETECTOR_ID).rule_driven


def test_scan_runs_each_detector_once(evtx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    original = Detector.detect

    def counted(self: Detector, con: object) -> list[object]:
        calls[self.id] += 1
        return original(self, con)  # type: ignore[arg-type]

    monkeypatch.setattr(Detector, "detect", counted)
    res = CliRunner().invoke(app, ["scan", str(evtx), "-w", str(tmp_path / "ws"), "--rules", RULES, "--json"])
    assert res.exit_code == 0, res.output
    expected = {d.id for d in pipeline.selected_detectors(_rules())}
    assert DETECTOR_ID in expected
    assert set(calls) == expected and set(calls.values()) == {1}, calls
    stored = [json.loads(line) for line in res.stdout.splitlines()]
    assert any(a["detector"] == DETECTOR_ID for a in stored)


def test_a_run_reports_each_detector_and_what_sigma_loaded(evtx: Path, tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        run = pipeline.scan(ws, pipeline.input_files([str(evtx)]), options=_rules())
        ids = [r.id for r in run.detect.runs]
        assert ids == [d.id for d in pipeline.selected_detectors(_rules())]
        assert run.detect.sigma is not None and run.detect.sigma.ruleset.rules
        assert run.detect.sigma.events_seen == ws.event_count()
        sigma_alerts = next(r.alerts for r in run.detect.runs if r.id == DETECTOR_ID)
        assert sigma_alerts == len(load_alerts(ws.con, detector=DETECTOR_ID)) > 0
        assert run.grouping.alerts_in == len(load_alerts(ws.con))
        assert len(load_incidents(ws.con)) == run.grouping.incidents_out


def test_without_rules_sigma_does_not_run_and_its_alerts_stay(evtx: Path, tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        pipeline.scan(ws, pipeline.input_files([str(evtx)]), options=_rules())
        before = sorted(a.id for a in load_alerts(ws.con, detector=DETECTOR_ID))
        report = pipeline.detect(ws.con)
        assert DETECTOR_ID not in {r.id for r in report.runs} and report.sigma is None
        assert sorted(a.id for a in load_alerts(ws.con, detector=DETECTOR_ID)) == before


def test_naming_rules_adds_sigma_to_only(evtx: Path, tmp_path: Path) -> None:
    options = pipeline.DetectOptions(only=("brute_force",), sigma=pipeline.RuleOptions((RULES,)))
    assert [d.id for d in pipeline.selected_detectors(options)] == ["brute_force", DETECTOR_ID]


def test_a_leads_threshold_applies_to_sigma(
    evtx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("BLUEBENCH_WORKSPACE", "BLUEBENCH_DB", "BLUEBENCH_USER"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(evtx), "-w", "ws", "--rules", RULES]).exit_code == 0
    with Workspace("ws") as ws:
        levels = Counter(a.score for a in load_alerts(ws.con, detector=DETECTOR_ID))
    assert min(levels) < 0.7 <= max(levels), levels  # the samples hold both sides of the threshold
    add = ["users", "add", "lena", "--role", "lead", "--password-stdin", "-w", "ws"]
    assert runner.invoke(app, add, input="lead-password\n").exit_code == 0
    res = runner.invoke(app, ["settings", "threshold", DETECTOR_ID, "0.7", "--as", "lena", "-w", "ws"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["detect", "-w", "ws", "--rules", RULES, "--json"])
    assert res.exit_code == 0, res.output
    assert "sigma: min_score 0.7 as set by a lead" in " ".join(res.stderr.split())
    with Workspace("ws") as ws:
        kept = load_alerts(ws.con, detector=DETECTOR_ID)
    assert kept and all(a.score >= 0.7 for a in kept)
    assert len(kept) == sum(n for s, n in levels.items() if s >= 0.7)


def test_tune_covers_sigma_and_writes_its_rules(evtx: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    rows = [f"evtx/{f.name},T1059" for f in sorted(evtx.glob("*.evtx"))]
    labels.write_text("path,techniques\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Workspace(tmp_path / "ws") as ws:
        pipeline.scan(ws, pipeline.input_files([str(evtx)]))
        budget = 5 / event_span(ws.con).days  # room for five alerts per detector in the whole span
        result = tune(
            ws.con, load_labels(labels), budget, overrides=pipeline.RuleOptions((RULES,)).overrides()
        )
    row = next(r for r in result.rows if r.detector == DETECTOR_ID)
    assert row.candidates > 5 and row.threshold > 0 and row.kept <= 5
    config = result.config_toml()
    assert "[sigma]" in config and json.dumps(RULES) in config and f"min_score = {row.threshold!r}" in config

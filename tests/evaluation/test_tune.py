"""Thresholds for an alert budget: chosen from scores, measured by running again, usable as config."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from eval_helpers import brute_force, detect

from bluebench.alerts.store import load_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation.labels import load_labels
from bluebench.evaluation.tune import choose_threshold, event_span, tune
from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, discover
from logtext import write_lines


def test_choose_threshold() -> None:
    assert choose_threshold([0.2, 0.5, 0.9], 3) == (0.0, 3)
    assert choose_threshold([0.2, 0.5, 0.9], 2) == (0.35, 2)
    assert choose_threshold([0.2, 0.5, 0.9], 1) == (0.7, 1)
    assert choose_threshold([0.2, 0.5, 0.5, 0.9], 2) == (0.7, 1)  # ties at 0.5 do not fit
    assert choose_threshold([0.9, 0.9], 1) == (0.90005, 0)  # nothing fits: above every score
    assert choose_threshold([], 0) == (0.0, 0)


@pytest.fixture
def bursts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workspace, Path]]:
    """Three brute forces of 6, 12 and 30 failures within one day, each a labelled file."""
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    t = datetime(2024, 3, 3, 8)
    for i, (user, n) in enumerate([("ann", 6), ("ben", 12), ("cat", 30)]):
        write_lines(
            data / f"{user}.log",
            brute_force(t + timedelta(hours=i), user=user, src=f"203.0.113.{i + 1}", n=n),
        )
    (data / "labels.csv").write_text(
        "path,techniques\nann.log,T1110.001\nben.log,T1110.001\ncat.log,T1110.001\n", encoding="utf-8"
    )
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover(["data"]), ReadOptions(year=2024))
    detect(ws)
    yield ws, data / "labels.csv"
    ws.close()


def test_tune_within_budget(bursts: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, labels = bursts
    stored_before = [a.id for a in load_alerts(ws.con)]
    span = event_span(ws.con)
    assert span.days == 1.0  # two hours of events count as one day
    result = tune(ws.con, load_labels(labels), budget=1)
    bf = {r.detector: r for r in result.rows}["brute_force"]
    assert (bf.candidates, bf.kept) == (3, 1)
    assert 0 < bf.threshold < 1 and bf.note == ""
    # Measured on the labels: recall falls from 3/3 files to 1/3, precision stays 1.
    assert (bf.at_zero.measure.recall.k, bf.at_zero.measure.recall.n) == (3, 3)
    assert (bf.at_threshold.measure.recall.k, bf.at_threshold.measure.recall.n) == (1, 3)
    assert bf.at_threshold.measure.precision.value == 1.0
    # tune changes no stored alert.
    assert [a.id for a in load_alerts(ws.con)] == stored_before
    # The config it writes is read by the detectors and keeps the one alert it promised.
    cfg_path = tmp_path / "tuned.toml"
    cfg_path.write_text(result.config_toml(), encoding="utf-8")
    assert tomllib.loads(cfg_path.read_text(encoding="utf-8"))["brute_force"]["min_score"] == bf.threshold
    kept = run_detectors(ws.con, build_detectors(load_config(cfg_path), ["brute_force"]))
    assert [a.entities["user"] for a in kept] == ["cat"]


def test_tune_budget_zero_keeps_nothing(bursts: tuple[Workspace, Path]) -> None:
    ws, labels = bursts
    result = tune(ws.con, load_labels(labels), budget=0)
    bf = {r.detector: r for r in result.rows}["brute_force"]
    assert bf.kept == 0 and "no alerts kept" in bf.note
    none = {r.detector: r for r in result.rows}["credential_stuffing"]
    assert none.threshold == 0.0 and "no candidates" in none.note


def test_tune_keeps_user_parameters(bursts: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, labels = bursts
    user = tmp_path / "mine.toml"
    user.write_text("[brute_force]\nmin_failures = 10\nmin_score = 0.9\n", encoding="utf-8")
    result = tune(ws.con, load_labels(labels), budget=5, config=user)
    bf = {r.detector: r for r in result.rows}["brute_force"]
    assert bf.candidates == 2  # ann's 6 failures are under the user's min_failures
    written = tomllib.loads(result.config_toml())
    assert written["brute_force"] == {"min_failures": 10, "min_score": 0.0}

"""Calibrated confidence: shrunk band rates, monotone in the score, None when never measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.detectors.calibration import (
    PRIOR_ALERTS,
    Calibration,
    DetectorCalibration,
    band_of,
    load_calibration,
    shipped_calibration,
)
from bluebench.errors import ConfigError
from bluebench.events.workspace import Workspace

counts = st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))


def test_bands_are_the_severity_cut_points() -> None:
    assert [band_of(s) for s in (0.0, 0.44, 0.45, 0.79, 0.8, 1.0)] == [0, 0, 1, 1, 2, 2]


def test_a_band_is_shrunk_towards_the_detectors_own_rate() -> None:
    cal = DetectorCalibration("d", tp=(1, 8, 10), fp=(9, 2, 0))
    prior = (19 + 1) / (30 + 2)
    assert cal.precision() == pytest.approx(prior)
    assert cal.confidences()[0] == pytest.approx((1 + PRIOR_ALERTS * prior) / (10 + PRIOR_ALERTS))
    assert cal.confidences()[2] == pytest.approx((10 + PRIOR_ALERTS * prior) / (10 + PRIOR_ALERTS))
    # a band with no alerts takes the detector's rate, then the bands are pooled to stay monotone
    empty = DetectorCalibration("e", tp=(0, 1, 9), fp=(0, 9, 1)).confidences()
    assert empty[0] == empty[1] < empty[2]


@given(counts, counts)
def test_confidence_never_falls_as_the_score_rises(
    tp: tuple[int, int, int], fp: tuple[int, int, int]
) -> None:
    conf = DetectorCalibration("d", tp, fp).confidences()
    assert all(0.0 <= c <= 1.0 for c in conf)
    assert list(conf) == sorted(conf)


def test_an_unmeasured_detector_has_no_confidence(tmp_path: Path) -> None:
    cal = Calibration({"d": DetectorCalibration("d", (1, 2, 3), (3, 2, 1))}, {"seeds": [1]})
    assert cal.confidence("sigma", 0.9) is None
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cal.to_json()), encoding="utf-8")
    again = load_calibration(path)
    assert again.confidence("d", 0.9) == cal.confidence("d", 0.9) and again.measured == {"seeds": [1]}


def test_a_malformed_calibration_names_the_detector(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"bands": [0.0, 0.45, 0.8], "detectors": {"d": {"tp": [1], "fp": [1]}}}))
    with pytest.raises(ConfigError, match="detector 'd' needs 3 counts"):
        load_calibration(path)
    with pytest.raises(ConfigError, match="cannot read calibration"):
        load_calibration(tmp_path / "missing.json")


def test_every_alert_carries_the_shipped_confidence_of_its_detector(sample_workspace: Workspace) -> None:
    cal = shipped_calibration()
    alerts = run_detectors(sample_workspace.con, build_detectors(load_config()))
    assert alerts and all(a.confidence == cal.confidence(a.detector, a.score) for a in alerts)
